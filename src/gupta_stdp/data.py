"""Data: binary pairs of the IDX data sets (downloaded by .download) and of IRIS (from scikit-learn), their
splits and scaling."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
# torchvision is imported inside the functions that use it: its import costs ~1.4 s, which every
# workflow job would otherwise pay, IDX data or not.

from .pairs import IDX_FILES, DataError, iris_split, parse_pair, raw_files, raw_folder  # noqa: F401


@dataclass
class PairData:
    """One binary task as tensors: label 0 for the pair's first class, 1 for the second.

    Either shared by every seed (x: [N, n_in], y: [N]) or one split per seed, the seed as leading
    dimension (x: [S, N, n_in], y: [S, N]; IRIS, whose split follows the run's seed).
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    def to(self, device=None, dtype=None) -> "PairData":
        return PairData(*(t.to(device=device, dtype=dtype) for t in self.tensors()))

    def tensors(self):
        return self.x_train, self.y_train, self.x_test, self.y_test

    @property
    def per_seed(self) -> bool:
        return self.x_train.dim() == 3

    def for_seeds(self, n: int) -> "PairData":
        """The [S, ...] form for n seeds: a view (no copy) of a shared split."""
        if self.per_seed:
            if self.x_train.shape[0] != n:
                raise ValueError(f"this task holds {self.x_train.shape[0]} per-seed splits, not {n}")
            return self
        return PairData(*(t.expand(n, *t.shape) for t in self.tensors()))

    def take(self, index) -> "PairData":
        """The splits of the seeds at ``index`` (a shared split stays shared)."""
        return PairData(*(t[index] for t in self.tensors())) if self.per_seed else self


# ---------------------------------------------------------------- pairs
def select_pair(x: torch.Tensor, labels: torch.Tensor, a: int, b: int) -> tuple[torch.Tensor, torch.Tensor]:
    keep = (labels == a) | (labels == b)
    return x[keep], (labels[keep] == b).float()


# ---------------------------------------------------------------- IRIS
def load_iris_pair(pair: str, split_seed: int = 0, test_size: float = 0.2) -> PairData:
    """SPEC 1 and 4: stratified 80/20 split of all 150 points (drawn with ``split_seed``, the run's
    seed), min-max scaled on the train split and clipped to [0, 1]; then the pair's two classes."""
    from sklearn.datasets import load_iris
    from sklearn.preprocessing import MinMaxScaler

    a, b = parse_pair(pair, "iris")
    x, y = load_iris(return_X_y=True)
    train, test = iris_split(split_seed, test_size)
    scaler = MinMaxScaler(clip=True).fit(x[train])
    t = lambda arr: torch.as_tensor(np.asarray(arr), dtype=torch.float32)  # noqa: E731
    tr = select_pair(t(scaler.transform(x[train])), torch.as_tensor(y[train]), a, b)
    te = select_pair(t(scaler.transform(x[test])), torch.as_tensor(y[test]), a, b)
    return PairData(tr[0], tr[1], te[0], te[1])


def load_iris_splits(pair: str, seeds: list[int], test_size: float = 0.2) -> PairData:
    """One stratified split per seed (repeated stratified splits): both methods of a seed see the
    same split, and the seeds together test most points (one split tests 20 of a pair's 100)."""
    splits = [load_iris_pair(pair, seed, test_size) for seed in seeds]
    return PairData(*(torch.stack(ts) for ts in zip(*(s.tensors() for s in splits))))


def load_idx_pair(dataset: str, pair: str, root: Path, n_classes: int | None = None) -> PairData:
    """A pair of an IDX dataset (read with torchvision's IDX readers), pixels scaled to [0, 1]."""
    from torchvision.datasets.mnist import read_image_file, read_label_file

    a, b = parse_pair(pair, dataset, n_classes)
    files = raw_files(root, dataset)
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise DataError(f"{dataset} files missing: {', '.join(missing)}; run the download step first")
    parts = []
    for images, labels in (files[0:2], files[2:4]):
        x, y = select_pair(read_image_file(str(images)), read_label_file(str(labels)), a, b)  # uint8 first
        parts += [x.flatten(1).float() / 255.0, y]
    for t, split in ((parts[1], "train"), (parts[3], "test")):
        if t.numel() == 0 or t.min() == t.max():
            raise DataError(f"{dataset} pair {pair}: the {split} split lacks one of the two classes")
    return PairData(*parts)


def load_pair(dataset: str, pair: str, seeds: list[int], root: Path | None = None, test_size: float = 0.2,
              n_classes: int | None = None) -> PairData:
    """The task of (dataset, pair) for ``seeds``: per-seed splits for IRIS, one shared split otherwise."""
    if dataset == "iris":
        return load_iris_splits(pair, seeds, test_size)
    return load_idx_pair(dataset, pair, root, n_classes)


# ---------------------------------------------------------------- validation (the multiverse, SPEC 6b)
def holdout(data: PairData, fraction: float, seeds: list[int], split_seed: int = 0
            ) -> tuple[PairData, torch.Tensor, torch.Tensor]:
    """A stratified validation share of the training split: (the task with the rest as its training
    split, x_val, y_val). A shared split (MNIST-size) holds out one set, drawn with ``split_seed``,
    for every seed; per-seed splits (IRIS) each hold out their own, drawn with the seed's
    sub-seed "validation". The test split is untouched: no choice ever sees it."""
    from sklearn.model_selection import train_test_split

    from .seeding import subseed

    def split(y: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = y.cpu().numpy()
        if min(np.bincount(labels.astype(int), minlength=2)) * fraction < 1:
            raise DataError(f"a validation share of {fraction:g} leaves a class of this pair with no validation "
                            f"point ({len(labels)} training points); raise multiverse.validation")
        fit, val = train_test_split(np.arange(len(labels)), test_size=fraction, stratify=labels, random_state=seed % 2**32)
        return torch.as_tensor(np.sort(fit)), torch.as_tensor(np.sort(val))

    if not data.per_seed:
        fit, val = split(data.y_train, split_seed)
        return PairData(data.x_train[fit], data.y_train[fit], data.x_test, data.y_test), data.x_train[val], data.y_train[val]
    parts = [split(data.y_train[i], subseed(s, "validation")) for i, s in enumerate(seeds)]
    stack = lambda t, k: torch.stack([t[i][p[k]] for i, p in enumerate(parts)])  # noqa: E731
    return (PairData(stack(data.x_train, 0), stack(data.y_train, 0), data.x_test, data.y_test),
            stack(data.x_train, 1), stack(data.y_train, 1))
