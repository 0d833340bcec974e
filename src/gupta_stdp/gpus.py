"""Whether a job computes on a GPU, and which one when several are visible: concurrent jobs on one
machine take different GPUs, not all cuda:0. The choices are torch-free, testable on any machine.

A job uses a GPU only when it asked for one: ``compute.gpus_per_job >= 1`` (its Snakemake
``resources.gpu``; a profile's ``set-resources`` counts too) or ``compute.device: cuda``. A job that
asked for none runs on the CPU even where it sees a GPU, so that on a shared node it never takes a GPU
the scheduler gave to someone else, and ``--resources gpu=N`` bounds every job that computes on one.

A job claims a GPU by taking an exclusive ``flock`` on a per-GPU lock file in a machine-local
folder. The kernel releases the lock when the process ends, even when it is killed, so a
crashed job never holds a GPU. A scheduler that hands a job its own GPUs (SLURM sets
CUDA_VISIBLE_DEVICES per job) leaves one visible device: then there is nothing to choose.
"""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
from pathlib import Path

from .errors import KnownError

log = logging.getLogger(__name__)
_held = []  # GPU locks, held until the process ends


class DeviceError(KnownError, RuntimeError):
    pass


def choose(setting: str, requested: int, available: bool) -> str:
    """"cpu" or "cuda" for compute.device ``setting``, the GPUs the job ``requested`` and whether
    it sees one (``available``)."""
    if setting == "cuda":
        if not available:
            raise DeviceError("compute.device is 'cuda' but this job sees no CUDA device; set compute.device: auto "
                              "(or cpu), or run it where a GPU is (compute.gpus_per_job: 1 asks the scheduler for one)")
        return "cuda"
    if setting == "cpu" and requested >= 1:
        raise DeviceError(f"this job asked the scheduler for {requested} GPU(s) (its resources.gpu, e.g. from "
                          "profiles/slurm-gpu) but compute.device is 'cpu', which never uses them; use "
                          "compute.device: auto, or a profile that asks for no GPU")
    if setting == "cpu" or requested < 1:
        return "cpu"
    if not available:
        log.warning("the job asked for %d GPU(s) but sees no CUDA device: it runs on the CPU", requested)
        return "cpu"
    return "cuda"


def visible_ids(n_visible: int, env=os.environ) -> list[str]:
    """The physical ids of the visible GPUs: CUDA_VISIBLE_DEVICES' entries, or 0..n-1."""
    cvd = env.get("CUDA_VISIBLE_DEVICES", "").strip()
    ids = [s.strip() for s in cvd.split(",") if s.strip()] if cvd else [str(i) for i in range(n_visible)]
    return ids[:n_visible]


def default_lock_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"gupta-stdp-gpus-{os.getuid()}"


def claim(ids: list[str], lock_dir: str | Path | None = None) -> tuple[int, object | None]:
    """(index among ``ids``, lock handle to keep open for the job's lifetime).

    One id: index 0, no lock. Several: the first whose lock is free. When every GPU is taken (more
    concurrent GPU jobs than GPUs: bound them with --resources gpu=N), share one and say so.
    """
    if len(ids) <= 1:
        return 0, None
    folder = Path(lock_dir or default_lock_dir())
    folder.mkdir(parents=True, exist_ok=True)
    for index, gid in enumerate(ids):
        handle = open(folder / f"gpu-{gid.replace('/', '_')}.lock", "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        return index, handle
    index = os.getpid() % len(ids)
    log.warning("all %d GPUs are taken by other jobs; sharing GPU %s. Bound concurrent GPU jobs with "
                "--resources gpu=%d", len(ids), ids[index], len(ids))
    return index, None


def pick_device(setting: str, requested: int = 0, lock_dir=None):
    """The torch device of a job (``choose``); with several visible GPUs, concurrent jobs on one
    machine take different ones (``claim``)."""
    import torch

    if choose(setting, requested, torch.cuda.is_available()) == "cpu":
        return torch.device("cpu")
    ids = visible_ids(torch.cuda.device_count())
    index, lock = claim(ids, lock_dir)
    _held.append(lock)
    torch.cuda.set_device(index)
    log.info("using cuda:%d (physical GPU %s of %d visible)", index, ids[index], len(ids))
    return torch.device(f"cuda:{index}")
