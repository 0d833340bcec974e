"""The locks (requirements/py<version>.lock, one per supported Python), environment.yml and
scripts/setup_env.sh must agree, and pin every package of the design.

Each test's docstring names a change that makes it fail.
"""

import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
LOCKS = ROOT / "requirements"
SETUP = ROOT / "scripts" / "setup_env.sh"
DESIGN = {"snakemake", "snakemake-executor-plugin-slurm", "torch", "torchvision", "pandas", "seaborn",
          "scikit-learn", "pytest", "numpy", "matplotlib", "adversarial-robustness-toolbox", "markdown", "jinja2",
          "tabulate", "scipy"}


def _norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(lines):
    pins = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^\s;]+)", line)
        assert m, f"not an exact == pin: {line!r}"
        pins[_norm(m.group(1))] = m.group(3)
    return pins


def lock_files():
    """{"3.11": Path(requirements/py3.11.lock), ...} for every lock present."""
    files = {}
    for path in LOCKS.glob("py*.lock"):
        m = re.fullmatch(r"py(3\.\d+)\.lock", path.name)
        assert m, f"lock with a name setup_env.sh cannot pick: {path.name}"
        files[m.group(1)] = path
    assert files, "no requirements/py<version>.lock"
    return files


def lock_pins():
    return {version: _pins(path.read_text().splitlines()) for version, path in lock_files().items()}


def direct_pins():
    return _pins((LOCKS / "in.txt").read_text().splitlines())


def supported_in_setup():
    found = re.findall(r'^SUPPORTED="([^"]*)"', SETUP.read_text(), flags=re.MULTILINE)
    assert len(found) == 1, 'scripts/setup_env.sh needs exactly one SUPPORTED="..." line (lock.sh reads it)'
    return found[0].split()


def env_pins():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = [d for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip) == 1, "environment.yml needs exactly one pip: section"
    return env, _pins(pip[0]["pip"])


def test_every_lock_line_is_an_exact_pin():
    """Fails if a lock holds a line that is not name==version (e.g. `torch>=2`), or is nearly empty."""
    for version, pins in lock_pins().items():
        assert len(pins) > 20, version


def test_every_supported_version_has_a_lock_and_no_other():
    """Fails if SUPPORTED in setup_env.sh names a version without requirements/py<version>.lock (e.g.
    adding 3.14 there without running scripts/lock.sh), or a lock lies there for a version the script
    refuses (e.g. a leftover py3.10.lock)."""
    assert sorted(supported_in_setup()) == sorted(lock_files())


def test_each_lock_says_its_python():
    """Fails if a lock is copied or renamed to another version's file name: the header lock.sh writes
    names the Python it was resolved for."""
    for version, path in lock_files().items():
        assert f"# Python {version}," in path.read_text().splitlines()[0], path.name


def test_locks_pin_the_same_versions_of_what_the_project_imports():
    """Fails if one lock pins another version of a design package or direct dependency than the others
    (e.g. numpy 2.4.6 in py3.11.lock, 2.5.0 in py3.13.lock): results must not depend on the Python."""
    locks = lock_pins()
    names = DESIGN | set(direct_pins())
    for name in sorted(names):
        versions = {version: pins.get(name) for version, pins in locks.items()}
        assert None not in versions.values(), f"{name} missing from a lock: {versions}"
        assert len(set(versions.values())) == 1, f"{name} differs between the locks: {versions}"


def test_locks_keep_the_pins_of_in_txt():
    """Fails if requirements/in.txt changes a pin and scripts/lock.sh was not rerun (or the other way)."""
    direct = direct_pins()
    assert DESIGN <= set(direct), DESIGN - set(direct)
    for version, pins in lock_pins().items():
        for name, pin in direct.items():
            assert pins.get(name) == pin, f"py{version}.lock: {name} {pins.get(name)} != in.txt {pin}"


def test_locks_pin_what_setup_env_installs_with():
    """Fails if uv (setup_env.sh installs the lock's uv, then uses it) or setuptools (the build backend
    of the editable install without build isolation; 3.12+ venvs have none) drops out of a lock."""
    for version, pins in lock_pins().items():
        assert {"uv", "setuptools"} <= set(pins), version


def test_torchvision_is_the_one_built_for_torch():
    """Fails if torch moves without torchvision (or the other way): torchvision 0.N pairs with torch
    2.(N-15). Both versions are read from the locks."""
    for version, pins in lock_pins().items():
        torch_minor = int(pins["torch"].split(".")[1])
        assert pins["torchvision"].split(".")[:2] == ["0", str(torch_minor + 15)], (version, pins["torch"])


def test_environment_agrees_with_every_lock():
    """Fails if environment.yml pins a version no lock has (e.g. torch there moved, not in the locks),
    pins a package missing from a lock, or lacks a design package."""
    _, env = env_pins()
    assert DESIGN <= set(env), DESIGN - set(env)
    for version, lock in lock_pins().items():
        for name, pin in env.items():
            assert name in lock, f"{name} is pinned in environment.yml but missing from py{version}.lock"
            assert lock[name] == pin, f"{name}: environment.yml {pin} != py{version}.lock {lock[name]}"


def test_environment_python_is_a_supported_version():
    """environment.yml fixes one Python (python=3.X, for a reproducible conda env), and it must be one
    with a lock. Fails if it says e.g. python=3.10, a range, or drops the python line."""
    env, _ = env_pins()
    pythons = [d for d in env["dependencies"] if isinstance(d, str) and re.match(r"python\b", d)]
    assert len(pythons) == 1, pythons
    m = re.fullmatch(r"python=(3\.\d+)", pythons[0])
    assert m and m.group(1) in lock_files(), pythons[0]


def _fake_python(tmp_path, version):
    """An executable that answers any `python -c ...` with `version` (how setup_env.sh reads it)."""
    fake = tmp_path / f"python{version}"
    fake.write_text(f"#!/bin/sh\necho {version}\n")
    fake.chmod(0o755)
    return fake


@pytest.mark.parametrize("version", supported_in_setup())
def test_setup_env_picks_the_lock_of_the_interpreter(tmp_path, version):
    """Fails if setup_env.sh installs one fixed lock whatever the Python (--dry-run names the lock)."""
    fake = _fake_python(tmp_path, version)
    run = subprocess.run(["bash", str(SETUP), "--dry-run"], env={"PATH": "/usr/bin:/bin", "PYTHON": str(fake)},
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    assert f"requirements/py{version}.lock" in run.stdout


@pytest.mark.parametrize("version", ["3.10", "3.14"])
def test_setup_env_refuses_an_unsupported_python_before_any_work(tmp_path, version):
    """Fails if the version check is dropped or moved after --dry-run's stop (which comes before any
    work), or if the message stops saying how to get a supported Python."""
    fake = _fake_python(tmp_path, version)
    run = subprocess.run(["bash", str(SETUP), "--dry-run"], env={"PATH": "/usr/bin:/bin", "PYTHON": str(fake)},
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 1
    assert f"is Python {version}, which has no lock" in run.stderr
    assert "apt-get install" in run.stderr and "uv python install" in run.stderr and "conda" in run.stderr
