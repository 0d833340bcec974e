"""Exact checks of gupta_stdp.stats against independent references (scipy.stats.t / bootstrap /
binomtest, Holm's procedure by hand) and at the edges the verdicts rest on: the small-n cases, the
strict inequalities of ``shows``, the tolerance ``SAME``, and the inversion of the BCa interval."""

import math
import warnings

import numpy as np
import pytest
from scipy import stats as sps

from gupta_stdp import stats

# 12 noisy differences: with n = 12 the bootstrap means are (nearly) all distinct, so the BCa bounds
# move continuously with the level (with 5 or 6 values the resampled means tie and the bounds jump).
V12 = np.random.default_rng(3).normal(0.03, 0.03, 12)
NB = 500  # resamples: small, so that each p() takes milliseconds


def _bca_bound(v, alpha1, side, n_boot=NB):
    iv = stats.interval(v, 1 - 2 * alpha1, "bca", n_boot)
    return iv.low if side == "above" else iv.high


def _excludes(v, alpha1, side, thr, n_boot=NB):
    b = _bca_bound(v, alpha1, side, n_boot)
    return b > thr if side == "above" else b < thr


def _scipy_bca(v, confidence, n_resamples, seed=0):
    res = sps.bootstrap((np.asarray(v, float),), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                        method="BCa", random_state=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def test_bca_p_is_the_smallest_level_at_which_the_bca_interval_excludes_the_threshold():
    """p(side, thr) for BCa evidence is the one-sided level alpha1 at which the (1 - 2 alpha1) BCa
    interval (same n_boot) first excludes thr, to the bisection's resolution (< 1e-9): excluded at p,
    not at p - 1e-9. Far on the shown side p is the bottom of the range (1e-6), far on the other 1.0.
    Mutations: `3 * alpha1` for `2 * alpha1` in the bound (p off by a factor 2/3); `/ 3` for `/ 2` in
    the bisection (stalls short of the jump); bound() or evidence() dropping n_boot (p of the
    10,000-resample interval, not of the one the evidence reports); `return 2.0` for 1.0."""
    ev = stats.evidence(V12, 0.95, "bca", NB)
    assert ev.test == "bca" and ev.n_boot == NB
    for side, thr in (("above", 0.0), ("below", 0.05)):
        p = ev.p(side, thr)
        assert 1e-6 < p < 0.5, (side, thr, p)
        assert _excludes(V12, p, side, thr) and not _excludes(V12, p - 1e-9, side, thr), (side, thr, p)
        assert ev.shows(side, thr) == (p < ev.alpha1)
    assert ev.p("above", -1.0) == 1e-6 and ev.p("below", 1.0) == 1e-6
    assert ev.p("below", -1.0) == 1.0 and ev.p("above", 1.0) == 1.0


def test_bca_p_searches_alpha1_only_up_to_just_below_one_half():
    """The search range of alpha1 ends at 0.5 - 1e-6 (a confidence level of 2e-6): a threshold equal to
    the BCa bound at that level is never excluded (p = 1.0); one a float step beyond it is, only there.
    Mutation: `0.5 + 1e-6` as the top (a negative confidence level, whose "interval" is inverted)
    excludes the first threshold and reports p ~ 0.5; this test fails."""
    ev = stats.evidence(V12, 0.95, "bca", NB)
    top = 0.5 - 1e-6
    low, high = _bca_bound(V12, top, "above"), _bca_bound(V12, top, "below")
    assert low < high  # at 2e-6 confidence the interval still has (tiny) width
    assert ev.p("above", low) == 1.0 and ev.p("below", high) == 1.0
    assert ev.p("above", np.nextafter(low, -1)) == top and ev.p("below", np.nextafter(high, 1)) == top


def test_bca_p_is_strict_where_the_bound_sits_on_the_threshold():
    """Five zeros and a one: resamples without the one have mean exactly 0, so the BCa lower bound is
    exactly 0.0 over a range of levels, and "above 0" is not shown there (strict, as in shows()).
    Mirrored for "below 1". Mutations: `>=` for `>` (or `<=` for `<`) in the inversion's test
    count a bound on the threshold as excluding it and report p = 1e-6; this test fails."""
    for v, side, thr in (([0, 0, 0, 0, 0, 1.0], "above", 0.0), ([1, 1, 1, 1, 1, 0.0], "below", 1.0)):
        ev = stats.evidence(v, 0.95, "bca", NB)
        assert _bca_bound(v, 1e-6, side) == thr and _bca_bound(v, 0.025, side) == thr
        assert not ev.shows(side, thr)
        p = ev.p(side, thr)
        assert 0.025 < p < 0.5 and _excludes(v, p, side, thr)


def test_bca_interval_is_scipys_with_the_documented_defaults():
    """The BCa interval is scipy.stats.bootstrap(method="BCa") with n_resamples = n_boot (default
    10,000) and a generator seeded with `seed` (default 0), at the requested level; evidence() passes
    n_boot through. Mutations: default n_boot 10001 (interval or evidence), seed 1, the level or
    n_resamples not passed to scipy, evidence() not passing n_boot; this test fails."""
    default = stats.interval(V12, method="bca")
    assert (default.low, default.high) == _scipy_bca(V12, 0.95, 10000)
    assert stats.evidence(V12, method="bca").interval == default
    iv = stats.interval(V12, 0.9, "bca", NB)
    assert (iv.low, iv.high) == _scipy_bca(V12, 0.9, NB)
    assert stats.evidence(V12, 0.9, "bca", NB).interval == iv
    assert stats.interval(V12, 0.9, "bca", NB, seed=7) != iv  # the seed is used


def test_interval_with_no_usable_value_is_all_nan():
    """No finite value: mean, sd and bounds are NaN (floats) and n = 0. Mutations: any field None, a
    field dropped, n = 1, or `n == 1` as the test for "empty"; this test fails."""
    for values in ([], [math.nan, math.inf, -math.inf]):
        iv = stats.interval(values)
        assert all(isinstance(x, float) and math.isnan(x) for x in (iv.mean, iv.sd, iv.low, iv.high))
        assert iv.n == 0 and type(iv.n) is int


def test_one_value_has_a_mean_but_no_sd_and_no_interval_and_warns_nothing():
    """A single seed: its value is the mean, the sd is NaN (not 0: nothing is known about the spread),
    no bounds, n = 1, and no RuntimeWarning from a std over zero degrees of freedom. Mutations: `n == 1`
    as the empty test (mean NaN, n 0); sd 0.0 for n = 1 (`or True`, `n >= 1`); std computed at n = 1
    (`or True`, `n >= 1` in the sd line: numpy warns); this test fails."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        iv = stats.interval([0.3, math.nan])
    assert iv.mean == 0.3 and iv.n == 1 and math.isnan(iv.sd) and math.isnan(iv.low) and math.isnan(iv.high)


def test_two_values_get_scipys_t_interval_and_sample_sd():
    """n = 2 is enough for a t-interval (df = 1): bounds are scipy.stats.t.interval's and the sd is the
    sample sd (ddof = 1). Mutations: `n <= 2` / `n < 3` for "too few"; sd only for n > 2; ddof = 2;
    this test fails."""
    v = [0.1, 0.3]
    iv = stats.interval(v, 0.9)
    sd = abs(v[1] - v[0]) / math.sqrt(2)
    lo, hi = sps.t.interval(0.9, 1, loc=0.2, scale=sd / math.sqrt(2))
    assert iv.sd == pytest.approx(sd, rel=1e-12) and (iv.low, iv.high) == pytest.approx((lo, hi), rel=1e-12)
    assert iv.n == 2 and stats.evidence(v).test == "t"


@pytest.mark.parametrize("k", [2, 5])
def test_equal_differences_up_to_rounding_report_sd_zero(k):
    """Differences equal up to a rounding step (20/20 - 19/20, 19/20 - 18/20, ...; sample sd ~ 8e-17)
    are "no spread": the reported sd is exactly 0.0, for 2 values as for 5. Mutations: the computed sd
    reported instead (`and False`), or 0.0 only for n > 2; this test fails."""
    d = [(j + 1) / 20 - j / 20 for j in (19, 18, 17, 16, 15)[:k]]
    assert np.std(d, ddof=1) > 0
    iv = stats.interval(d)
    assert iv.sd == 0.0 and math.isnan(iv.low) and iv.n == k


def test_too_few_seeds_is_test_none_with_nan_p_and_never_shown():
    """0 or 1 finite value: test "none", p NaN, nothing shown; 2 values already get the t-test.
    Mutations: "none" renamed ("XXnoneXX"/"NONE") in evidence() or p(); `and False` on n < 2
    (1 value becomes a sign test); `n <= 2` / `n < 3`; shows() returning True for "none"; this test
    fails."""
    for values in ([], [0.3], [math.nan, 0.3]):
        ev = stats.evidence(values)
        assert ev.test == "none" and stats.NAMES[ev.test] == "too few seeds"
        for side in ("above", "below"):
            assert math.isnan(ev.p(side, 0.0)) and ev.shows(side, -1.0) is False and ev.shows(side, 1.0) is False
    assert stats.evidence([0.1, 0.3]).test == "t"


def test_float32_and_bool_values_give_the_float64_answer():
    """Values arrive as float32 (torch) or bool arrays: they are read as float64, so the interval is the
    one of the same numbers in float64 (a float32 mean rounds differently), and bools work as 0/1
    (numpy cannot take ptp of bools). Mutation: `dtype=None` or no dtype in _finite; this test fails."""
    v32 = np.float32([0.1, 0.25, 0.3, 0.37, 0.11])
    assert stats.interval(v32) == stats.interval(v32.astype(np.float64))
    assert float(v32.mean()) != float(v32.astype(np.float64).mean())  # the case is discriminating
    flags = np.array([True, False, True, True, False, True])
    assert stats.interval(flags) == stats.interval(flags.astype(float))


def test_evidence_p_computes_in_float64_whatever_the_stored_values():
    """An Evidence built on float32 values gives the p of the float64 values (scipy's t-test keeps
    float32 and rounds differently). Mutation: `dtype=None` / no dtype in Evidence.p; this test fails."""
    v32 = np.float32([0.1, 0.25, 0.3, 0.37, 0.11])
    ref = stats.evidence(v32.astype(np.float64))
    ev = stats.Evidence(tuple(v32), ref.interval, "t", 0.95)
    for side, thr in (("above", 0.0), ("below", 0.3)):
        assert ev.p(side, thr) == ref.p(side, thr)
        assert ref.p(side, thr) == sps.ttest_1samp(v32.astype(np.float64), thr,
                                                   alternative="greater" if side == "above" else "less").pvalue


def test_no_spread_edges():
    """no_spread: an empty array has no values to be the same (False, no error); one value is
    trivially the same; a range of exactly SAME is still the same, 2 x SAME is not (also through
    interval()). Mutations: `len(v) >= 0` (ptp of an empty array raises), `len(v) > 1`, `< SAME`; this
    test fails."""
    assert stats.no_spread(np.array([])) is False
    assert stats.no_spread(np.array([0.3])) is True
    assert stats.no_spread(np.array([0.0, stats.SAME])) is True
    assert stats.no_spread(np.array([0.0, 2 * stats.SAME])) is False
    assert math.isnan(stats.interval([0.0, stats.SAME, 0.0]).low)
    assert not math.isnan(stats.interval([0.0, 2 * stats.SAME, 0.0]).low)


def test_sign_test_is_scipys_binomial_test_on_the_values_off_the_threshold():
    """The sign test counts values more than SAME above / below the threshold and returns scipy's
    one-sided binomial p of the count on the requested side. Mutations: `above - below == 0` as the
    "nothing off the threshold" test (one up, one down gives 1.0, not 0.75); `>=` / `<=` at
    threshold +- SAME (values exactly SAME off count); `threshold + SAME` as the lower edge (values on
    the threshold count as below); this test fails."""
    def ref(k, n):
        return sps.binomtest(k, n, 0.5, alternative="greater").pvalue

    assert stats.sign_test([1.0, -1.0], 0.0, "above") == ref(1, 2) == 0.75
    assert stats.sign_test([0.3, 0.3, -0.2], 0.0, "below") == ref(1, 3)
    assert stats.sign_test([stats.SAME] * 6, 0.0, "above") == 1.0
    assert stats.sign_test([-stats.SAME] * 6, 0.0, "below") == 1.0
    assert stats.sign_test([0.05] * 5 + [0.0], 0.0, "above") == ref(5, 5) == 0.5**5
    assert stats.sign_test([0.05] * 5 + [0.0], 0.0, "below") == ref(0, 5) == 1.0


def test_shows_is_strict_at_the_bound_and_at_alpha1():
    """"Shown" is strict: a t-interval whose lower (upper) bound equals the threshold does not show
    above (below) it, one a float step beyond does; a sign test whose p equals alpha1 exactly
    (6 equal differences, p = 1/64, confidence 1 - 2/64) does not show, 7 do. Mutations: `>=` for `>`
    / `<=` for `<` in the interval comparison, `<=` for `<` in the sign test's; this test fails."""
    ev = stats.evidence([0.1, -0.05, 0.02, 0.07, 0.0, 0.04])
    lo, hi = ev.interval.low, ev.interval.high
    assert not ev.shows("above", lo) and ev.shows("above", np.nextafter(lo, -1))
    assert not ev.shows("below", hi) and ev.shows("below", np.nextafter(hi, 1))
    conf = 1 - 2 / 64
    six, seven = stats.evidence([0.05] * 6, conf), stats.evidence([0.05] * 7, conf)
    assert six.test == "sign" and six.alpha1 == six.p("above", 0.0) == 1 / 64
    assert not six.shows("above", 0.0) and seven.shows("above", 0.0)


def test_holm_caps_at_one_and_computes_in_float64():
    """Holm by hand: sorted p (0.2, 0.6, 0.7) times (3, 2, 1) = (0.6, 1.2, 0.7), capped at 1 and made
    monotone: (0.6, 1, 1). float32 p-values are adjusted in float64 (3 x float32(0.01) in float64,
    not rounded to float32). Mutations: cap 2.0; `dtype=None` / no dtype (output stays float32); this
    test fails."""
    adj = stats.holm([0.6, 0.7, 0.2])
    assert adj.tolist() == [1.0, 1.0, 3 * 0.2]
    p32 = np.float32([0.01, 0.04, 0.03])
    adj32 = stats.holm(p32)
    p = p32.astype(np.float64)
    assert adj32.dtype == np.float64
    assert adj32.tolist() == [3 * p[0], max(3 * p[0], 2 * p[2], p[1]), max(3 * p[0], 2 * p[2])]


def test_mcnemar_takes_0_1_floats_as_outcomes():
    """Per-point outcomes often arrive as 0.0 / 1.0 floats (a pandas column): they are read as bools,
    and (b, c, p) is the exact binomial test on the discordant points. Mutations: either argument not
    converted to bool (`&` / `~` on floats raise); this test fails."""
    a = np.array([1.0] * 12 + [0.0] * 3 + [1.0] * 10)
    b = np.array([0.0] * 12 + [1.0] * 3 + [1.0] * 10)
    assert stats.mcnemar(a, b) == (12, 3, sps.binomtest(12, 15, 0.5).pvalue)
    assert stats.mcnemar(a, b.astype(bool)) == stats.mcnemar(a.astype(bool), b) == stats.mcnemar(a, b)
