"""The verdict rules of gupta_stdp.claims.verdicts on hand-made evidence, rows and curves: which
p-values Holm's correction sees, the strict levels, what a missing measure does, the words of the
deciding numbers, and C4's curve numbers on a small curve whose values are known by hand."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from gupta_stdp import stats
from gupta_stdp.claims import verdicts as V

NONE = stats.evidence([0.1])                                  # one seed: test "none"
FAR_BELOW = stats.evidence([-0.2, -0.21, -0.19, -0.22, -0.18])  # t: clearly below -0.05
MIXED = stats.evidence([0.01, 0.03, -0.02, 0.02, 0.0])          # t: nothing shown at 0.05


def test_shown_p_asks_for_its_own_side():
    """Shown.p is the one-sided p of its side and threshold. Mutation: the side not passed (None reads
    as "below"); this test fails."""
    ev = {"d": MIXED}
    above, below = V.Shown("d", "above", 0.0).p(ev), V.Shown("d", "below", 0.0).p(ev)
    assert above == MIXED.p("above", 0.0) and below == MIXED.p("below", 0.0)
    assert above + below == pytest.approx(1.0) and above != pytest.approx(below)


def test_shown_short_names_its_side():
    """The short form names the side the condition tests. Mutation: always "below"; this test fails."""
    assert V.Shown("d", "above", -0.05).short() == "difference above -0.05"
    assert V.Shown("early", "below", 0.0).short() == "early gap below 0"


def test_a_measure_without_a_test_leaves_the_pair_open_even_if_another_is_shown_against():
    """early-then-late with no early evidence (one seed) and a final difference far below -margin: the
    pair is inconclusive, with or without Holm's rejections. Mutation: "none" renamed in decide()
    (the late condition alone makes it "not supported"); this test fails."""
    rule = V.pair_rules(0.05)["early_then_late"]
    ev = {"early": NONE, "late": FAR_BELOW}
    assert rule.not_supported[1].holds(ev)  # the late condition alone is shown against
    assert rule.decide(ev) == V.INCONCLUSIVE
    assert rule.decide(ev, rejected=(False, True)) == V.INCONCLUSIVE


def test_an_inconclusive_verdict_rests_on_no_side():
    """rests_on: a win rests on the method's number, a loss on BP's, an open verdict on nothing.
    Mutation: `or True` makes "inconclusive" rest on the not-supported conditions; this test fails."""
    rule = V.pair_rules(0.05)["non_inferior"]
    assert rule.rests_on(V.SUPPORTED) == {"method"} and rule.rests_on(V.NOT_SUPPORTED) == {"bp"}
    assert rule.rests_on(V.INCONCLUSIVE) == set()


def test_pair_rules_are_named_by_their_keys():
    """Each rule carries the name it is registered under. Mutations: the names None / renamed; this
    test fails."""
    rules = V.pair_rules(0.05)
    assert {k: r.name for k, r in rules.items()} == {k: k for k in ("non_inferior", "superior", "early_then_late")}


def test_holm_leaves_out_pairs_with_a_missing_measure():
    """Two early-then-late pairs; pair 0 lacks early evidence. Its tests are not run (no flags, p NaN,
    no warning), and Holm's family is pair 1's two tests only: its adjusted p are Holm's on those two,
    by hand. Mutations: `or True` / "none" renamed in the filter (pair 0's late test, p ~ 1e-5, is
    counted and rejected); `or True` on the all-NaN minimum (numpy warns); this test fails."""
    rule = V.pair_rules(0.05)["early_then_late"]
    e1 = stats.evidence([-0.01, 0.02, -0.03, 0.0, -0.02])
    evs = [{"early": NONE, "late": FAR_BELOW}, {"early": e1, "late": MIXED}]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = V.holm_rejections(rule, evs)
    assert out[0][0] == (False, False) and math.isnan(out[0][1])
    p = sorted([e1.p("below", 0.0), MIXED.p("below", -0.05)])
    by_hand = min(1.0, 2 * p[0])
    assert out[1][0] == (False, False) and out[1][1] == pytest.approx(by_hand, rel=1e-12)
    assert V.holm_rejections(rule, []) == []


def test_holm_flags_are_per_pair_and_strict_at_alpha1():
    """Three one-test pairs: each gets one flag and its own adjusted p (Holm by hand: p x 3, 2, 1 in
    sorted order, made monotone). A sign test whose adjusted p equals alpha1 exactly (6 equal
    differences, m = 1, confidence 1 - 2/64: p = 1/64 = alpha1) is not rejected; 7 are. Mutations:
    slicing `(i + 2) * k` (flags of the next pair leak in); `<=` for `<`; `and False` on the minimum
    (p always NaN); this test fails."""
    rule = V.pair_rules(0.05)["non_inferior"]
    evs = [{"d": FAR_BELOW}, {"d": MIXED}, {"d": stats.evidence([-0.06, -0.07, -0.05, -0.08, -0.065])}]
    out = V.holm_rejections(rule, evs)
    p = [e["d"].p("below", -0.05) for e in evs]
    order = np.argsort(p)
    adj, run = [0.0] * 3, 0.0
    for rank, i in enumerate(order):
        run = max(run, min(1.0, (3 - rank) * p[i]))
        adj[i] = run
    assert [len(f) for f, _ in out] == [1, 1, 1]
    assert [q for _, q in out] == pytest.approx(adj, rel=1e-12)
    assert [f[0] for f, _ in out] == [a < 0.025 for a in adj] and out[0][0] == (True,)
    conf = 1 - 2 / 64
    six = stats.evidence([-0.1] * 6, conf)
    assert six.alpha1 == 1 / 64 and V.holm_rejections(rule, [{"d": six}]) == [((False,), 1 / 64)]
    assert V.holm_rejections(rule, [{"d": stats.evidence([-0.1] * 7, conf)}]) == [((True,), 1 / 128)]


def test_shown_text_counts_the_seeds_a_sign_test_needs_strictly():
    """"With fewer than n seeds it never can": n is the least n with 0.5^n strictly below alpha1 (6 at
    95%; 7 where alpha1 = 1/64 exactly, since 6 equal differences give p = alpha1, not below).
    Mutation: `<=` for `<`; this test fails."""
    assert "fewer than 6 seeds" in V.shown_text(0.95, "t", False)
    text = V.shown_text(1 - 2 / 64, "bca", True)
    assert "fewer than 7 seeds" in text and "BCa bootstrap interval" in text and "Holm's correction" in text


def test_every_pair_text_without_holm_does_not_mention_it():
    """EveryPair(holm=False) says nothing of Holm and nothing else in its place. Mutations: the Holm
    clause always (`or True`), or "XXXX" for the empty text; this test fails."""
    text = V.EveryPair(holm=False).text()
    assert "Holm" not in text and "fails if any pair is not supported, and is inconclusive" in text
    assert "after Holm's correction over the pairs, and" in V.EveryPair().text()


# ------------------------------------------------------------------ the deciding numbers, in words
def _row(dataset, pair, verdict, ci=(-0.02, 0.04), p_holm=math.nan, against="", mean=(0.95, 0.97), test="t"):
    return {"dataset": dataset, "pair": pair, "verdict": verdict, "ci_low": ci[0], "ci_high": ci[1], "test": test,
            "p_holm": p_holm, "against": against, "method_mean": mean[0], "bp_mean": mean[1],
            "mean_diff": mean[0] - mean[1]}


SIGN_ROW = {"ci": (math.nan, math.nan), "test": "sign"}


def test_deciding_without_pairs_and_for_a_majority():
    """No rows: "no pairs ran" (both forms). A majority claim: wins, losses and the wins a majority
    needs (5 pairs: 3), the same in the short form. Mutations: the message's case; "majority"
    renamed in either function or `!=` for `==`; wins / losses / need None or miscounted (`!=`,
    `// 2 - 1`, `/ 2 + 1`, `// 3 + 1`, `// 2 + 2`); the short form passing None for the combine,
    the rows or the method; this test fails."""
    assert V.deciding("non_inferior", "every_pair", [], 0.05, "stdp") == "no pairs ran"
    assert V.deciding_short("majority", [], 0.05, "stdp") == "no pairs ran"
    rows = [_row("mnist", f"0v{k}", v) for k, v in
            enumerate([V.SUPPORTED, V.SUPPORTED, V.NOT_SUPPORTED, V.INCONCLUSIVE, V.INCONCLUSIVE], 1)]
    long = V.deciding("superior", "majority", rows, 0.05, "stdp")
    assert long == "stdp wins 2 of 5 pairs and loses 1 (a majority needs 3 wins)"
    assert V.deciding_short("majority", rows, 0.05, "stdp") == long
    assert V.deciding("superior", "majority", rows[:4], 0.05, "fa").endswith("(a majority needs 3 wins)")


def test_deciding_names_the_pairs_against_and_the_clearest():
    """Every-pair claim with two pairs not supported (one without a Holm p), one supported, one open:
    the long form lists both against, each with its reason and Holm p, joined by "; "; the short form
    counts them and names the one with the smallest finite Holm p. Mutations: "; " altered; against
    None or `!=`; the clearest chosen without (`and False`) or with (`or True`) the NaN guard; the
    short form sending every-pair rows to the long one; this test fails."""
    rows = [_row("iris", "0v1", V.NOT_SUPPORTED, ci=(-0.2, -0.1), against="d below -0.05", mean=(0.80, 0.95)),
            _row("mnist", "0v2", V.SUPPORTED),
            _row("mnist", "0v3", V.NOT_SUPPORTED, ci=(-0.3, -0.1), p_holm=0.0031, against="d below -0.05",
                 mean=(0.70, 0.90)),
            _row("mnist", "0v4", V.INCONCLUSIVE)]
    long = V.deciding("non_inferior", "every_pair", rows, 0.05, "stdp")
    assert long == ("2 of 4 pairs not supported after Holm's correction: "
                    "iris 0v1: stdp 0.800 vs BP 0.950, d -0.150, CI [-0.200, -0.100] (d below -0.05, Holm p nan); "
                    "mnist 0v3: stdp 0.700 vs BP 0.900, d -0.200, CI [-0.300, -0.100] (d below -0.05, Holm p 0.0031)")
    short = V.deciding_short("every_pair", rows, 0.05, "stdp")
    assert short == "2 of 4 pairs not supported after Holm (clearest: mnist 0v3, d -0.200, Holm p 0.0031)"


def test_deciding_lists_the_undecided_pairs_with_their_interval_or_test():
    """Every-pair claim, nothing against, two pairs open (one with a t-interval, one decided by the
    sign test: no interval, so its test is named) and one supported. Mutations: open_ None or `!=`;
    "; " / ", " / " " altered; the method's name dropped; the CI printed for a pair without one
    (`or True`) or never (`and False`); the short form's guard inverted; this test fails."""
    rows = [_row("mnist", "0v1", V.INCONCLUSIVE, mean=(0.96, 0.97)),
            _row("mnist", "0v2", V.SUPPORTED),
            _row("iris", "1v2", V.INCONCLUSIVE, mean=(1.0, 0.95), **SIGN_ROW)]
    long = V.deciding("non_inferior", "every_pair", rows, 0.05, "stdp")
    assert long == ("2 of 3 pairs undecided: mnist 0v1: stdp 0.960 vs BP 0.970, d -0.010, CI [-0.020, +0.040]; "
                    "iris 1v2: stdp 1.000 vs BP 0.950, d +0.050, sign test")
    assert V.deciding_short("every_pair", rows, 0.05, "stdp") == "2 of 3 pairs undecided (mnist 0v1, iris 1v2)"


