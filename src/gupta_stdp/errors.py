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


def collect(log_dir, since: float) -> tuple[list[str], list[str]]:
    """(the known errors' messages, each once, and the logs of jobs that failed unexpectedly) among
    the job logs under ``log_dir`` written since ``since`` (a time.time())."""
    known, unexpected = [], []
    for path in sorted(Path(log_dir).rglob("*.log")):
        if path.stat().st_mtime < since:
            continue
        lines = path.read_text(errors="replace").splitlines()
        start = next((i for i, line in enumerate(lines) if line.startswith(MARK)), None)
        if start is not None:  # the message, to the end of the log (it may span lines)
            message = "\n".join([lines[start][len(MARK):], *lines[start + 1:]]).rstrip()
            if message not in known:
                known.append(message)
        elif any(" CRITICAL job: job failed" in line for line in lines):
            unexpected.append(str(path))
    return known, unexpected


def summary(known: list[str], unexpected: list[str]) -> str:
    """What the workflow prints last when it failed: each known error's message, and where to find
    the traceback of an unexpected one."""
    lines = [f"Error: {m}" for m in known]
    lines += [f"Error: a job failed unexpectedly; its log holds the traceback: {p}" for p in unexpected]
    return "\n".join(lines)
