"""Per-example attack results (``results/runs/<dataset>/<pair>/examples.npz``): for every model
(method, seed), attack and eps, what the attack measured on each test point. NumPy only: the
stages that read them (the derived tables, sanity checks, McNemar tests) import no torch.

``correct`` is int8 [rows, N], one code per test point:

- ``SURVIVED`` (1): the attack ran on the point and the model still classifies it correctly;
- ``BROKEN`` (0): the attack ran on the point and broke it (a clean error counts as broken);
- ``OUTSIDE`` (-1): the point is not in this attack's point set (an attack on a subset);
- ``SKIPPED`` (-2): the point is in the set, but an earlier attack of the cascade had broken it,
  so this one did not run on it (see ``gupta_stdp.derived`` for which attacks come earlier);
- ``NO_RESULT`` (-3): the model, or the surrogate whose examples a transfer attack carries,
  diverged (non-finite weights): nothing was measured.

Each pair has two such files, one per job: ``examples.npz`` (the attack job) and ``square.npz`` (the
Square Attack's job, when it runs); ``read_pairs`` joins them. ``keys`` holds (method, seed, attack,
eps in units of 1/255, source) per row. Saved with
``numpy.savez_compressed`` and read with ``allow_pickle=False``.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from .errors import KnownError
from .io import atomic_path

SURVIVED, BROKEN, OUTSIDE, SKIPPED, NO_RESULT = 1, 0, -1, -2, -3
KEY_COLUMNS = ["method", "seed", "attack", "eps_255", "source"]

# The attacks by the points they meet (the attack stage runs them so; ``gupta_stdp.derived`` reads them so):
OWN_SUITE = ("fgsm", "fgsm_margin", "noise", "pgd")  # the model's own attacks, on every test point
TRANSFER = ("transfer_fgsm", "transfer_pgd")  # a partner's examples, on every test point
FULL_SET = ("clean", *OWN_SUITE, *TRANSFER)
SUBSET_CASCADE = ("pgd_2x", "square")  # on a nested subset, each on the points the attacks it follows left
EARLIER = {"pgd_2x": ("pgd",), "square": OWN_SUITE}  # what each subset attack follows


class ExamplesError(KnownError, ValueError):
    """Per-example files that do not fit together."""


class Key(NamedTuple):
    """One attack's results on one method's members: ``source`` is the model whose examples were
    used (the surrogate of a transfer attack; the method itself otherwise)."""

    method: str
    attack: str
    eps_255: float
    source: str


def write(keys: list[tuple], correct: np.ndarray, path) -> None:
    """``keys``: (method, seed, attack, eps_255, source) per row of ``correct``."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, keys=np.array([[str(k) for k in key] for key in keys], dtype=str),
                                correct=np.asarray(correct, dtype=np.int8))


def read(path) -> pd.DataFrame:
    """One row per (method, seed, attack, eps, source); column ``correct`` holds the int8 vector."""
    with np.load(path, allow_pickle=False) as z:
        keys, correct = z["keys"], z["correct"]
    df = pd.DataFrame(keys, columns=KEY_COLUMNS)
    df["seed"] = df.seed.astype(int)
    df["eps_255"] = df.eps_255.astype(float)
    df["correct"] = list(correct)
    return df


def read_pairs(paths) -> dict[tuple[str, str], pd.DataFrame]:
    """Per-example files (``.../<dataset>/<pair>/<name>.npz``) -> one frame per (dataset, pair), the
    rows of all its files together; a key found in two files is an error."""
    groups: dict[tuple[str, str], list[pd.DataFrame]] = {}
    for p in map(Path, paths):
        groups.setdefault((p.parent.parent.name, p.parent.name), []).append(read(p))
    out = {}
    for pair, frames in groups.items():
        df = pd.concat(frames, ignore_index=True)
        twice = df.duplicated(KEY_COLUMNS)
        if twice.any():
            raise ExamplesError(f"{'/'.join(pair)}: results of {df[twice].iloc[0][KEY_COLUMNS].tolist()} are in two "
                             "per-example files; rerun the attack jobs of that pair")
        out[pair] = df
    return out