def test_deciding_names_the_closest_pair_when_every_pair_is_shown():
    """Every pair supported; the first has no interval (sign test): the closest is the one with the
    lowest finite CI lower bound, in both forms. Mutations: the NaN guard dropped (`and False`: the
    first row; `or True`: NaN never loses a comparison, the first row again); this test fails."""
    rows = [_row("iris", "0v1", V.SUPPORTED, **SIGN_ROW),
            _row("mnist", "0v2", V.SUPPORTED, ci=(0.01, 0.05)),
            _row("mnist", "0v3", V.SUPPORTED, ci=(-0.02, 0.03), mean=(0.97, 0.98))]
    long = V.deciding("non_inferior", "every_pair", rows, 0.05, "stdp")
    assert long == ("every pair shown above the margin -0.05; the closest: "
                    "mnist 0v3: stdp 0.970 vs BP 0.980, d -0.010, CI [-0.020, +0.030]")
    assert V.deciding_short("every_pair", rows, 0.05, "stdp") == \
        "every pair above -0.05 (closest: mnist 0v3, CI lower bound -0.020)"


# ------------------------------------------------------------------ C4 on a hand-made curve
def _curve(dT, rule, eq6, eq5=None, eq3=None):
    return pd.DataFrame({"dT": dT, "rule": rule, "eq6": eq6, "eq5": eq5 if eq5 is not None else [0.0] * len(dT),
                         "eq3": eq3 if eq3 is not None else rule})


