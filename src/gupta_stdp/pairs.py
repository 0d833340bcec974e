"""Data sets, binary pairs and where their files live. No torch: the workflow plans with this."""

from __future__ import annotations

import re
from pathlib import Path

from .errors import KnownError

IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

# Built-in datasets and their number of classes. Any other IDX dataset can be added from the
# config (data.<name>: mirrors, md5, n_classes); IRIS is scikit-learn's bundled copy.
DATASETS = {"iris": 3, "mnist": 10, "fashion_mnist": 10}


class DataError(KnownError, RuntimeError):
    """A data problem the user can fix; the message says how."""


def parse_pair(pair: str, dataset: str, n_classes: int | None = None) -> tuple[int, int]:
    """'AvB' -> (A, B), checked against the dataset's classes."""
    if n_classes is None:
        if dataset not in DATASETS:
            raise DataError(f"unknown dataset {dataset!r}; known: {', '.join(DATASETS)}")
        n_classes = DATASETS[dataset]
    m = re.fullmatch(r"(\d+)v(\d+)", str(pair))
    if not m:
        raise DataError(f"pair {pair!r} of dataset {dataset!r} is not of the form 'AvB' (e.g. '0v1')")
    a, b = int(m.group(1)), int(m.group(2))
    if a == b:
        raise DataError(f"pair {pair!r} of dataset {dataset!r} names class {a} twice; use two distinct classes")
    for c in (a, b):
        if not 0 <= c < n_classes:
            raise DataError(f"pair {pair!r}: class {c} does not exist in {dataset!r} (classes 0..{n_classes - 1})")
    return a, b


def raw_folder(root: str | Path, dataset: str) -> Path:
    """Where the verified .gz files and their decompressed IDX files live."""
    return Path(root) / dataset / "raw"


def raw_files(root: str | Path, dataset: str) -> list[Path]:
    return [raw_folder(root, dataset) / f[: -len(".gz")] for f in IDX_FILES]


def iris_split(seed: int, test_size: float = 0.2):
    """(train, test) row indices into scikit-learn's 150 IRIS points: a stratified split drawn with
    the run's seed (SPEC 4). Both methods of a seed see the same split; seeds differ."""
    import numpy as np
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    y = load_iris().target
    return train_test_split(np.arange(len(y)), test_size=test_size, stratify=y, random_state=seed)
