"""The derived results (``gupta_stdp.derived``) on small hand-written examples frames, each code
worked out by hand: which attacks and eps the worst case takes, where the subset worst case is
reported and on which points, what a diverged member (NO_RESULT) poisons, the coverage check and
its messages, and the tidy table's columns. Pure NumPy / pandas: no attack runs."""

import warnings

import numpy as np
import pandas as pd
import pytest

from gupta_stdp import derived
from gupta_stdp.examples import BROKEN as B
from gupta_stdp.examples import NO_RESULT as X
from gupta_stdp.examples import OUTSIDE as O
from gupta_stdp.examples import SKIPPED as K
from gupta_stdp.examples import SURVIVED as S

OWN = ("fgsm", "fgsm_margin", "noise", "pgd")


def frame(rows, method="bp", seed=0):
    """An examples frame of one model: rows are (attack, eps_255, source or None, codes)."""
    return pd.DataFrame([{"method": method, "seed": seed, "attack": a, "eps_255": float(e), "source": src or method,
                          "correct": np.array(c, dtype=np.int8)} for a, e, src, c in rows], columns=derived.COLUMNS)


def own_suite(eps, n, **broken):
    """The four own-suite rows at ``eps`` on ``n`` points, all SURVIVED but the BROKEN indices given
    per attack (e.g. pgd=[1])."""
    out = []
    for a in OWN:
        c = [S] * n
        for i in broken.get(a, []):
            c[i] = B
        out.append((a, eps, None, c))
    return out


def derived_rows(ex):
    """{(attack, eps_255, source): codes} of the derived rows of with_derived (one model)."""
    d = derived.with_derived(ex).iloc[len(ex):]
    return {(r.attack, r.eps_255, r.source): r.correct for r in d.itertuples()}


def cascade_frame():
    """9 points, own suite at 4 and 5, the subset cascade at 2, 4 and 5, no transfer attack:
    clean breaks 7; fgsm@4 and @5 break 0, pgd@4 and @5 1, pgd@5 also 2; pgd_2x@4 breaks 3 (5
    outside); square@4 breaks 4 (6 outside); square@5 breaks 4, 5 and 8 (6 outside); pgd_2x@5 and
    square@2 break nothing. A SKIPPED point is one an attack it follows broke."""
    return frame([("clean", 0, None, [S, S, S, S, S, S, S, B, S]),
                  *own_suite(4, 9, fgsm=[0, 7], pgd=[1, 7], fgsm_margin=[7], noise=[7]),
                  *own_suite(5, 9, fgsm=[0, 7], pgd=[1, 2, 7], fgsm_margin=[7], noise=[7]),
                  ("square", 2, None, [S, S, S, S, S, S, O, K, S]),
                  ("pgd_2x", 4, None, [S, K, S, B, S, O, S, K, S]),
                  ("square", 4, None, [K, K, S, S, B, S, O, K, S]),
                  ("pgd_2x", 5, None, [S, K, K, S, S, O, S, K, S]),
                  ("square", 5, None, [K, K, K, S, B, B, O, K, B])])


def test_worst_and_worst_subset_take_exactly_the_attacks_and_eps_they_should():
    """worst@e: clean and the own suite at e or below, never the subset cascade (square@4 breaks 4,
    which worst@4 must not count) and never a larger eps (pgd@5 breaks 2). worst_subset@e: worst at
    the largest own eps <= e (not pgd@5's break of 2 at e = 4) plus the subset attacks at eps <= e
    (not square@5's break of 8), on the points every one of them saw (5: outside pgd_2x; 6: outside
    square), reported at each square eps where some own eps lies at or below (none below 2: skipped,
    4 and 5 still reported). Codes are int8, the result's index unique.
    Mutations: worst taking other eps (``and`` for ``or``, tolerance 1.000000001) or subset attacks
    (``or`` for ``and`` in the own/transfer test); worst_subset using the worst case of a larger eps
    or none at its own eps, a subset attack above e, ``break`` for ``continue`` at e = 2, ``|=`` / ``=``
    / ``==`` for the point set, OUTSIDE on the wrong points or none, int8 lost, the index repeated."""
    ex = cascade_frame()
    out = derived.with_derived(ex)
    assert out.index.is_unique and len(out) == len(ex) + 4
    got = derived_rows(ex)
    assert all(c.dtype == np.int8 for c in got.values())
    expected = {("worst", 4.0, "bp"): [B, B, S, S, S, S, S, B, S],
                ("worst", 5.0, "bp"): [B, B, B, S, S, S, S, B, S],
                ("worst_subset", 4.0, "bp"): [B, B, S, B, B, O, O, B, S],
                ("worst_subset", 5.0, "bp"): [B, B, B, B, B, O, O, B, B]}
    assert set(got) == set(expected)
    for k, v in expected.items():
        np.testing.assert_array_equal(got[k], v, err_msg=str(k))


