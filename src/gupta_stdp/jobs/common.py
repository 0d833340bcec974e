"""What every job does first: logging into its Snakemake log (its traceback included), threads,
and the settings of how it runs (``runtime``). The device is chosen by ``gupta_stdp.gpus``."""

from __future__ import annotations

import logging
import sys
import time
import warnings

from ..errors import MARK, KnownError

log = logging.getLogger(__name__)


_started = [time.perf_counter()]


def setup(log_path: str | None = None, threads: int | None = None) -> None:
    """Log to stderr and to the rule's log file (a line is on disk as soon as it is logged: ``tail -f``
    follows a job). An uncaught exception's traceback goes to the log file. An error the project
    raises on purpose (``KnownError``) puts its message on the log's last line, after ``MARK``, and
    nothing on stderr: the workflow shows it once, last (the Snakefile's ``onerror``). Any other
    exception's traceback goes to stderr as well. Warnings are logged too."""
    console = logging.StreamHandler()
    files = [logging.FileHandler(log_path, mode="w")] if log_path else []
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        handlers=[console, *files], force=True)
    logging.captureWarnings(True)
    warnings.filterwarnings("once")
    _started[0] = time.perf_counter()

    def excepthook(kind, value, tb):
        known = isinstance(value, KnownError)
        if known:
            logging.getLogger().removeHandler(console)
        logging.getLogger("job").critical("job failed", exc_info=(kind, value, tb))
        if known:
            for h in files:
                h.stream.write(f"{MARK}{value}\n")
        for h in logging.getLogger().handlers:
            h.flush()
        if known and not files:  # no log to hold it: say it here
            print(f"{MARK}{value}", file=sys.stderr)

    sys.excepthook = excepthook
    if threads is not None:
        import torch

        torch.set_num_threads(max(1, int(threads)))


def done(outputs) -> None:
    """The job's last log line: its wall time and what it wrote."""
    paths = [str(o) for o in outputs]
    log.info("done in %.1f s; wrote %d file(s): %s", time.perf_counter() - _started[0], len(paths), ", ".join(paths))


def runtime(config: dict, resources=None) -> dict:
    """How a job runs, not what it computes: the compute settings, the download's transport, the
    data folder, and the GPUs the job asked for (its Snakemake ``resources.gpu``). Never a rerun
    trigger, never in a hash."""
    d = config["data"]
    mirrors = {name: src["mirrors"] for name, src in d.items() if isinstance(src, dict) and "mirrors" in src}
    gpus = getattr(resources, "gpu", 0) if resources is not None else 0
    return {**config["compute"], "timeout": d["timeout"], "retries": d["retries"], "root": d["root"],
            "mirrors": mirrors, "gpus_requested": int(gpus or 0)}