def test_curve_numbers_by_hand():
    """Peaks over dT > 0 and dT < 0 (dT = 0 in neither), sign agreement and deviations over dT != 0,
    relative to the largest |eq6| there (2.0). The point at dT = 0 is extreme in eq6 and eq5 and far
    from the rule, so any half that takes it in changes a number. Mutations: `>=` / `<=` / `< 1` in
    the halves, `!= 1` for dT != 0, key names altered, `+` for `-` in a depression peak, `* peak`
    for `/ peak`; this test fails."""
    c = _curve(dT=[-1.0, -0.5, 0.0, 0.5, 1.0, 2.0],
               rule=[-0.5, -0.8, -0.3, 1.8, 1.6, 0.6],
               eq6=[-0.6, -0.9, -1.5, 2.0, 1.5, 0.7],
               eq5=[0.7, 1.1, 0.4, -0.9, -0.6, -0.1],
               eq3=[-0.5, -0.8, -0.3, 1.8, 1.6, 0.5])
    n = V.CurveRule().numbers(c)
    expected = {"rule_peak_pos": 1.8, "rule_peak_neg": 0.8, "eq6_peak_pos": 2.0, "eq6_peak_neg": 0.9,
                "eq5_peak_pos": -0.1, "eq5_peak_neg": -0.7, "sign_agree": 5, "n_points": 5,
                "eq3_deviation": 0.05, "max_deviation": 0.1}
    assert n.keys() == expected.keys()
    assert n == pytest.approx(expected, rel=1e-12)
    assert V.CurveRule().decide(c) == V.NOT_SUPPORTED  # eq3 deviates by 5% of the peak


