"""Verified downloads of the IDX data sets (MNIST, Fashion-MNIST): mirrors tried in turn, retries with
back-off, md5 checked before a file is moved into place, then decompressed for torchvision."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from .pairs import IDX_FILES, DataError, raw_folder

ALLOWED_SCHEMES = ("https", "http", "file")


def _check_mirror(url: str) -> str:
    scheme = urllib.parse.urlparse(url).scheme
    if scheme not in ALLOWED_SCHEMES:
        raise DataError(
            f"mirror {url!r} has scheme {scheme!r}; only {', '.join(ALLOWED_SCHEMES)} are allowed "
            "(for a local folder use file:///absolute/path/)"
        )
    return url if url.endswith("/") else url + "/"


def _fetch_once(url: str, dest: Path, md5: str, timeout: float) -> None:
    """Download url to dest atomically; raise ValueError on a checksum mismatch."""
    from torchvision.datasets.utils import calculate_md5

    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            shutil.copyfileobj(resp, out)
        got = calculate_md5(tmp)
        if got != md5:
            raise ValueError(f"md5 mismatch: got {got}, expected {md5}")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def fetch_file(name: str, md5: str, mirrors: list[str], dest_dir: Path, *, dataset: str = "mnist",
               timeout: float = 30.0, retries: int = 2, backoff: float = 0.5) -> Path:
    """Fetch one file from the first mirror that serves it with the right md5.

    A file already in place with the right md5 is kept. Each mirror gets ``retries`` tries.
    Raises DataError listing every mirror and what it answered, and how to use a local copy.
    """
    from torchvision.datasets.utils import calculate_md5

    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / name
    if dest.exists() and calculate_md5(str(dest)) == md5:
        return dest
    answers = []
    for base in [_check_mirror(m) for m in mirrors]:
        url = urllib.parse.urljoin(base, name)
        for attempt in range(retries):
            try:
                _fetch_once(url, dest, md5, timeout)
                return dest
            except ValueError as err:  # corrupt or truncated: retrying the same mirror will not help
                answers.append(f"{url}: {err}")
                break
            except (urllib.error.URLError, OSError) as err:
                reason = getattr(err, "reason", None) or err
                answers.append(f"{url} (try {attempt + 1}/{retries}): {reason}")
                if attempt + 1 < retries:
                    time.sleep(backoff * (attempt + 1))
    tried = "\n".join(f"  - {a}" for a in answers) or "  (no mirrors configured)"
    raise DataError(
        f"could not fetch a valid {name!r} for dataset {dataset!r}.\nMirrors tried:\n{tried}\n"
        f"Fix: check the network, or point the config at a local copy of the four .gz files:\n"
        f"  data:\n    {dataset}:\n      mirrors: ['file:///absolute/path/to/folder/']\n"
        f"      md5: {{{name}: <md5>, ...}}   # `md5sum *.gz` in that folder gives the values"
    )


def fetch_idx_dataset(dataset: str, mirrors: list[str], md5s: dict[str, str], root: Path,
                      timeout: float = 30.0, retries: int = 2) -> list[Path]:
    """Fetch and verify the four IDX .gz files, then decompress them for torchvision."""
    from torchvision.datasets.utils import extract_archive

    missing = [f for f in IDX_FILES if f not in md5s]
    if missing:
        raise DataError(f"data.{dataset}.md5 lacks an entry for {', '.join(missing)}; every file is verified")
    for m in mirrors:
        _check_mirror(m)
    raw = raw_folder(root, dataset)
    out = []
    for name in IDX_FILES:
        gz = fetch_file(name, md5s[name], mirrors, raw, dataset=dataset, timeout=timeout, retries=retries)
        target = raw / name[: -len(".gz")]
        with tempfile.TemporaryDirectory(dir=raw) as tmp:
            extract_archive(str(gz), tmp)
            os.replace(Path(tmp) / target.name, target)
        out.append(target)
    return out
