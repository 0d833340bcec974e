"""Every package module a job imports is among its Snakemake inputs, so that editing it reruns the
job. The workflow derives a job's code inputs from its imports (gupta_stdp.jobcode, with ``ast``);
this test derives them again with the standard library's ``modulefinder`` and compares both with the
inputs of every job that a dry run of the whole DAG plans. A hand-written list fails it: the one this
replaced lacked io.py, provenance.py and jobs/common.py in every train job."""

import re
import functools
import subprocess
import sys
from modulefinder import ModuleFinder
from pathlib import Path

import pytest

from conftest import ROOT
from gupta_stdp import jobcode
from gupta_stdp import rules as registry

PKG = ROOT / "src" / "gupta_stdp"
# rule -> its entry script; download is left out on purpose: its outputs are checked against their
# md5 (a param), so no code change can change them.
SCRIPTS = {"train": "train", "attack": "attack", "square": "square", "aggregate": "aggregate", "sanity": "sanity",
           "claims": "claims", "stdp_curve": "curve", "figure": "figures", "report": "report", "bundle": "bundle",
           "multiverse_train": "multiverse_train", "multiverse_attack": "multiverse_attack", "multiverse": "multiverse"}


class Finder(ModuleFinder):
    """modulefinder, searching the package only; a standard-library module it cannot find then (say
    ``io``) must not hide a relative import of the same name (``from .io import ...``): its check of
    failed names ignores the import's level."""

    def _safe_import_hook(self, name, caller, fromlist, level=-1):
        failed = self.badmodules.pop(name, None) if level > 0 else None
        try:
            super()._safe_import_hook(name, caller, fromlist, level)
        finally:
            if failed is not None:
                self.badmodules.setdefault(name, failed)


@functools.cache
def imported(script: str, *modules: str) -> set[Path]:
    """Package files reached from ``scripts/<script>.py`` and the dotted ``modules``, by modulefinder;
    the rules' registry left out (jobs read only their own line of it, as a param)."""
    finder = Finder(path=[str(ROOT / "src")])
    finder.run_script(str(ROOT / "scripts" / f"{script}.py"))
    for m in modules:
        finder.import_hook(m)
    files = {Path(m.__file__).resolve() for m in finder.modules.values() if m.__file__}
    return {f for f in files if f.is_relative_to(PKG) and f != PKG / "rules" / "__init__.py"}


@pytest.fixture(scope="module")
def planned_inputs(tmp_path_factory):
    """rule -> [the .py inputs of each of its jobs], from a dry run of the default DAG with every rule
    and the multiverse."""
    work = tmp_path_factory.mktemp("plan")
    methods = "[" + ", ".join(registry.RULES) + "]"
    out = subprocess.run([sys.executable, "-m", "snakemake", "all", "bundle", "-s", str(ROOT / "Snakefile"), "-n",
                          "--forceall",
                          "--cores", "1", "--configfile", str(ROOT / "config/config.yaml"),
                          str(ROOT / "config/multiverse.yaml"), "--config",
                          f"methods={methods}"], cwd=work, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    jobs: dict[str, list[tuple[dict, set[Path]]]] = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", out.stdout + out.stderr):
        m = re.match(r"(?:local)?rule (\w+):", block)
        if not m:
            continue
        ins = re.search(r"\n\s+input: ([^\n]+)", block)
        wc = re.search(r"\n\s+wildcards: ([^\n]+)", block)
        files = {(work / f).resolve() for f in (ins.group(1).split(", ") if ins else []) if f.endswith(".py")}
        wildcards = dict(kv.split("=", 1) for kv in wc.group(1).split(", ")) if wc else {}
        jobs.setdefault(m.group(1), []).append((wildcards, files))
    return jobs


@pytest.mark.parametrize("rule", SCRIPTS)
def test_a_jobs_code_inputs_are_what_its_script_imports(rule, planned_inputs):
    assert planned_inputs.get(rule), f"the dry run planned no {rule} job"
    for wildcards, files in planned_inputs[rule]:
        extra = []
        if rule in ("train", "multiverse_train"):
            extra = [f"gupta_stdp.rules.{registry.module_name(wildcards['rule'])}"]
        elif rule == "stdp_curve":
            extra = [f"gupta_stdp.rules.{registry.module_name('stdp')}"]
        expected = imported(SCRIPTS[rule], *extra) | {(ROOT / "scripts" / f"{SCRIPTS[rule]}.py").resolve()}
        assert files == expected, (f"{rule} {wildcards}: missing {sorted(map(str, expected - files))}, "
                                   f"extra {sorted(map(str, files - expected))}")


def test_the_registry_is_no_jobs_input(planned_inputs):
    registry_file = (PKG / "rules" / "__init__.py").resolve()
    assert all(registry_file not in files for jobs in planned_inputs.values() for _, files in jobs)


def test_the_walker_sees_imports_in_function_bodies(tmp_path, monkeypatch):
    """A lazy import (inside a function) is still an import (the report imports config.load so).
    Mutation: walk only the module's top level (``tree.body`` for ``ast.walk(tree)``) and a.py and
    b.py drop out."""
    pkg = tmp_path / "gupta_stdp"
    (pkg / "sub").mkdir(parents=True)
    for f in ("__init__.py", "sub/__init__.py", "a.py", "b.py"):
        (pkg / f).write_text("")
    (pkg / "sub" / "c.py").write_text("def f():\n    from .. import a\n    from ..b import thing\n")
    monkeypatch.setattr(jobcode, "PKG", pkg)
    monkeypatch.setattr(jobcode, "REGISTRY", pkg / "rules" / "__init__.py")
    jobcode.direct_imports.cache_clear()
    try:
        found = jobcode.closure(pkg / "sub" / "c.py")
    finally:
        jobcode.direct_imports.cache_clear()
    assert {p.relative_to(pkg).as_posix() for p in found} == {"__init__.py", "sub/c.py", "a.py", "b.py"}
