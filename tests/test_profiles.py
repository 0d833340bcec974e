"""The cluster profiles: nothing site-specific is active, retries are on, heavy jobs get more time and
memory with each attempt, and a plan through each profile asks for GPUs only where it should."""

import re
import subprocess
import sys
from types import SimpleNamespace

import pytest
import yaml

from conftest import ROOT
from gupta_stdp import config as cfgmod

SLURM = ("slurm", "slurm-gpu")
SITE = {"slurm_partition", "slurm_account", "gpu_model", "constraint", "qos", "clusters"}
HEAVY = ("train", "attack", "square")


def profile(name):
    return yaml.safe_load((ROOT / "profiles" / name / "config.yaml").read_text())


@pytest.mark.parametrize("name", SLURM)
def test_no_site_specific_value_is_active(name):
    """Mutation: put `slurm_partition: debug` back under default-resources (the release before this
    test) and this fails."""
    p = profile(name)
    keys = set(p.get("default-resources", {}))
    for rule in p.get("set-resources", {}).values():
        keys |= set(rule)
    assert not keys & SITE, f"profiles/{name} sets {sorted(keys & SITE)}: a site's value, not the project's"
    text = (ROOT / "profiles" / name / "config.yaml").read_text()
    assert "slurm_partition:" in text and "slurm_account:" in text  # ... but its comments say where they go


@pytest.mark.parametrize("name", SLURM)
def test_retries_are_on_and_default_resources_grow_with_the_attempt(name):
    p = profile(name)
    assert p["retries"] >= 1
    for key in ("runtime", "mem_mb"):
        assert "attempt" in str(p["default-resources"][key])


def test_heavy_resources_grow_with_the_attempt():
    mnist, iris = SimpleNamespace(dataset="mnist"), SimpleNamespace(dataset="iris")
    r = cfgmod.scaled(15, 5)
    assert [r(mnist, a) for a in (1, 2, 3)] == [15, 30, 45] and r(iris, 2) == 10
    for rule in HEAVY:
        text = (ROOT / "workflow" / "rules" / f"{rule}.smk").read_text()
        assert re.search(r"\n\s+mem_mb=scaled\(", text) and re.search(r"\n\s+runtime=scaled\(", text), rule
    text = (ROOT / "workflow" / "rules" / "curve.smk").read_text()  # the other job that goes to the cluster
    assert "mem_mb=lambda w, attempt: 1000 * attempt" in text and "runtime=lambda w, attempt: 5 * attempt" in text


def _plan(tmp_path, name, *config):
    out = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--profile",
                          str(ROOT / "profiles" / name), "-n", "--forceall", "--configfile",
                          str(ROOT / "config/config.yaml"), *config], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    jobs = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", out.stdout + out.stderr):
        m = re.match(r"(?:local)?rule (\w+):", block)
        res = re.search(r"\n\s+resources: ([^\n]+)", block)
        if m and res:
            jobs.setdefault(m.group(1), []).append(dict(kv.split("=", 1) for kv in res.group(1).split(", ")))
    return jobs


@pytest.mark.parametrize("name, gpus", [("slurm", "0"), ("slurm-gpu", "1")])
def test_a_plan_through_each_profile(tmp_path, name, gpus):
    """The default DAG planned through the profile (no SLURM needed to plan): heavy jobs ask for
    their measured runtime at the first attempt, GPUs only through the GPU profile, never a model."""
    jobs = _plan(tmp_path, name)
    for rule in HEAVY:
        assert jobs.get(rule), rule
        for res in jobs[rule]:
            assert res.get("gpu", "0") == gpus and "gpu_model" not in res and "slurm_partition" not in res
    assert {r["runtime"] for r in jobs["train"]} == {"15", "5"}  # MNIST-size and IRIS, attempt 1
