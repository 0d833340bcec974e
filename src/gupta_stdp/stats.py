"""Intervals and tests for few seeds (SPEC 5). No torch.

The default interval of a mean paired difference is Student's t-interval: its coverage holds for
normal differences at any n, where a percentile bootstrap of 5 values covers only about 85%.
BCa (scipy.stats.bootstrap) is available as an option. McNemar's exact test compares two models
point by point on the same test points.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

METHODS = ("t", "bca")


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
    """Confidence interval of the mean of ``values`` (non-finite values dropped); NaN bounds when n < 2."""
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=float)
    n = len(v)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, math.nan, 0)
    mean = float(v.mean())
    sd = float(v.std(ddof=1)) if n > 1 else math.nan
    if n < 2:
        return Interval(mean, sd, math.nan, math.nan, n)
    if sd == 0:  # every difference equal: no spread to speak of, the interval is the point
        return Interval(mean, sd, mean, mean, n)
    from scipy import stats  # imported here: the report reads claims without paying for scipy

    if method == "t":
        lo, hi = stats.ttest_1samp(v, 0.0).confidence_interval(confidence_level=confidence)
    elif method == "bca":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = stats.bootstrap((v,), np.mean, confidence_level=confidence, n_resamples=n_boot, method="BCa",
                                  random_state=np.random.default_rng(seed))
        lo, hi = res.confidence_interval
    else:
        raise ValueError(f"claims.interval must be one of {METHODS}, not {method!r}")
    return Interval(mean, sd, float(lo), float(hi), n)


def mcnemar(a_correct, b_correct) -> tuple[int, int, float]:
    """Exact McNemar test on paired per-point outcomes: (b, c, two-sided p), b = points only A gets
    right, c = points only B gets right."""
    from scipy import stats

    a, b_ = np.asarray(a_correct, bool), np.asarray(b_correct, bool)
    b, c = int((a & ~b_).sum()), int((~a & b_).sum())
    p = 1.0 if b + c == 0 else float(stats.binomtest(b, b + c, 0.5).pvalue)
    return b, c, p
