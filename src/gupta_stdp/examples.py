"""Per-example attack results (``results/runs/<dataset>/<pair>/examples.npz``): for every model
(method, seed), attack and eps, which test points survive. NumPy only: the stages that read them
(sanity checks, McNemar tests, the report) import no torch.

``correct`` is int8 [rows, N]: 1 the point survives, 0 the attack broke it, -1 not attacked (an
attack run on a subset). ``keys`` holds (method, seed, attack, eps in units of 1/255, source) per
row. Saved with ``numpy.savez_compressed`` and read with ``allow_pickle=False``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .io import atomic_path

KEY_COLUMNS = ["method", "seed", "attack", "eps_255", "source"]


def write(keys: list[tuple], correct: np.ndarray, path) -> None:
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
