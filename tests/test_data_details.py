"""Details of data.py that tests/test_data.py leaves open: the seed forms of a task (for_seeds, take,
to), the stratified validation share (holdout) against scikit-learn's split, the IRIS split's seed and
test size, IDX data sets beyond the built-in ones, and the errors for missing files and one-class
splits. Small generated IDX files and scikit-learn's bundled IRIS."""

import numpy as np
import pytest
import torch
from sklearn.model_selection import train_test_split

from gupta_stdp import data
from gupta_stdp.data import DataError, PairData, holdout
from gupta_stdp.pairs import iris_split, raw_folder
from gupta_stdp.seeding import subseed
from gupta_stdp.synthetic import idx_bytes

from test_data import IDX


def _task(n=8, n_in=3, seeds=None, seed=0):
    """A random task: shared ([N, n_in]) or, with ``seeds``, one split per seed ([S, N, n_in])."""
    g = torch.Generator().manual_seed(seed)
    lead = () if seeds is None else (seeds,)
    return PairData(torch.rand(*lead, n, n_in, generator=g), (torch.rand(*lead, n, generator=g) < 0.5).float(),
                    torch.rand(*lead, n // 2, n_in, generator=g), (torch.rand(*lead, n // 2, generator=g) < 0.5).float())


# ---------------------------------------------------------------- PairData


def test_for_seeds_expands_a_shared_split_as_a_view():
    """A shared split becomes [S, ...] for S seeds, every seed seeing the same points, as a view of
    the one split (stride 0, same storage: no copy). Mutations: ``t.expand(None, ...)``,
    ``t.expand(*t.shape)`` (no seed dimension), ``t.expand(n)``; this test fails on each."""
    d = _task()
    s = d.for_seeds(3)
    assert s.per_seed
    for t, t0 in zip(s.tensors(), d.tensors()):
        assert t.shape == (3, *t0.shape) and t.stride(0) == 0 and t.data_ptr() == t0.data_ptr()
        assert all(torch.equal(t[k], t0) for k in range(3))


def test_for_seeds_keeps_per_seed_splits_and_checks_their_number():
    """Per-seed splits (S = 2 seeds of N = 8 points) are returned as they are for 2 seeds and
    refused for 3, with a message giving both numbers. Mutations: ``shape[1]`` for ``shape[0]``
    (N compared), ``==`` for ``!=``; this test fails on each."""
    d = _task(seeds=2)
    assert d.for_seeds(2) is d
    with pytest.raises(ValueError, match="holds 2 per-seed splits, not 3"):
        d.for_seeds(3)


def test_take_indexes_per_seed_splits_and_keeps_a_shared_one():
    """``take`` picks the seeds' splits from per-seed data and leaves a shared split whole (its
    first axis is points, not seeds). Mutations: the per_seed test made always false (``and
    False``) or always true (``or True``: a shared split loses points); this test fails on each."""
    per = _task(seeds=3)
    picked = per.take(torch.tensor([2, 0]))
    for t, t0 in zip(picked.tensors(), per.tensors()):
        assert torch.equal(t, t0[[2, 0]])
    shared = _task()
    assert shared.take(torch.tensor([2, 0])) is shared


def test_to_moves_every_tensor_to_the_device_and_dtype():
    """``to(device, dtype)`` moves all four tensors (to the "meta" device here, which is not the
    CPU and exists everywhere) and casts them; ``to(dtype=...)`` casts only. Mutations: the device
    dropped (``device=None`` or no device); this test fails on each."""
    d = _task()
    moved = d.to("meta", torch.float64)
    assert [(t.device.type, t.dtype, t.shape) for t in moved.tensors()] == [("meta", torch.float64, t.shape)
                                                                            for t in d.tensors()]
    cast = d.to(dtype=torch.float64)
    assert all(t.device.type == "cpu" and torch.equal(t, t0.double()) for t, t0 in zip(cast.tensors(), d.tensors()))


# ---------------------------------------------------------------- holdout


def _sk_split(y, fraction, random_state):
    fit, val = train_test_split(np.arange(len(y)), test_size=fraction, stratify=y, random_state=random_state)
    return np.sort(fit), np.sort(val)


def test_holdout_of_a_shared_split_is_sklearns_stratified_split_with_split_seed():
    """A shared split (50 points, 20 of class 0 and 30 of class 1) loses 20%: exactly the rows of
    scikit-learn's stratified train_test_split with random_state = split_seed (default 0), in their
    original order; the rest stays the training split, the test split is untouched. Split seeds 0
    and 5 give different shares. Mutations: the default split_seed 1, random_state None or left
    out, ``seed % 2 * 32`` for ``seed % 2**32``; this test fails on each."""
    g = torch.Generator().manual_seed(1)
    y = torch.cat([torch.zeros(20), torch.ones(30)])[torch.randperm(50, generator=g)]
    d = PairData(torch.rand(50, 3, generator=g), y, torch.rand(10, 3, generator=g), torch.ones(10))
    vals = []
    for kw, seed in (({}, 0), ({"split_seed": 5}, 5)):
        fitted, x_val, y_val = holdout(d, 0.2, [0, 1], **kw)
        fit, val = _sk_split(y.numpy(), 0.2, seed)
        assert torch.equal(x_val, d.x_train[val]) and torch.equal(y_val, d.y_train[val])
        assert torch.equal(fitted.x_train, d.x_train[fit]) and torch.equal(fitted.y_train, d.y_train[fit])
        assert fitted.x_test is d.x_test and fitted.y_test is d.y_test
        assert y_val.sum() == 6 and len(y_val) == 10  # stratified: 20% of each class
        vals.append(val)
    assert not np.array_equal(*vals)


def test_holdout_of_per_seed_splits_draws_each_from_its_seeds_validation_subseed():
    """Per-seed splits (IRIS) each lose their own stratified share, drawn with random_state =
    subseed(seed, "validation") mod 2**32 of that seed. Mutations: subseed(None, ...) (every seed
    the same draw), the tag None, "XXvalidationXX" or "VALIDATION", ``seed % 2 * 32``; this test
    fails on each."""
    seeds = [11, 12]
    g = torch.Generator().manual_seed(2)
    y = torch.stack([torch.cat([torch.zeros(20), torch.ones(20)])[torch.randperm(40, generator=g)] for _ in seeds])
    d = PairData(torch.rand(2, 40, 3, generator=g), y, torch.rand(2, 6, 3, generator=g), torch.ones(2, 6))
    fitted, x_val, y_val = holdout(d, 0.25, seeds)
    assert x_val.shape == (2, 10, 3) and fitted.x_train.shape == (2, 30, 3)
    for i, s in enumerate(seeds):
        fit, val = _sk_split(y[i].numpy(), 0.25, subseed(s, "validation") % 2**32)
        assert torch.equal(x_val[i], d.x_train[i][val]) and torch.equal(y_val[i], d.y_train[i][val])
        assert torch.equal(fitted.x_train[i], d.x_train[i][fit]) and torch.equal(fitted.y_train[i], d.y_train[i][fit])
    assert fitted.x_test is d.x_test


def test_holdout_needs_at_least_one_validation_point_per_class():
    """10 points per class and a 10% share: exactly one validation point of each class, accepted.
    9%, or a training split with no point of class 1, leaves a class without one: refused, with a
    message that names the problem and the fix. Mutations: ``<= 1`` or ``< 2`` for ``< 1`` (the
    exact case refused), bincount without minlength=2 (a missing class 1 not seen); this test
    fails on each."""
    y = torch.tensor([0.0, 1.0] * 10)
    d = PairData(torch.rand(20, 2), y, torch.rand(4, 2), torch.ones(4))
    _, _, y_val = holdout(d, 0.1, [0])
    assert sorted(y_val.tolist()) == [0.0, 1.0]
    with pytest.raises(DataError, match="validation share of 0.09 leaves a class .* no validation point.*raise multiverse.validation"):
        holdout(d, 0.09, [0])
    one_class = PairData(torch.rand(20, 2), torch.zeros(20), torch.rand(4, 2), torch.ones(4))
    with pytest.raises(DataError, match="leaves a class of this pair with no validation point"):
        holdout(one_class, 0.5, [0])


# ---------------------------------------------------------------- IRIS


def test_iris_default_split_is_seed_0_and_80_20():
    """Without arguments the IRIS pair is split with seed 0 into 80/20: its points are those of
    iris_split(0, 0.2), 80 train and 20 test of the pair's 100. Mutations: the default seed 1, the
    default test size 1.2; this test fails on each."""
    d = data.load_iris_pair("0v1")
    ref = data.load_iris_pair("0v1", 0, 0.2)
    assert all(torch.equal(a, b) for a, b in zip(d.tensors(), ref.tensors()))
    assert len(d.y_train) == 80 and len(d.y_test) == 20
    from sklearn.datasets import load_iris

    y = load_iris().target
    test = iris_split(0, 0.2)[1]
    assert torch.equal(d.y_test, torch.as_tensor(y[test][y[test] < 2] == 1, dtype=torch.float32))


def test_iris_test_size_reaches_the_split_through_every_loader():
    """test_size = 0.4: the pair's test split holds 40 of its 100 points (20 per class: stratified),
    the rows of iris_split(seed, 0.4), for load_iris_pair, load_iris_splits and load_pair alike.
    Mutations: test_size not passed on (to iris_split, by load_iris_splits, by load_pair); this
    test fails on each."""
    from sklearn.datasets import load_iris

    y = load_iris().target
    seeds = [4, 9]
    via_pair = [data.load_iris_pair("1v2", s, 0.4) for s in seeds]
    for s, d in zip(seeds, via_pair):
        test = iris_split(s, 0.4)[1]
        assert torch.equal(d.y_test, torch.as_tensor(y[test][y[test] > 0] == 2, dtype=torch.float32))
        assert len(d.y_test) == 40 and d.y_test.sum() == 20
    for d in (data.load_iris_splits("1v2", seeds, 0.4), data.load_pair("iris", "1v2", seeds, test_size=0.4)):
        assert d.per_seed and d.x_test.shape == (2, 40, 4)
        for i, ref in enumerate(via_pair):
            assert all(torch.equal(a[i], b) for a, b in zip(d.tensors(), ref.tensors()))


# ---------------------------------------------------------------- IDX


def _write_idx(root, dataset, train_labels, test_labels):
    """Raw IDX files of ``dataset`` under root: 4x4 images, class c filled with 20 c + 15 and one
    pixel 0, so the pixels of one class are not all equal."""
    folder = raw_folder(root, dataset)
    folder.mkdir(parents=True, exist_ok=True)
    for images, labels, y in ((IDX[0], IDX[1], train_labels), (IDX[2], IDX[3], test_labels)):
        y = np.asarray(y, dtype=np.uint8)
        x = np.repeat((20 * y + 15)[:, None, None], 4, axis=1).repeat(4, axis=2).astype(np.uint8)
        x[:, 0, 0] = 0
        (folder / images).write_bytes(idx_bytes(x))
        (folder / labels).write_bytes(idx_bytes(y))
    return folder


def test_an_idx_dataset_beyond_the_built_in_ones_uses_its_configured_classes(tmp_path):
    """A data set the package does not know ("letters", 5 classes from the config): load_pair reads
    its pair 4v1 from root with n_classes = 5, labels class 1 as 1 and scales by 255; a class
    outside 0..4 is refused by name. Mutations: n_classes not passed on (by load_idx_pair to
    parse_pair, or by load_pair), and any of load_pair's IDX arguments None or dropped; this test
    fails on each."""
    _write_idx(tmp_path, "letters", [4, 1, 0, 1, 4, 3], [1, 4, 2])
    d = data.load_pair("letters", "4v1", [0, 1], tmp_path, n_classes=5)
    assert not d.per_seed
    assert d.y_train.tolist() == [0.0, 1.0, 1.0, 0.0] and d.y_test.tolist() == [1.0, 0.0]
    assert d.x_train.shape == (4, 16) and d.x_train[:, 1].tolist() == pytest.approx([95 / 255, 35 / 255, 35 / 255, 95 / 255])
    assert d.x_train[:, 0].tolist() == [0.0] * 4
    with pytest.raises(DataError, match="class 7 does not exist in 'letters'"):
        data.load_pair("letters", "1v7", [0], tmp_path, n_classes=5)


def test_missing_idx_files_are_named_with_the_fix(tmp_path):
    """A missing raw file: a DataError that names the file and says to run the download step.
    Mutations: ``missing = None`` (the files are then read, and fail otherwise), the paths
    replaced by str(None); this test fails on each."""
    folder = _write_idx(tmp_path, "mnist", [3, 7], [3, 7])
    (folder / IDX[3]).unlink()
    with pytest.raises(DataError, match=f"mnist files missing: .*{IDX[3]}; run the download step first"):
        data.load_idx_pair("mnist", "3v7", tmp_path)


@pytest.mark.parametrize("train, test, split", [
    ([3, 3, 5, 3], [7, 3], "train"),  # no 7 in the train split
    ([3, 7, 7], [3, 3], "test"),  # no 7 in the test split
    ([3, 7], [0, 5], "test"),  # no point of the pair at all in the test split
])
def test_a_split_without_both_classes_is_refused_by_name(tmp_path, train, test, split):
    """A pair whose train or test split lacks one of its classes cannot be learned or scored: a
    DataError that names the split, also where the split holds no point of the pair (that case was a
    raw torch reshape error before the images were flattened with ``flatten(1)``). Mutations: the
    train check on the test images (parts[2]), ``and`` for ``or``, the split's name changed; this
    test fails on each."""
    _write_idx(tmp_path, "mnist", train, test)
    with pytest.raises(DataError, match=f"mnist pair 3v7: the {split} split lacks one of the two classes"):
        data.load_idx_pair("mnist", "3v7", tmp_path)
