"""Known failures read cleanly: the message once, last, no traceback on the console; the traceback
stays in the job's log. Unexpected failures keep their traceback."""

import pytest
import yaml

from conftest import copy_workflow, smk
from gupta_stdp import errors


def test_collect_finds_known_messages_once_and_unexpected_failures(tmp_path):
    logs = tmp_path / "logs"
    (logs / "train").mkdir(parents=True)
    known = f"... CRITICAL job: job failed\nTraceback (most recent call last):\n  ...\n{errors.MARK}the fix is X\n"
    (logs / "download.log").write_text(known)
    (logs / "train" / "a.log").write_text(known)  # the same message from another job: once
    (logs / "train" / "b.log").write_text("2026-11-30 INFO x: start\n2026-11-30 CRITICAL job: job failed\nTraceback ...\n")
    (logs / "train" / "c.log").write_text("2026-11-30 INFO x: done in 3 s\n")
    msgs, unexpected = errors.collect(logs, since=0)
    assert msgs == ["the fix is X"] and unexpected == [str(logs / "train" / "b.log")]
    assert errors.collect(logs, since=2e9) == ([], [])  # logs of earlier runs are not this run's
    text = errors.summary(msgs, unexpected)
    assert text.splitlines()[0] == "Error: the fix is X"
    assert text.splitlines()[1].startswith(f"Error: a job failed unexpectedly; its log: {logs}/train/b.log")


def test_a_job_that_never_logged_is_named_from_snakemakes_log(tmp_path):
    """A job killed by SLURM (time, memory) or that failed before it could log leaves an empty or
    stale log: Snakemake's own log still names it, and so does the summary."""
    (tmp_path / "logs/attack").mkdir(parents=True)
    stale = tmp_path / "logs/attack/mnist_0v1.log"
    stale.write_text("2026-11-29 INFO x: an earlier run\n")
    main = tmp_path / "main.log"
    main.write_text(f"...\nError in rule attack:\n    jobid: 4\n    log: {stale} (check log file(s) for error details)\n"
                    f"Error in rule train:\n    jobid: 5\n    log: {tmp_path}/logs/train/none.log (check log file(s) "
                    "for error details)\n")
    msgs, unexpected = errors.collect(tmp_path / "logs", since=2e9, main_log=main)
    assert msgs == [] and unexpected == [str(stale), f"{tmp_path}/logs/train/none.log"]


@pytest.mark.slow
def test_the_offline_main_command_ends_with_the_message_alone(tmp_path, dead_url):
    """The README's main command (profiles/local, the default config) where no MNIST mirror answers:
    the download's message is printed once, as the last line, and no traceback reaches the console;
    the job's log keeps it. Mutation: print the traceback to stderr for known errors too (the release
    before this test) and a traceback reaches the console."""
    copy_workflow(tmp_path)
    (tmp_path / "offline.yaml").write_text(yaml.safe_dump({"data": {"mnist": {"mirrors": [dead_url]}, "retries": 1,
                                                                     "timeout": 2}}))
    out = smk("--profile", "profiles/local", "--cores", "2", "--configfile", "config/config.yaml", "offline.yaml",
              cwd=tmp_path, check=False, timeout=600)
    console = out.stdout + out.stderr
    assert out.returncode != 0
    message = "could not fetch a valid 'train-images-idx3-ubyte.gz'"
    assert console.count(message) == 1, console[-3000:]
    assert "Traceback" not in console
    tail = out.stderr[out.stderr.index(f"Error: {message}"):]  # the message (several lines) ends the output
    assert "Snakemake" not in tail and "Complete log" not in tail and "WorkflowError" not in tail
    assert "Fix: check the network" in tail and tail.rstrip().endswith("gives the values")
    log = (tmp_path / "logs/download/mnist.log").read_text()
    assert "Traceback (most recent call last)" in log and message in log


@pytest.mark.slow
def test_a_bad_config_prints_one_line(tmp_path):
    copy_workflow(tmp_path)
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({"attacks": {"fgsm": {"eps": [-4]}}}))
    out = smk("--cores", "1", "--configfile", "config/config.yaml", "bad.yaml", cwd=tmp_path, check=False)
    assert out.returncode != 0 and "Traceback" not in out.stdout + out.stderr and "File \"" not in out.stderr
    assert out.stderr.strip().splitlines()[-1] == ("Error: attacks.fgsm.eps.0: -4 is less than the minimum of 0 "
                                                    "(workflow/schemas/config.schema.yaml describes every key)")
