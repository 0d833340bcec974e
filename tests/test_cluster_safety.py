"""What a cluster needs: a head node that plans without torch, a node without a C++ compiler that
still trains, and a failed job whose log says why."""

import os
import sys

import pandas as pd
import pytest
import yaml

from conftest import ROOT, dry_run_jobs, smk, tiny_workdir

BAD = {"datasets": {"mnist": {"pairs": ["3v3"], "epochs": 1, "batch_size": 10}}}


@pytest.fixture
def no_torch(tmp_path):
    """An environment in which ``import torch`` fails: a stub package first on PYTHONPATH."""
    stub = tmp_path / "stub" / "torch"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("raise ImportError('stub: torch is not installed on this head node')\n")
    env = dict(os.environ, PYTHONPATH=f"{stub.parent}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    return env


def _smk_env(env, *args, cwd):
    import subprocess

    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_the_dag_plans_without_torch(tmp_path, no_torch):
    check = _smk_env(no_torch, "--version", cwd=tmp_path)
    assert check.returncode == 0
    probe = __import__("subprocess").run([sys.executable, "-c", "import torch"], env=no_torch, capture_output=True,
                                         text=True)
    assert probe.returncode != 0 and "stub: torch is not installed" in probe.stderr
    out = _smk_env(no_torch, "-s", str(ROOT / "Snakefile"), "-n", "--forceall", "--cores", "2", "--configfile",
                   str(ROOT / "config/config.yaml"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    jobs = dry_run_jobs(out)
    assert len(jobs["train"]) == 16 and len(jobs["attack"]) == 8 and len(jobs["report"]) == 1


def test_a_bad_config_is_rejected_without_torch_with_the_same_message(tmp_path, no_torch):
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(BAD))
    args = ("-s", str(ROOT / "Snakefile"), "--cores", "1", "--configfile", "bad.yaml")
    without = _smk_env(no_torch, *args, cwd=tmp_path)
    with_torch = smk(*args, cwd=tmp_path, check=False)
    assert without.returncode != 0 and with_torch.returncode != 0
    message = "datasets.mnist.pairs: pair '3v3' of dataset 'mnist' names class 3 twice"
    assert message in without.stderr + without.stdout and message in with_torch.stderr + with_torch.stdout


@pytest.mark.slow
def test_a_failed_jobs_log_holds_its_traceback(tmp_path, mnist_server):
    """A batch larger than the pair's training split fails in the train job (it is checked there,
    where the data is): the job's log has the traceback and the message with the fix."""
    args = tiny_workdir(tmp_path, mnist_server, datasets={"mnist": {"pairs": ["0v1"], "epochs": 1, "batch_size": 5000}})
    out = smk("results/runs/mnist/0v1/bp/epochs.csv", *args, cwd=tmp_path, check=False)  # targets before --configfile
    assert out.returncode != 0
    log = (tmp_path / "logs/train/mnist_0v1_bp.log").read_text()
    assert "Traceback (most recent call last)" in log and "DataError" in log
    assert "set datasets.<name>.batch_size to at most" in log
    assert not (tmp_path / "results/runs/mnist/0v1/bp/epochs.csv").exists()


@pytest.mark.slow
def test_a_node_without_a_cxx_compiler_still_trains(tmp_path, mnist_server, monkeypatch):
    """stdp.impl: auto on an MNIST-size job (784 inputs, so the fused update is chosen) where the
    compiler is missing (CXX names no binary; a fresh inductor cache, so nothing compiled earlier
    helps): the job finishes on the eager rule with one warning in its log, and its numbers are the
    reference path's (the same code runs: equal to the last digit on one machine)."""
    target = "results/runs/mnist/0v1/stdp/epochs.csv"
    runs = {}
    for impl in ("auto", "reference"):
        work = tmp_path / impl
        work.mkdir()
        args = tiny_workdir(work, mnist_server, stdp={"impl": impl})
        monkeypatch.setenv("CXX", "/nonexistent/bin/g++")
        monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / f"inductor-{impl}"))
        smk(target, *args, cwd=work)
        runs[impl] = work
    log = (runs["auto"] / "logs/train/mnist_0v1_stdp.log").read_text()
    assert log.count("torch.compile could not build the fused STDP update") == 1
    a, b = (pd.read_csv(runs[k] / target) for k in ("auto", "reference"))
    pd.testing.assert_frame_equal(a, b)
    prov = yaml.safe_load((runs["auto"] / "results/runs/mnist/0v1/stdp/provenance.json").read_text())
    assert prov["stdp_impl"] == "reference"  # what actually ran

    work = tmp_path / "compiled"
    work.mkdir()
    args = tiny_workdir(work, mnist_server, stdp={"impl": "compiled"})
    out = smk(target, *args, cwd=work, check=False)
    assert out.returncode != 0
    log = (work / "logs/train/mnist_0v1_stdp.log").read_text()
    assert "stdp.impl is 'compiled' but torch.compile could not build" in log and "stdp.impl: auto" in log


def test_the_light_stages_never_import_torch():
    """Aggregate, sanity, claims, figures and the report run as local jobs: they must not pay for
    torch (or the attack code) at import."""
    import subprocess

    code = ("import sys; import gupta_stdp.config, gupta_stdp.jobs.common, gupta_stdp.jobs.aggregate, "
            "gupta_stdp.sanity, gupta_stdp.claims, gupta_stdp.figures, gupta_stdp.report, gupta_stdp.examples; "
            "bad = [m for m in ('torch', 'gupta_stdp.attacks', 'gupta_stdp.train') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
