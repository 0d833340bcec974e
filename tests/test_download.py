"""The real download code against a real HTTP server on 127.0.0.1 serving generated IDX files."""

import gzip

import pytest
import torch

from gupta_stdp.data import IDX_FILES, DataError, load_idx_pair, raw_folder
from gupta_stdp.download import fetch_file, fetch_idx_dataset


def _leftovers(folder):
    return [p.name for p in folder.rglob("*") if p.is_file() and (".part" in p.name or p.name.startswith("."))]


def test_download_and_load(idx_dir, http_serve, tmp_path):
    src, md5s = idx_dir
    url, _ = http_serve(src)
    root = tmp_path / "data"
    paths = fetch_idx_dataset("mnist", [url], md5s, root, timeout=5, retries=1)
    assert [p.name for p in paths] == [f[:-3] for f in IDX_FILES]
    pair = load_idx_pair("mnist", "0v3", root)
    assert pair.x_train.shape[1] == 784 and 0 <= pair.x_train.min() and pair.x_train.max() <= 1
    assert set(pair.y_train.unique().tolist()) == {0.0, 1.0}
    assert not _leftovers(root)


def test_dead_mirror_then_good_one(idx_dir, http_serve, dead_url, tmp_path):
    src, md5s = idx_dir
    url, _ = http_serve(src)
    fetch_idx_dataset("mnist", [dead_url, url], md5s, tmp_path, timeout=5, retries=2)
    assert all((raw_folder(tmp_path, "mnist") / f).exists() for f in IDX_FILES)


def test_corrupted_file_names_the_file_and_leaves_nothing(idx_dir, http_serve, tmp_path):
    src, md5s = idx_dir
    url, served = http_serve(src)
    bad = served / IDX_FILES[1]
    blob = bytearray(bad.read_bytes())
    blob[30] ^= 0xFF
    bad.write_bytes(bytes(blob))
    dest = tmp_path / "out"
    with pytest.raises(DataError) as err:
        fetch_file(IDX_FILES[1], md5s[IDX_FILES[1]], [url], dest, timeout=5, retries=2)
    msg = str(err.value)
    assert IDX_FILES[1] in msg and "md5 mismatch" in msg and url in msg and "file://" in msg
    assert list(dest.iterdir()) == []


def test_truncated_file(idx_dir, http_serve, tmp_path):
    src, md5s = idx_dir
    url, served = http_serve(src)
    f = served / IDX_FILES[0]
    f.write_bytes(f.read_bytes()[:100])
    dest = tmp_path / "out"
    with pytest.raises(DataError, match="md5 mismatch"):
        fetch_file(IDX_FILES[0], md5s[IDX_FILES[0]], [url], dest, timeout=5, retries=1)
    assert list(dest.iterdir()) == []


def test_file_mirror(idx_dir, tmp_path):
    src, md5s = idx_dir
    fetch_idx_dataset("mnist", [src.as_uri() + "/"], md5s, tmp_path, retries=1)
    labels = raw_folder(tmp_path, "mnist") / "train-labels-idx1-ubyte"
    assert labels.read_bytes() == gzip.decompress((src / "train-labels-idx1-ubyte.gz").read_bytes())


def test_no_mirror_answers(dead_url, tmp_path):
    with pytest.raises(DataError) as err:
        fetch_file(IDX_FILES[0], "0" * 32, [dead_url, dead_url + "x/"], tmp_path, timeout=2, retries=2, backoff=0)
    msg = str(err.value)
    assert msg.count("try 1/2") == 2 and msg.count("try 2/2") == 2
    assert "mirrors:" in msg and "md5" in msg


def test_a_good_file_in_place_is_not_fetched_again(idx_dir, tmp_path):
    src, md5s = idx_dir
    (tmp_path / IDX_FILES[1]).write_bytes((src / IDX_FILES[1]).read_bytes())
    # no mirror at all: it must not need one
    assert fetch_file(IDX_FILES[1], md5s[IDX_FILES[1]], [], tmp_path).exists()


@pytest.mark.parametrize("mirror", ["ftp://example.org/mnist/", "s3://bucket/", "/no/scheme/"])
def test_mirror_scheme_is_checked_before_any_download(idx_dir, mirror, tmp_path):
    src, md5s = idx_dir
    with pytest.raises(DataError, match="scheme"):
        fetch_idx_dataset("mnist", [src.as_uri(), mirror], md5s, tmp_path)
    assert not any(tmp_path.iterdir())  # the good first mirror was not used either


def test_md5_list_must_cover_every_file(idx_dir, tmp_path):
    src, md5s = idx_dir
    partial = {k: v for k, v in md5s.items() if k != IDX_FILES[2]}
    with pytest.raises(DataError, match=IDX_FILES[2]):
        fetch_idx_dataset("mnist", [src.as_uri()], partial, tmp_path)


def test_fashion_mnist_uses_the_same_code(idx_dir, tmp_path):
    src, md5s = idx_dir
    fetch_idx_dataset("fashion_mnist", [src.as_uri()], md5s, tmp_path, retries=1)
    pair = load_idx_pair("fashion_mnist", "1v7", tmp_path)
    assert pair.x_test.shape[0] > 0 and pair.x_train.dtype == torch.float32
