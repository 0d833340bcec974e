"""Generated stand-ins for MNIST: class-dependent strokes on a dark background, written as real
IDX files (for the download tests) or returned as tensors (for benchmarks and training tests)."""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import torch

from .data import IDX_FILES, PairData


def images(labels: np.ndarray, seed: int = 0, side: int = 28) -> np.ndarray:
    """uint8 [N, side, side]: each class lights a different horizontal and vertical bar, plus noise.

    About a fifth of the pixels are non-zero, as in MNIST.
    """
    rng = np.random.default_rng(seed)
    n = len(labels)
    img = np.zeros((n, side, side), dtype=np.float64)
    for c in np.unique(labels):
        idx = labels == c
        r = 3 + (int(c) * 7) % (side - 8)
        col = 3 + (int(c) * 11) % (side - 8)
        img[idx, r : r + 4, 4 : side - 4] = 1.0
        img[np.ix_(idx, np.arange(4, side - 4), np.arange(col, col + 4))] = 1.0
    img *= rng.uniform(0.5, 1.0, size=(n, 1, 1))
    noise = rng.uniform(0, 1, size=img.shape) * (rng.uniform(size=img.shape) < 0.05)
    return (np.clip(img + noise, 0, 1) * 255).round().astype(np.uint8)


def idx_bytes(arr: np.ndarray) -> bytes:
    """The IDX encoding (big-endian header, uint8 data) that MNIST uses."""
    magic = {3: 0x0803, 1: 0x0801}[arr.ndim]
    return struct.pack(">I" + "I" * arr.ndim, magic, *arr.shape) + arr.astype(np.uint8).tobytes()


def write_idx_dataset(folder: Path, n_train: int = 600, n_test: int = 200, n_classes: int = 10,
                      seed: int = 0) -> dict[str, str]:
    """Write the four MNIST .gz files into folder; return {file name: md5}."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ytr = rng.integers(0, n_classes, n_train).astype(np.uint8)
    yte = rng.integers(0, n_classes, n_test).astype(np.uint8)
    arrays = [images(ytr, seed + 1), ytr, images(yte, seed + 2), yte]
    md5s = {}
    for name, arr in zip(IDX_FILES, arrays):
        blob = gzip.compress(idx_bytes(arr), mtime=0)
        (folder / name).write_bytes(blob)
        md5s[name] = hashlib.md5(blob).hexdigest()
    return md5s


def pair_data(n_train: int = 12000, n_test: int = 2000, n_features: int = 784, seed: int = 0) -> PairData:
    """A separable binary task of MNIST size, as tensors in [0, 1]."""
    side = int(round(n_features**0.5))
    rng = np.random.default_rng(seed)
    out = []
    for n, s in ((n_train, seed + 1), (n_test, seed + 2)):
        y = rng.integers(0, 2, n)
        x = images(y, s, side).reshape(n, -1)[:, :n_features] / 255.0
        out += [torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)]
    return PairData(*out)
