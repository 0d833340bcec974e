"""Mutation score of the core modules (mutmut 3, in a scratch copy of the repository).

The modules and the fast tests are those of pyproject.toml's [tool.mutmut]; the working tree is never
touched.

    .venv/bin/python benchmarks/mutation.py [--workdir DIR] [--max-children 2] [--only MODULE ...]
    .venv/bin/python benchmarks/mutation.py --report DIR [--only MODULE ...] [--record-equivalents]

``--only gupta_stdp.multiverse gupta_stdp.claims.specs`` runs (and reports) the mutants of those
modules only: minutes instead of the whole run's 11.

Prints, per module, killed/total (a timeout counts as killed: the mutant made a test hang), the
survivors, and as its last line ``mutation score: X%``. Mutants listed in
benchmarks/equivalent_mutants.txt (one name per line, ``#`` and a reason after it) count as
neither: they cannot change behaviour. mutmut numbers a function's mutants in order, so an edit to a
function renumbers them: benchmarks/equivalent_mutants.lines.json keeps the code each listed mutant
had when it was read, and a listed name whose mutant now changes other code is reported as stale and
counted like any other mutant, with the name its old code has now if it still exists. After an edit:
run with ``--workdir DIR``; read each stale or new survivor (``cd DIR && $REPO/.venv/bin/mutmut show
NAME``); fix its line in equivalent_mutants.txt (the new number, or delete it); then ``--report DIR
--record-equivalents`` (with the run's ``--only``) records the code of the listed mutants of the
modules that run covered. ``--report DIR`` reports a finished run's folder again without running.
A mutant the run did not get to is left out (and counted in a line); one that no selected test
reaches counts as surviving.
A benchmark, not part of CI.
"""

from __future__ import annotations

import argparse
import ast
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KILLED = {1, 3, 36, -24, 24, 152, 255}  # tests failed, or the mutant made them time out
LINES = ROOT / "benchmarks" / "equivalent_mutants.lines.json"


def equivalent() -> set[str]:
    path = ROOT / "benchmarks" / "equivalent_mutants.txt"
    if not path.exists():
        return set()
    return {line.split("#")[0].strip() for line in path.read_text().splitlines() if line.split("#")[0].strip()}


