"""benchmarks/mutation.py's bookkeeping on a hand-made mutmut folder: the code a mutant changes, and an
equivalent entry that is excluded only while its mutant still changes the code it was read as."""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import mutation  # noqa: E402

SOURCE = '''
def x_f__mutmut_orig(a):
    """Doc."""
    return a + 1


def x_f__mutmut_1(a):
    """Doc."""
    return a - 1


def x_f__mutmut_2(a):
    """Doc."""
    return a + 2
'''


def _run(tmp_path, codes):
    (tmp_path / "mutants/src/pkg").mkdir(parents=True)
    (tmp_path / "mutants/src/pkg/mod.py").write_text(SOURCE)
    (tmp_path / "mutants/src/pkg/mod.py.meta").write_text(json.dumps({"exit_code_by_key": codes}))
    return tmp_path


def test_the_changed_code_of_each_mutant(tmp_path):
    """Only the lines a mutant changes, named by module and function. Mutation: the orig's lines not
    subtracted (the docstring and def would appear) or the module misnamed; this test fails."""
    assert mutation.mutated_code(_run(tmp_path, {})) == {"pkg.mod.x_f__mutmut_1": "return a - 1",
                                                         "pkg.mod.x_f__mutmut_2": "return a + 2"}


def test_a_stale_equivalent_is_counted_and_names_where_its_code_went(tmp_path, monkeypatch, capsys):
    """mutant 1 survived and is listed as equivalent. Read as `return a - 1`, it is left out: 1/1
    killed. Read as `return a + 2` (the function was edited and renumbered since), it is stale, counted
    as a survivor (1/2), and the line names mutant 2, which now holds that code. Mutation: excluding
    listed names without comparing their code; this test fails."""
    work = _run(tmp_path, {"pkg.mod.x_f__mutmut_1": 0, "pkg.mod.x_f__mutmut_2": 1})
    monkeypatch.setattr(mutation, "equivalent", lambda: {"pkg.mod.x_f__mutmut_1"})
    lines = tmp_path / "lines.json"
    monkeypatch.setattr(mutation, "LINES", lines)
    lines.write_text(json.dumps({"pkg.mod.x_f__mutmut_1": "return a - 1"}))
    mutation.report(work, None, None)
    out = capsys.readouterr().out
    assert "excluded: 1" in out and "pkg.mod: 1/1 killed" in out and "stale equivalent" not in out
    lines.write_text(json.dumps({"pkg.mod.x_f__mutmut_1": "return a + 2"}))
    mutation.report(work, None, None)
    out = capsys.readouterr().out
    assert "pkg.mod: 1/2 killed" in out and "survived: pkg.mod.x_f__mutmut_1" in out
    assert "stale equivalent" in out and "(that code is now pkg.mod.x_f__mutmut_2)" in out
