"""The download stage: fetch and verify one IDX data set (a local rule: compute nodes are often offline)."""

from pathlib import Path

from ..download import fetch_idx_dataset


def download(dataset: str, md5: dict, runtime: dict) -> None:
    fetch_idx_dataset(dataset, runtime["mirrors"][dataset], md5, Path(runtime["root"]), timeout=runtime["timeout"],
                      retries=runtime["retries"])