def mutated_code(work: Path) -> dict[str, str]:
    """Per mutant name, the code it changes: its function's lines that the original's lacks, read from
    mutmut's mutants/ tree (which holds each mutant as a function beside ``..._mutmut_orig``)."""
    out = {}
    src_root = work / "mutants" / "src"
    for path in src_root.rglob("*.py"):
        parts = path.relative_to(src_root).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        text = path.read_text()
        lines = text.splitlines()  # (ast.get_source_segment splits the whole file per call: minutes here)
        funcs = {n.name: "\n".join(lines[n.lineno - 1:n.end_lineno]) for n in ast.walk(ast.parse(text))
                 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        for name, code in funcs.items():
            stem, sep, number = name.rpartition("__mutmut_")
            orig = funcs.get(f"{stem}__mutmut_orig")
            if not sep or not number.isdigit() or orig is None:
                continue
            mine = collections.Counter(line.strip() for line in code.replace(name, f"{stem}__mutmut_orig", 1).splitlines())
            theirs = collections.Counter(line.strip() for line in orig.splitlines())
            out[f"{module}.{name}"] = " | ".join(sorted((mine - theirs).elements()))
    return out


def module_of(name: str) -> str:
    return name.split(".x_")[0].split(".x\u01c1")[0]


def ran_modules(work: Path) -> set[str]:
    """The modules of which the run in ``work`` tested at least one mutant."""
    return {module_of(name) for meta in (work / "mutants").rglob("*.meta")
            for name, code in json.loads(meta.read_text())["exit_code_by_key"].items() if code is not None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", default=None, help="scratch folder (default: a new temporary one)")
    ap.add_argument("--max-children", default="2", help="mutants run in parallel (default 2)")
    ap.add_argument("--only", nargs="*", default=None, help="dotted module prefixes to mutate and report (all by default)")
    ap.add_argument("--report", metavar="DIR", default=None, help="report a finished run's folder again, without running")
    ap.add_argument("--record-equivalents", action="store_true",
                    help="with --report: write benchmarks/equivalent_mutants.lines.json from that run")
    args = ap.parse_args()
    if args.report:
        work = Path(args.report)
        if not (work / "mutants").is_dir():
            sys.exit(f"--report {work}: no mutants/ folder there; give the --workdir of a finished run")
        code = report(work, None, args.only)
        if args.record_equivalents:
            missing = sorted(equivalent() - set(code))
            if missing:
                sys.exit(f"not mutants of this run (fix benchmarks/equivalent_mutants.txt): {', '.join(missing)}")
            ran = ran_modules(work)  # only what this run covered was read: keep the other records
            recorded = json.loads(LINES.read_text()) if LINES.exists() else {}
            new = {n: code[n] if module_of(n) in ran else recorded.get(n) for n in sorted(equivalent())}
            unread = [n for n, c in new.items() if c is None]
            if unread:
                sys.exit(f"never recorded and outside this run's modules (run them too): {', '.join(unread)}")
            LINES.write_text(json.dumps(new, indent=1, ensure_ascii=False) + "\n")
            print(f"# wrote {LINES.relative_to(ROOT)}: {sum(module_of(n) in ran for n in new)} of {len(new)} "
                  "mutants from this run's modules")
        return
    work = Path(args.workdir or tempfile.mkdtemp(prefix="mutation-"))
    if work.exists():
        shutil.rmtree(work)
    files = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--cached", "--others", "--exclude-standard"],
                           capture_output=True, text=True, check=True).stdout.split()
    for f in files:
        if (ROOT / f).is_file():
            (work / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, work / f)
    mutmut = Path(sys.executable).with_name("mutmut")
    # mutmut forks a child per mutant from a process that has imported torch: torch's thread pools do
    # not survive a fork (the child hangs until mutmut's timeout), so every process runs one thread.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "GUPTA_TEST_THREADS": "1"}
    t0 = time.perf_counter()
    names = [f"{o}.*" for o in args.only] if args.only else []  # mutmut's mutant names: module.x_function__mutmut_N
    out = subprocess.run([str(mutmut), "run", "--max-children", args.max_children, *names], cwd=work,
                         capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if out.returncode != 0:  # e.g. a test fails on the unmutated code: no mutant result means anything
        sys.exit(f"mutmut failed (exit {out.returncode}); no score:\n{(out.stdout + out.stderr)[-3000:]}")
    report(work, wall, args.only)


def report(work: Path, wall: float | None, only: list[str] | None) -> dict[str, str]:
    """Print the score of the run in ``work``; returns each mutant's changed code (mutated_code)."""
    recorded = json.loads(LINES.read_text()) if LINES.exists() else {}
    changes = mutated_code(work)
    ran = ran_modules(work)
    skip, stale = set(), []
    for name in sorted(equivalent()):
        if module_of(name) not in ran or (only and not any(name.startswith(o + ".") for o in only)):
            continue
        if name in changes and recorded.get(name) == changes[name]:
            skip.add(name)
        else:
            stem = name.rpartition("__mutmut_")[0]
            moved = [n for n, c in changes.items() if n.startswith(stem + "__mutmut_") and c == recorded.get(name)]
            stale.append(f"{name}: now `{changes.get(name, 'no such mutant')}`, read as `{recorded.get(name, 'never recorded')}`"
                         + (f" (that code is now {moved[0]})" if moved else ""))
    per = collections.defaultdict(lambda: {"killed": 0, "total": 0, "survivors": []})
    not_run = 0
    for meta in sorted((work / "mutants").rglob("*.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        for name, code in codes.items():
            if name in skip:
                continue
            module = module_of(name)
            if only and not any(module.startswith(o) for o in only):
                continue
            if code is None:  # outside the run's --only, or the run stopped before it
                not_run += 1
                continue
            row = per[module]
            row["total"] += 1
            if code in KILLED:
                row["killed"] += 1
            else:
                row["survivors"].append(f"{name} ({'no test reaches it' if code == 33 else code})")
    print(f"# mutmut in {work}: {'' if wall is None else f'{wall:.0f} s; '}equivalent mutants excluded: {len(skip)}")
    if not_run:
        print(f"# {not_run} mutants were not run (outside the run's --only, or it stopped) and are left out")
    for line in stale:
        print(f"# stale equivalent, counted like any other mutant (read it again, then --record-equivalents): {line}")
    for module, row in sorted(per.items()):
        print(f"{module}: {row['killed']}/{row['total']} killed ({100 * row['killed'] / max(row['total'], 1):.1f}%)")
        for s in row["survivors"]:
            print(f"    survived: {s}")
    killed, total = sum(r["killed"] for r in per.values()), sum(r["total"] for r in per.values())
    print(f"mutation score: {100 * killed / max(total, 1):.1f}%")
    return changes


if __name__ == "__main__":
    main()