def test_each_surrogate_gets_its_own_worst_case_and_pgd_or_transfer():
    """Two surrogates (bp, fa) of one stdp model: worst and worst_subset per surrogate take that
    surrogate's transfer attacks only; pgd_or_transfer survives where both PGD and the transfer do.
    Mutations: ``|`` for ``&`` in pgd_or_transfer; worst_subset taking every attack at eps <= e
    (``or`` for ``and``: fa's transfer break lands in bp's worst_subset)."""
    ex = frame([("clean", 0, None, [S, S, S, S, S, B]),
                *own_suite(4, 6, pgd=[0, 5], fgsm=[5], fgsm_margin=[5], noise=[5]),
                ("transfer_fgsm", 4, "bp", [S, S, S, S, S, B]), ("transfer_pgd", 4, "bp", [S, B, S, S, S, B]),
                ("transfer_fgsm", 4, "fa", [S, S, S, S, S, B]), ("transfer_pgd", 4, "fa", [S, S, B, S, S, B]),
                ("square", 4, None, [K, S, S, B, O, K])], method="stdp")
    got = derived_rows(ex)
    expected = {("worst", 4.0, "bp"): [B, B, S, S, S, B], ("worst", 4.0, "fa"): [B, S, B, S, S, B],
                ("pgd_or_transfer", 4.0, "bp"): [B, B, S, S, S, B], ("pgd_or_transfer", 4.0, "fa"): [B, S, B, S, S, B],
                ("worst_subset", 4.0, "bp"): [B, B, S, B, O, B], ("worst_subset", 4.0, "fa"): [B, S, B, B, O, B]}
    assert set(got) == set(expected)
    for k, v in expected.items():
        np.testing.assert_array_equal(got[k], v, err_msg=str(k))


@pytest.mark.parametrize("subset, report_at", [
    ([("pgd_2x", 4, None, [S, S, S, K])], [4.0]),  # no square: reported where pgd_2x ran
    ([("pgd_2x", 4, None, [S, S, S, K]), ("pgd_2x", 5, None, [S, S, S, K]), ("square", 4, None, [S, S, S, K])],
     [4.0]),  # with a square: only where the square ran
])
def test_worst_subset_is_reported_at_the_square_eps_else_at_the_subset_eps(subset, report_at):
    """Mutations: the subset eps taken from the other attacks (``not in``), the square's eps from
    every other attack (``!=``) or from none (a misspelt name), ``and`` for ``or``: each reports
    worst_subset at a different set of eps."""
    ex = frame([("clean", 0, None, [S, S, S, B]), *own_suite(4, 4, **{a: [3] for a in OWN}),
                *own_suite(5, 4, **{a: [3] for a in OWN}), *subset])
    got = sorted(e for (a, e, _), _c in derived_rows(ex).items() if a == "worst_subset")
    assert got == report_at


