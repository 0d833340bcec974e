"""What every job does first: logging into its Snakemake log (its traceback included), threads,
and the device it computes on."""

from __future__ import annotations

import logging
import sys
import warnings

log = logging.getLogger(__name__)
_held = []  # GPU locks, held until the process ends


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


def pick_device(setting: str, lock_dir=None):
    """compute.device: cpu, cuda (an error without a GPU), or auto (CUDA when the job sees one).

    With several visible GPUs, concurrent jobs on one machine take different ones (gpus.claim).
    """
    import torch

    from .. import gpus

    if setting == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("compute.device is 'cuda' but this job sees no CUDA device; "
                           "set compute.device: auto (or cpu), or give the job a GPU (compute.gpus_per_job: 1)")
    if setting == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    ids = gpus.visible_ids(torch.cuda.device_count())
    index, lock = gpus.claim(ids, lock_dir)
    _held.append(lock)
    torch.cuda.set_device(index)
    log.info("using cuda:%d (physical GPU %s of %d visible)", index, ids[index], len(ids))
    return torch.device(f"cuda:{index}")
