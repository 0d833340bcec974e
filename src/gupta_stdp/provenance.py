"""Where a result came from: commit, package versions, device, seeds, config hash. Torch is
imported only to name a device."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

from .io import config_hash

PACKAGES = ("torch", "torchvision", "numpy", "pandas", "scikit-learn", "scipy", "snakemake",
            "seaborn", "matplotlib", "adversarial-robustness-toolbox")
ROOT = Path(__file__).resolve().parents[2]


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_state() -> dict:
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit or "unknown", "git_dirty": bool(status) if status is not None else None}


def versions() -> dict:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def device_name(device) -> str:
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return f"cpu:{platform.machine()}:{torch.backends.cpu.get_cpu_capability()}:{torch.get_num_threads()} threads"


def record(params, device, **extra) -> dict:
    """The provenance record of a job. ``config_hash`` hashes the job's params: what its result
    depends on (compute settings excluded). The timestamp, host and SLURM job are the only fields
    that differ between identical runs; they stay out of the CSV tables."""
    return {**git_state(), "versions": versions(), "device": device_name(device),
            "config_hash": config_hash(params), **extra,
            "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "host": platform.node(), "slurm_job_id": os.environ.get("SLURM_JOB_ID")}