def test_eps_within_the_1e_9_tolerance_count_as_one_eps_bound_included():
    """Keys are floats: an eps at most 1e-9 away is the same eps, the bound included. The own suite
    and pgd_2x at 4 + 1e-9 and the square at 4: the square may skip a point that pgd@(4 + 1e-9)
    broke, worst_subset is reported at 4 and counts pgd_2x's break; a transfer at 1e-9 counts in
    worst at 0. Mutations: ``<`` for ``<=`` in the coverage check's, the worst_subset's own-eps and
    subset-eps bounds, ``>=`` for ``>`` in worst's eps test."""
    e = 4.0 + 1e-9
    ex = frame([("clean", 0, None, [S, S, S, S]), *own_suite(e, 4, pgd=[0]),
                ("pgd_2x", e, None, [K, B, S, S]), ("square", 4, None, [K, S, S, S])])
    derived.check_coverage(ex)
    np.testing.assert_array_equal(derived_rows(ex)[("worst_subset", 4.0, "bp")], [B, B, S, S])
    ex = frame([("clean", 0, None, [S, S, S]), *own_suite(0, 3),
                ("transfer_fgsm", 1e-9, "fa", [S, S, S]), ("transfer_pgd", 1e-9, "fa", [S, B, S])])
    np.testing.assert_array_equal(derived_rows(ex)[("worst", 0.0, "fa")], [S, B, S])


@pytest.mark.parametrize("where, poisoned", [
    (("clean", 0), {"worst@4", "worst@5", "worst_subset@4"}),  # pgd_or_transfer does not read clean
    (("fgsm", 4), {"worst@4", "worst@5", "worst_subset@4"}),
    (("pgd", 4), {"worst@4", "worst@5", "worst_subset@4", "pgd_or_transfer@4"}),
    (("square", 4), {"worst_subset@4"}),
])
def test_a_no_result_poisons_exactly_what_is_derived_from_it(where, poisoned):
    """One row of NO_RESULT (a diverged member or surrogate): every derived row that reads it, at
    its eps and every larger one, is NO_RESULT on every point, the others untouched. The NO_RESULT
    row comes first among its eps, so a later clean row must not clear it.
    Mutations: the clean row's NO_RESULT ignored (``bool(None)``), ``=`` for ``|=`` in worst's
    validity (fgsm@4's NO_RESULT cleared by the next row), the subset attacks' NO_RESULT ignored."""
    rows = [("clean", 0, None, [S, S, S, B])]
    for e in (4, 5):
        rows += own_suite(e, 4, **{a: [3] for a in OWN})
        rows += [("transfer_fgsm", e, "fa", [S, S, S, B]), ("transfer_pgd", e, "fa", [S, B, S, B])]
    rows.append(("square", 4, None, [S, S, B, K]))
    rows = [(a, e, src, [X] * 4 if (a, e) == where else c) for a, e, src, c in rows]
    got = derived_rows(frame(rows))
    assert len(got) == 5
    for (attack, eps, _), c in got.items():
        name = f"{attack}@{eps:g}"
        assert (c == X).all() if name in poisoned else not (c == X).any(), name


def test_coverage_counts_an_earlier_attack_of_the_same_model_at_that_eps_or_below_only():
    """A subset attack may skip a point only where an attack it follows (EARLIER) of the model
    itself broke it at its eps or below: pgd@4 for square@4 and pgd_2x@4 is enough (and needs no
    clean error); pgd@5, a transfer's break, or fgsm for pgd_2x is not, and the message names the
    model, attack, eps and the attacks that should have broken the point.
    Mutations of that test: ``not in`` / ``!=`` / tolerance ``- 1e-9`` / ``&`` for ``|`` (the valid
    file refused), ``or`` for either ``and`` or tolerance 1.000000001 (a bad file accepted)."""
    base = [("clean", 0, None, [S, S, S]), *own_suite(4, 3, pgd=[0]), *own_suite(5, 3, pgd=[0, 1]),
            ("transfer_fgsm", 4, "fa", [S, S, S]), ("transfer_pgd", 4, "fa", [S, S, B])]
    derived.check_coverage(frame(base + [("square", 4, None, [K, S, S]), ("pgd_2x", 4, None, [K, S, S])]))
    bad = {"pgd@5": ("square", 4, None, [K, K, S]), "transfer": ("square", 4, None, [K, S, K])}
    for row in bad.values():
        with pytest.raises(derived.CoverageError, match=r"^bp seed 0: square at 4/255 skipped points that no earlier "
                           r"attack \(fgsm, fgsm_margin, noise, pgd\) broke"):
            derived.check_coverage(frame(base + [row]))
    fgsm_only = frame(base[:1] + own_suite(4, 3, fgsm=[1]) + [("pgd_2x", 4, None, [S, K, S])], method="fa", seed=3)
    with pytest.raises(derived.CoverageError, match=r"^fa seed 3: pgd_2x at 4/255 skipped points that no earlier "
                       r"attack \(pgd\) broke"):
        derived.check_coverage(fgsm_only)


