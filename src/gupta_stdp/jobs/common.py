"""What every job does first: logging into its Snakemake log (its traceback included), threads,
and the settings of how it runs (``runtime``). The device is chosen by ``gupta_stdp.gpus``."""

from __future__ import annotations

import logging
import sys
import warnings

log = logging.getLogger(__name__)


def setup(log_path: str | None = None, threads: int | None = None) -> None:
    """Log to stderr and to the rule's log file; an uncaught exception's traceback goes to both,
    so a failed job's log says why it failed. Warnings are logged too."""
    handlers = [logging.StreamHandler()] + ([logging.FileHandler(log_path, mode="w")] if log_path else [])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        handlers=handlers, force=True)
    logging.captureWarnings(True)
    warnings.filterwarnings("once")

    def excepthook(kind, value, tb):
        logging.getLogger("job").critical("job failed", exc_info=(kind, value, tb))
        for h in handlers:
            h.flush()

    sys.excepthook = excepthook
    if threads is not None:
        import torch

        torch.set_num_threads(max(1, int(threads)))


def runtime(config: dict, resources=None) -> dict:
    """How a job runs, not what it computes: the compute settings, the download's transport, the
    data folder, and the GPUs the job asked for (its Snakemake ``resources.gpu``). Never a rerun
    trigger, never in a hash."""
    d = config["data"]
    mirrors = {name: src["mirrors"] for name, src in d.items() if isinstance(src, dict) and "mirrors" in src}
    gpus = getattr(resources, "gpu", 0) if resources is not None else 0
    return {**config["compute"], "timeout": d["timeout"], "retries": d["retries"], "root": d["root"],
            "mirrors": mirrors, "gpus_requested": int(gpus or 0)}
