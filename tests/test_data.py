"""Which points a pair holds, which label each gets and how pixels are scaled (SPEC 4): y = 0 for
the pair's first class, 1 for the second; IDX pixels divided by 255; IRIS min-max scaled on the
train split. Checked against the raw files and scikit-learn's copy, point by point."""


import numpy as np
import pytest
import torch

from gupta_stdp import data
from gupta_stdp.pairs import raw_folder
from gupta_stdp.synthetic import idx_bytes

IDX = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@pytest.fixture
def idx_root(tmp_path):
    """Raw IDX files where every image of class c is filled with the value 20 c + 15 (so the class
    is readable from the pixels), one pixel at 255 and one at 0 in each."""
    rng = np.random.default_rng(0)
    folder = raw_folder(tmp_path, "mnist")
    folder.mkdir(parents=True)
    for images, labels, n in ((IDX[0], IDX[1], 300), (IDX[2], IDX[3], 100)):
        y = rng.integers(0, 10, n).astype(np.uint8)
        x = np.repeat((20 * y + 15).astype(np.uint8)[:, None, None], 28, axis=1).repeat(28, axis=2)
        x[:, 0, 0], x[:, 27, 27] = 255, 0
        (folder / images).write_bytes(idx_bytes(x))
        (folder / labels).write_bytes(idx_bytes(y))
    return tmp_path


@pytest.mark.parametrize("pair, first, second", [("3v7", 3, 7), ("7v3", 7, 3)])
def test_an_idx_pair_labels_its_second_class_1_and_scales_by_255(idx_root, pair, first, second):
    """Mutations: swap the classes in select_pair, or drop the / 255, and this fails."""
    d = data.load_idx_pair("mnist", pair, idx_root)
    for x, y, images, labels in ((d.x_train, d.y_train, IDX[0], IDX[1]), (d.x_test, d.y_test, IDX[2], IDX[3])):
        raw_y = np.frombuffer((raw_folder(idx_root, "mnist") / labels).read_bytes()[8:], dtype=np.uint8)
        kept = raw_y[(raw_y == first) | (raw_y == second)]
        assert len(y) == len(kept) and set(y.unique().tolist()) == {0.0, 1.0}
        assert torch.equal(y, torch.as_tensor(kept == second, dtype=torch.float32))
        assert x.dtype == torch.float32 and x.shape[1] == 784
        assert x.max() == 1.0 and x.min() == 0.0  # the 255 and the 0 pixel
        fill = torch.where(y == 1, 20 * second + 15, 20 * first + 15).float() / 255
        assert torch.equal(x[:, 1], fill)  # the class is in the pixels: order kept, labels match


@pytest.mark.parametrize("pair, first, second", [("0v2", 0, 2), ("2v1", 2, 1)])
def test_an_iris_pair_labels_its_second_class_1_and_scales_on_the_train_split(pair, first, second):
    from sklearn.datasets import load_iris

    from gupta_stdp.pairs import iris_split

    x, y = load_iris(return_X_y=True)
    train, test = iris_split(3, 0.2)
    d = data.load_iris_pair(pair, 3, 0.2)
    lo, hi = x[train].min(axis=0), x[train].max(axis=0)
    for rows, xs, ys in ((train, d.x_train, d.y_train), (test, d.x_test, d.y_test)):
        keep = rows[np.isin(y[rows], [first, second])]
        assert torch.equal(ys, torch.as_tensor(y[keep] == second, dtype=torch.float32))
        expected = np.clip((x[keep] - lo) / (hi - lo), 0, 1)
        np.testing.assert_allclose(xs.numpy(), expected, rtol=0, atol=1e-6)
    assert d.x_train.min() == 0.0 or d.x_train.max() == 1.0
