"""Intervals and tests for few seeds (SPEC 5). No torch.

The evidence on a mean paired difference over seeds (``evidence``):

- by default Student's t-interval, whose coverage holds for normal differences at any n (a
  percentile bootstrap of 5 values covers only about 85%); BCa (scipy.stats.bootstrap) is an option;
- where every difference is the same (sd = 0, up to float rounding), no interval: a zero-width
  interval would claim a certainty that few seeds cannot give. An exact sign test decides instead (5 equal differences
  give a two-sided p of 0.0625, so 5 seeds can never decide this way; 6 can).

``Evidence.shows(side, threshold)`` says whether the mean is shown to lie above (below) the threshold
at one-sided level alpha1 = (1 - confidence) / 2: for the intervals, the two-sided interval lies
entirely on that side; for the sign test, its one-sided p < alpha1. ``Evidence.p`` gives the matching
one-sided p-value, for Holm's correction over pairs (``holm``). McNemar's exact test compares two
models point by point on the same test points.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

METHODS = ("t", "bca")
# Differences closer together than this are "all the same": accuracies are ratios of counts, so
# equal differences can differ by a rounding step (20/20 - 19/20 vs 19/20 - 18/20: sd ~ 6e-17).
SAME = 1e-9
NAMES = {"t": "Student's t-interval", "bca": "BCa bootstrap interval", "sign": "exact sign test",
         "none": "too few seeds"}


@dataclass(frozen=True)
class Interval:
    mean: float
    sd: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        """Half the interval's width: the smallest difference this design can resolve."""
        return (self.high - self.low) / 2


def interval(values, confidence: float = 0.95, method: str = "t", n_boot: int = 10000, seed: int = 0) -> Interval:
    """Confidence interval of the mean of ``values`` (non-finite values dropped); NaN bounds when
    n < 2, and when every value is the same (sd = 0: no interval at this level, see ``evidence``)."""
    if method not in METHODS:
        raise ValueError(f"claims.interval must be one of {METHODS}, not {method!r}")
    v = _finite(values)
    n = len(v)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, math.nan, 0)
    mean = float(v.mean())
    sd = float(v.std(ddof=1)) if n > 1 else math.nan
    if n < 2 or no_spread(v):
        return Interval(mean, 0.0 if n > 1 else sd, math.nan, math.nan, n)
    from scipy import stats  # imported here: the report reads claims without paying for scipy

    if method == "t":
        lo, hi = stats.ttest_1samp(v, 0.0).confidence_interval(confidence_level=confidence)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = stats.bootstrap((v,), np.mean, confidence_level=confidence, n_resamples=n_boot, method="BCa",
                                  random_state=np.random.default_rng(seed))
        lo, hi = res.confidence_interval
    return Interval(mean, sd, float(lo), float(hi), n)


def no_spread(v: np.ndarray) -> bool:
    """Every value the same, up to float rounding (``SAME``)."""
    return len(v) > 0 and float(np.ptp(v)) <= SAME


def _finite(values) -> np.ndarray:
    return np.asarray([x for x in values if np.isfinite(x)], dtype=float)


def sign_test(values, threshold: float, side: str) -> float:
    """Exact one-sided sign test that the values lie above (``side='above'``) or below the
    threshold: binomial p of the count on that side among the values off the threshold."""
    from scipy import stats

    v = _finite(values)
    above, below = int((v > threshold + SAME).sum()), int((v < threshold - SAME).sum())
    k = above if side == "above" else below
    return 1.0 if above + below == 0 else float(stats.binomtest(k, above + below, 0.5, alternative="greater").pvalue)


@dataclass(frozen=True)
class Evidence:
    """What the seeds say about one mean paired difference: its interval, and which test decides."""

    values: tuple
    interval: Interval
    test: str  # t | bca | sign | none
    confidence: float
    n_boot: int = 10000

    @property
    def alpha1(self) -> float:
        """The one-sided level that matches the two-sided interval."""
        return (1 - self.confidence) / 2

    def shows(self, side: str, threshold: float) -> bool:
        """Is the mean shown to lie strictly above (below) ``threshold`` at the interval's one-sided level?"""
        if self.test == "none":
            return False
        if self.test == "sign":
            return self.p(side, threshold) < self.alpha1
        iv = self.interval
        return iv.low > threshold if side == "above" else iv.high < threshold

    def p(self, side: str, threshold: float) -> float:
        """One-sided p-value of "the mean lies above (below) threshold", matching ``shows``."""
        v = np.asarray(self.values, dtype=float)
        if self.test == "none":
            return math.nan
        if self.test == "sign":
            return sign_test(v, threshold, side)
        if self.test == "t":
            from scipy import stats

            alt = "greater" if side == "above" else "less"
            return float(stats.ttest_1samp(v, threshold, alternative=alt).pvalue)
        return _bca_p(v, threshold, side, self.n_boot)


def _bca_p(v: np.ndarray, threshold: float, side: str, n_boot: int) -> float:
    """The BCa interval inverted: the smallest one-sided level at which the (1 - 2 alpha1) BCa
    interval excludes the threshold on ``side`` (bisection over alpha1)."""
    def bound(alpha1):
        iv = interval(v, 1 - 2 * alpha1, "bca", n_boot)
        return iv.low if side == "above" else iv.high

    def shown(alpha1):
        b = bound(alpha1)
        return b > threshold if side == "above" else b < threshold

    lo, hi = 1e-6, 0.5 - 1e-6
    if shown(lo):
        return lo
    if not shown(hi):
        return 1.0
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if shown(mid) else (mid, hi)
    return hi


def evidence(values, confidence: float = 0.95, method: str = "t", n_boot: int = 10000) -> Evidence:
    """The evidence of ``values`` (paired differences over seeds; non-finite ones left out)."""
    iv = interval(values, confidence, method, n_boot)
    v = _finite(values)
    test = "none" if iv.n < 2 else "sign" if no_spread(v) else method
    return Evidence(tuple(v), iv, test, confidence, n_boot)


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN stays NaN and is not counted)."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    m, running = len(order), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def mcnemar(a_correct, b_correct) -> tuple[int, int, float]:
    """Exact McNemar test on paired per-point outcomes: (b, c, two-sided p), b = points only A gets
    right, c = points only B gets right."""
    from scipy import stats

    a, b_ = np.asarray(a_correct, bool), np.asarray(b_correct, bool)
    b, c = int((a & ~b_).sum()), int((~a & b_).sum())
    p = 1.0 if b + c == 0 else float(stats.binomtest(b, b + c, 0.5).pvalue)
    return b, c, p
