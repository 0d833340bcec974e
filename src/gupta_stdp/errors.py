"""Errors the project raises on purpose: each message names the problem and the fix. A job that
stops on one prints nothing but that message (``gupta_stdp.jobs.common``), and the workflow repeats
it once, as the last thing on the console (the Snakefile's ``onerror``); its traceback stays in the
job's log. Any other exception is unexpected: its traceback is shown. Standard library only: every
module may use it, the workflow's planning included."""

from __future__ import annotations

from pathlib import Path

#: What starts a known error's message in a job's log: the message runs from there to the log's end.
MARK = "gupta-stdp error: "


class KnownError(Exception):
    """A problem the user can fix; the message says how."""


def failed_logs(main_log) -> list[str]:
    """The logs of the jobs that Snakemake's own log (``main_log``) reports as failed, in order."""
    import re

    try:
        text = Path(main_log).read_text(errors="replace")
    except (OSError, TypeError):
        return []
    out = []
    for block in re.split(r"\n(?=Error in rule )", text)[1:]:
        m = re.search(r"\n\s+log: (.+?) \(check log file", block)
        for path in (m.group(1).split(", ") if m else []):
            if path not in out:
                out.append(path)
    return out


def collect(log_dir, since: float, main_log=None) -> tuple[list[str], list[str]]:
    """(the known errors' messages, each once, and the logs of jobs that failed otherwise): the jobs
    Snakemake reports as failed in ``main_log``, and any job log under ``log_dir`` written since
    ``since`` (a time.time()) that ends in a failure. A failed job whose log holds no message (it
    failed before it could log, or was killed: out of time or memory) counts as unexpected."""
    known, unexpected = [], []
    failed = failed_logs(main_log) if main_log else []
    scanned = [str(p) for p in sorted(Path(log_dir).rglob("*.log")) if p.stat().st_mtime >= since]
    for path in dict.fromkeys([*failed, *scanned]):
        lines = Path(path).read_text(errors="replace").splitlines() if Path(path).exists() else []
        start = next((i for i, line in enumerate(lines) if line.startswith(MARK)), None)
        if start is not None:  # the message, to the end of the log (it may span lines)
            message = "\n".join([lines[start][len(MARK):], *lines[start + 1:]]).rstrip()
            if message not in known:
                known.append(message)
        elif path in failed or any(" CRITICAL job: job failed" in line for line in lines):
            unexpected.append(path)
    return known, unexpected


def summary(known: list[str], unexpected: list[str]) -> str:
    """What the workflow prints last when it failed: each known error's message, and where to find
    the traceback of an unexpected one."""
    lines = [f"Error: {m}" for m in known]
    lines += [f"Error: a job failed unexpectedly; its log: {p} (a traceback if it got that far; if it is empty, the "
              "job was killed or could not start: see its SLURM log under .snakemake/slurm_logs/)" for p in unexpected]
    return "\n".join(lines)
