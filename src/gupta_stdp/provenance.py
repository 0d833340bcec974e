"""Where a result came from: commit, package versions, device, seeds, config hash."""

from __future__ import annotations

import datetime
import hashlib
import importlib.metadata
import json
import os
import platform
import subprocess
from pathlib import Path

import torch

PACKAGES = ("torch", "torchvision", "numpy", "pandas", "scikit-learn", "scipy", "snakemake",
            "seaborn", "matplotlib", "adversarial-robustness-toolbox")
ROOT = Path(__file__).resolve().parents[2]


def config_hash(cfg) -> str:
    """sha256 of the config as canonical JSON (sorted keys), first 16 hex digits."""
    blob = json.dumps(cfg, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


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
    device = torch.device(device)
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return f"cpu:{platform.machine()}:{torch.get_num_threads()} threads"


def record(cfg, device, **extra) -> dict:
    """The provenance record. The timestamp, host and SLURM job are the only fields that differ
    between identical runs; they stay out of the CSV tables."""
    return {**git_state(), "versions": versions(), "device": device_name(device),
            "config_hash": config_hash(cfg), **extra,
            "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "host": platform.node(), "slurm_job_id": os.environ.get("SLURM_JOB_ID")}
