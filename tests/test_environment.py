"""environment.yml and requirements.lock must agree, and pin every package of the design."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
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


def lock_pins():
    return _pins((ROOT / "requirements.lock").read_text().splitlines())


def env_pins():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = [d for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip) == 1, "environment.yml needs exactly one pip: section"
    return env, _pins(pip[0]["pip"])


def test_every_lock_line_is_an_exact_pin():
    assert len(lock_pins()) > 20


def test_environment_and_lock_agree():
    _, env = env_pins()
    lock = lock_pins()
    for name, version in env.items():
        assert name in lock, f"{name} is pinned in environment.yml but missing from requirements.lock"
        assert lock[name] == version, f"{name}: environment.yml {version} != requirements.lock {lock[name]}"


def test_design_packages_pinned_in_both():
    _, env = env_pins()
    lock = lock_pins()
    for name in DESIGN:
        assert name in env and name in lock, name
    assert lock["torch"] == "2.14.1" and lock["torchvision"] == "0.29.1"


def test_python_version_matches_lock_header():
    env, _ = env_pins()
    pythons = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert pythons == ["python=3.11"]
    assert "Python 3.11" in (ROOT / "requirements.lock").read_text().splitlines()[0]