def test_coverage_still_checks_the_rows_after_a_no_result_row():
    """A NO_RESULT row is exempt from the check, the rows after it are not: a full-set attack that
    missed a point after a diverged one is refused, naming it. Mutation: ``break`` for ``continue``
    (nothing after the first NO_RESULT row is checked); the location dropped from the message."""
    ex = frame([("clean", 0, None, [S, S]), ("fgsm", 8, None, [X, X]), ("pgd", 8, None, [S, O])], method="bp", seed=2)
    with pytest.raises(derived.CoverageError, match=r"^bp seed 2: pgd at 8/255 did not see every test point, but it "
                       "is a full-set attack"):
        derived.check_coverage(ex)


def test_derived_rows_do_not_depend_on_the_order_of_the_input_rows():
    """Models are taken in (method, seed) order whatever the file's row order, so the derived rows
    (and what reads them in order, e.g. the McNemar table) are the same for a shuffled file.
    Mutation: ``groupby(sort=False)`` / ``sort=None`` (models in order of appearance)."""
    ex = pd.concat([cascade_frame().assign(seed=s, method=m) for m, s in (("stdp", 1), ("bp", 1), ("stdp", 0))],
                   ignore_index=True)
    ex["source"] = ex.method
    a = derived.with_derived(ex).iloc[len(ex):]
    b = derived.with_derived(ex.iloc[::-1].reset_index(drop=True)).iloc[len(ex):]
    assert list(zip(a.method, a.seed)) == sorted(zip(a.method, a.seed))
    assert list(zip(a.method, a.seed, a.attack, a.eps_255)) == list(zip(b.method, b.seed, b.attack, b.eps_255))
    assert all(np.array_equal(u, v) for u, v in zip(a.correct, b.correct))


def test_accuracy_of_codes():
    """Share surviving among the points seen (SKIPPED counts as broken, OUTSIDE not at all); NaN
    and 0 points for NO_RESULT; NaN and 0 points, without a warning, where no point was seen.
    Mutations: 1 point for NO_RESULT; the mean of an empty selection taken (a RuntimeWarning)."""
    assert derived.accuracy(np.array([S, S, B, K, O], dtype=np.int8)) == (0.5, 4)
    acc, n = derived.accuracy(np.array([S, X, O], dtype=np.int8))
    assert np.isnan(acc) and n == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        acc, n = derived.accuracy(np.array([O, O], dtype=np.int8))
    assert np.isnan(acc) and n == 0


def test_attack_table_columns_points_and_counts():
    """The tidy table: exactly TABLE_COLUMNS (no stray index column), eps in [0, 1] units,
    ``points`` "subset" for worst_subset and "all" otherwise, n_points the points each row saw, no
    subset-cascade row; an examples frame without rows gives an empty table with those columns.
    Mutations: a misspelt n_points or points key or value, ``and False`` in the points test, the
    column list dropped (the empty table loses its columns), ``drop=False`` / ``None`` in
    reset_index."""
    table = derived.attack_table(cascade_frame(), "mnist", "0v1")
    assert list(table.columns) == derived.TABLE_COLUMNS and table.index.equals(pd.RangeIndex(len(table)))
    assert not table.attack.isin(derived.SUBSET_CASCADE).any()
    got = {(r.attack, round(r.eps * 255, 9)): (r.points, r.n_points, r.accuracy) for r in table.itertuples()}
    assert got[("worst_subset", 4.0)] == ("subset", 7, 2 / 7)
    assert got[("worst", 5.0)] == ("all", 9, 5 / 9)
    assert got[("clean", 0.0)] == ("all", 9, 8 / 9)
    assert set(table.points[table.attack != "worst_subset"]) == {"all"}
    empty = derived.attack_table(frame([]), "mnist", "0v1")
    assert empty.empty and list(empty.columns) == derived.TABLE_COLUMNS