def test_curve_decide_edges():
    """Supported needs: deviation from eq. 3 at most the tolerance (equal is enough), eq. 6's sign at
    every dT, and a potentiation peak strictly above a depression peak that is strictly positive.
    Mutations: `<` for `<=` at the tolerance; `>=` for `>` between the peaks; `>= 0` for `> 0` (a rule
    with no depression at all passes); this test fails."""
    asym = _curve([-1.0, 1.0], [-1.0, 1.2], [-1.0, 1.2], eq3=[-1.0, 1.2 + 1e-6])
    dev = V.CurveRule().numbers(asym)["eq3_deviation"]
    assert dev > 0
    assert V.CurveRule(tolerance=dev).decide(asym) == V.SUPPORTED
    assert V.CurveRule(tolerance=np.nextafter(dev, 0)).decide(asym) == V.NOT_SUPPORTED
    assert V.CurveRule().decide(_curve([-1.0, 1.0], [-1.0, 1.2], [-1.0, 1.2])) == V.SUPPORTED
    assert V.CurveRule().decide(_curve([-1.0, 1.0], [-1.0, 1.0], [-1.0, 1.0])) == V.NOT_SUPPORTED  # symmetric
    assert V.CurveRule().decide(_curve([-1.0, 1.0], [0.0, 1.0], [0.0, 1.0])) == V.NOT_SUPPORTED  # no depression
    assert V.CurveRule().decide(_curve([], [], [])) == V.INCONCLUSIVE
