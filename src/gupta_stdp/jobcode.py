"""The code a job runs, read from its imports: the Snakemake inputs that rerun a job when its code
changes cannot go stale, because a new import is a new input.

A job's code is its entry script (``scripts/<stage>.py``) and every module of this package that the
script reaches through ``import`` statements, anywhere in a module (function bodies included), with
the ``__init__.py`` of every package on the way. Only the standard library's ``ast``: the workflow
plans its DAG with this module alone.

One file is left out on purpose: ``rules/__init__.py``, the registry. Python runs it whenever a
rule's module is imported, but a train job reads only its own rule's line of it, and that line is
the job's ``impl`` param (``gupta_stdp.config.train_params``). So registering a new rule reruns no
job of the rules already there. A rule's module, which the trainer imports by name at run time, is
named by the rule file (``extra``).
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

PKG = Path(__file__).resolve().parent
ROOT = PKG.parents[1]
NAME = PKG.name
REGISTRY = PKG / "rules" / "__init__.py"


def _module_file(dotted: str) -> Path | None:
    """The file of package module ``gupta_stdp.a.b`` (a module or a package), None outside it."""
    parts = dotted.split(".")
    if parts[0] != NAME:
        return None
    base = PKG.joinpath(*parts[1:])
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _dotted(path: Path) -> str:
    rel = path.relative_to(PKG).with_suffix("")
    parts = [NAME, *rel.parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _with_parents(dotted: str) -> list[str]:
    """``a.b.c`` -> ``a``, ``a.b``, ``a.b.c``: importing a module runs its packages' __init__ too."""
    parts = dotted.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


@functools.cache
def direct_imports(path: Path) -> frozenset[Path]:
    """The package files that ``path``'s import statements name (a ``from X import y`` where ``y``
    is a submodule names both X and X.y)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_pkg = path.name == "__init__.py"
    here = _dotted(path) if path.is_relative_to(PKG) else ""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".") if is_pkg else here.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.append(module)
            names += [f"{module}.{alias.name}" for alias in node.names]
    found = set()
    for name in names:
        for dotted in _with_parents(name):
            f = _module_file(dotted)
            if f is not None:
                found.add(f)
    return frozenset(found)


def closure(*files: Path) -> set[Path]:
    """Every package file reached from ``files`` through imports, ``files`` included (the registry's
    own imports too: only the registry file itself is left out, by ``inputs``)."""
    seen: set[Path] = set()
    todo = [Path(f).resolve() for f in files]
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        todo += list(direct_imports(f))
    return seen


def inputs(script: str, *extra: str) -> list[str]:
    """The code inputs of a job that runs ``scripts/<script>.py`` (plus package modules ``extra``,
    paths within the package, imported by name at run time), as absolute paths, sorted; the rules'
    registry excluded (see the module docstring)."""
    files = closure(ROOT / "scripts" / f"{script}.py", *(PKG / e for e in extra))
    return sorted(str(f) for f in files if f != REGISTRY)
