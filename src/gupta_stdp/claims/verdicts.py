"""The verdict rules: per pair, how the evidence becomes supported / not supported / inconclusive,
and how the pairs of a claim combine. Each rule is a small value object whose ``text()`` is
generated from the same fields its ``decide()`` reads, so the words the report prints cannot drift
from what the code does. No torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..stats import NAMES, Evidence, holm

SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE = "supported", "not supported", "inconclusive"
VERDICTS = (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE)

MEASURES = {
    "d": "the mean paired difference (method - BP)",
    "early": "the mean early gap (BP - STDP, test accuracy averaged over the first epochs)",
    "late": "the mean final difference (STDP - BP)",
}
SIGN = {"d": +1, "early": -1, "late": +1}  # +1: the method's number enters with a plus sign
SHORT = {"d": "difference", "early": "early gap", "late": "final difference"}


@dataclass(frozen=True)
class Shown:
    """The mean of ``measure`` is shown to lie strictly on ``side`` of ``threshold``."""

    measure: str
    side: str  # above | below
    threshold: float

    def holds(self, ev: dict[str, Evidence]) -> bool:
        return ev[self.measure].shows(self.side, self.threshold)

    def p(self, ev: dict[str, Evidence]) -> float:
        return ev[self.measure].p(self.side, self.threshold)

    def text(self) -> str:
        return f"{MEASURES[self.measure]} is shown to lie {self.side} {self.threshold:+g}" if self.threshold else \
            f"{MEASURES[self.measure]} is shown to lie {self.side} 0"

    def short(self) -> str:
        return f"{SHORT[self.measure]} below {self.threshold:g}" if self.side == "below" else \
            f"{SHORT[self.measure]} above {self.threshold:g}"

    def inflated_by(self) -> str:
        """Whose over-estimated number could make this condition hold: "method" or "bp". (A failed
        attack check makes a model's accuracy an upper bound.)"""
        up = (self.side == "above") == (SIGN[self.measure] > 0)
        return "method" if up else "bp"


@dataclass(frozen=True)
class PairRule:
    """Per pair: supported if every ``supported`` condition holds; not supported if any
    ``not_supported`` condition holds (Holm-adjusted over the pairs' tests where ``holm``)."""

    name: str
    supported: tuple[Shown, ...]
    not_supported: tuple[Shown, ...]

    def decide(self, ev: dict[str, Evidence], rejected: tuple[bool, ...] | None = None) -> str:
        """``rejected``: per ``not_supported`` condition, whether Holm rejected it (None: no correction)."""
        if any(e.test == "none" for e in ev.values()):
            return INCONCLUSIVE
        if all(c.holds(ev) for c in self.supported):
            return SUPPORTED
        against = rejected if rejected is not None else tuple(c.holds(ev) for c in self.not_supported)
        return NOT_SUPPORTED if any(against) else INCONCLUSIVE

    def rests_on(self, verdict: str) -> set[str]:
        """The sides ("method", "bp") whose over-estimated numbers could have produced ``verdict``."""
        conds = self.supported if verdict == SUPPORTED else self.not_supported if verdict == NOT_SUPPORTED else ()
        return {c.inflated_by() for c in conds}

    def text(self, holm_corrected: bool) -> str:
        sup = " and ".join(c.text() for c in self.supported)
        nsup = " or ".join(c.text() for c in self.not_supported)
        corr = " (Holm-adjusted over the pairs' tests)" if holm_corrected else ""
        return f"per pair, supported if {sup}; not supported if {nsup}{corr}; inconclusive otherwise"


def shown_text(confidence: float, method: str, holm_corrected: bool) -> str:
    alpha1 = (1 - confidence) / 2
    n_min = next(n for n in range(1, 60) if 0.5**n < alpha1)
    return (f"\"shown\" means that the two-sided {confidence:.0%} {NAMES[method]} of the mean over seeds lies entirely on "
            f"that side (one-sided level {alpha1:g}); where every difference is the same (sd = 0) there is no interval "
            f"and an {NAMES['sign']} at one-sided level {alpha1:g} decides instead (with fewer than {n_min} seeds it "
            "never can)" + ("; with Holm's correction, a test counts where its adjusted one-sided p is below that level"
                             if holm_corrected else ""))


SANITY_TEXT = ("a failed sanity check on a model means that its attacks may under-report what breaks it, so its "
               "accuracy under them is an upper bound: a pair's verdict on a reading the check weakens is withdrawn "
               "(inconclusive) where the failure could have produced it, a verdict that rests on the method's number "
               "being high (a win) when the method's models failed, one that rests on BP's being high (a loss) when "
               "BP's did; the check and its models are named")


def pair_rules(margin: float) -> dict[str, PairRule]:
    return {
        "non_inferior": PairRule("non_inferior", (Shown("d", "above", -margin),), (Shown("d", "below", -margin),)),
        "superior": PairRule("superior", (Shown("d", "above", 0.0),), (Shown("d", "below", 0.0),)),
        "early_then_late": PairRule("early_then_late", (Shown("early", "above", 0.0), Shown("late", "above", -margin)),
                                    (Shown("early", "below", 0.0), Shown("late", "below", -margin))),
    }


def holm_rejections(rule: PairRule, evs: list[dict[str, Evidence]]) -> list[tuple[tuple[bool, ...], float]]:
    """Holm's correction over every ``not_supported`` test of every pair (one family per reading and
    scope), at the evidence's one-sided level: per pair, which tests it rejects, and the smallest
    adjusted p of its tests."""
    if not evs:
        return []
    k = len(rule.not_supported)
    p = [c.p(ev) if all(e.test != "none" for e in ev.values()) else np.nan for ev in evs for c in rule.not_supported]
    adj = holm(p)
    alpha1 = next(iter(evs[0].values())).alpha1
    out = []
    for i in range(len(evs)):
        mine = adj[i * k : (i + 1) * k]
        flags = tuple(bool(np.isfinite(a) and a < alpha1) for a in mine)
        out.append((flags, float(np.nanmin(mine)) if np.isfinite(mine).any() else np.nan))
    return out


# ------------------------------------------------------------------ how the pairs of a claim combine
@dataclass(frozen=True)
class EveryPair:
    holm: bool = True

    def decide(self, verdicts: list[str]) -> str:
        if not verdicts:
            return INCONCLUSIVE
        if NOT_SUPPORTED in verdicts:
            return NOT_SUPPORTED
        return SUPPORTED if all(v == SUPPORTED for v in verdicts) else INCONCLUSIVE

    def text(self) -> str:
        return ("the claim holds if every pair is supported (each pair at the full level: all must hold), fails if any "
                "pair is not supported" + (" after Holm's correction over the pairs" if self.holm else "")
                + ", and is inconclusive otherwise or without pairs")


@dataclass(frozen=True)
class Majority:
    holm: bool = False

    def decide(self, verdicts: list[str]) -> str:
        wins, undecided = verdicts.count(SUPPORTED), verdicts.count(INCONCLUSIVE)
        if not verdicts:
            return INCONCLUSIVE
        if wins > len(verdicts) / 2:
            return SUPPORTED
        return NOT_SUPPORTED if wins + undecided <= len(verdicts) / 2 else INCONCLUSIVE

    def text(self) -> str:
        return ("the claim holds if the method wins (is supported on) more than half of the pairs, fails if its wins and "
                "undecided pairs together are at most half, and is inconclusive otherwise or without pairs; pairs are "
                "judged at the per-pair level, without correction (a majority of wins is itself the claim)")


COMBINE = {"every_pair": EveryPair(), "majority": Majority()}


# ------------------------------------------------------------------ C4: the implemented rule's curve
@dataclass(frozen=True)
class CurveRule:
    """C4 on the implemented rule's values: eq. 3 as written, the shape of eq. 6, and its asymmetry."""

    tolerance: float = 1e-9  # of the curve's peak: float64 rounding, far below any error in the formula

    def numbers(self, curve: pd.DataFrame) -> dict[str, float]:
        pos, neg = curve[curve.dT > 0], curve[curve.dT < 0]
        nz = curve[curve.dT != 0]
        peak = float(nz.eq6.abs().max())
        return {
            "rule_peak_pos": float(pos.rule.max()), "rule_peak_neg": float((-neg.rule).max()),
            "eq6_peak_pos": float(pos.eq6.max()), "eq6_peak_neg": float((-neg.eq6).max()),
            "eq5_peak_pos": float(pos.eq5.max()), "eq5_peak_neg": float((-neg.eq5).max()),
            "sign_agree": int((np.sign(nz.rule) == np.sign(nz.eq6)).sum()), "n_points": len(nz),
            "eq3_deviation": float((nz.rule - nz.eq3).abs().max() / peak),
            "max_deviation": float((nz.rule - nz.eq6).abs().max() / peak),
        }

    def decide(self, curve: pd.DataFrame) -> str:
        if curve.empty:
            return INCONCLUSIVE
        n = self.numbers(curve)
        is_eq3 = n["eq3_deviation"] <= self.tolerance
        same_shape = n["sign_agree"] == n["n_points"]
        return SUPPORTED if is_eq3 and same_shape and n["rule_peak_pos"] > n["rule_peak_neg"] > 0 else NOT_SUPPORTED

    def text(self, t_pre: float, r: float) -> str:
        return (f"the registry's STDP update with Z = +1 and the configured eps, evaluated at x = 1/T_pre and "
                f"p = 1/(T_pre + dT) for dT in [-{r:g}, {r:g}] x T_pre (T_pre = {t_pre:g}): supported if it equals eq. 3 "
                f"with that eps (written through eq. 6: eq6 (2p - x)^2 / ((2p - x)^2 + eps)) to {self.tolerance:g} of the "
                "curve's peak, has the sign of eq. 6 at every dT (potentiation for dT > 0, depression for dT < 0) and "
                "its potentiation peak exceeds its depression peak; not supported otherwise. Its deviation from eq. 6 "
                "itself (the eps term) is reported; eq. 5's reverse asymmetry is not a separate test, since "
                "eq5(-dT) = -eq6(dT)")


def _pair(r: dict, method: str) -> str:
    ci = f", CI [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]" if np.isfinite(r["ci_low"]) else f", {r['test']} test"
    return f"{r['dataset']} {r['pair']}: {method} {r['method_mean']:.3f} vs BP {r['bp_mean']:.3f}, d {r['mean_diff']:+.3f}{ci}"


def deciding(rule_kind: str, combine: str | None, rows: list[dict], margin: float, method: str) -> str:
    """The numbers a reading's verdict turns on, in words: for a claim on most pairs the count; for
    a claim on every pair the pairs that decide it (the ones shown against it, else the undecided
    ones, else the weakest pair), with both methods' means."""
    if not rows:
        return "no pairs ran"
    if combine == "majority":
        wins = sum(r["verdict"] == SUPPORTED for r in rows)
        losses = sum(r["verdict"] == NOT_SUPPORTED for r in rows)
        need = len(rows) // 2 + 1
        return f"{method} wins {wins} of {len(rows)} pairs and loses {losses} (a majority needs {need} wins)"
    against = [r for r in rows if r["verdict"] == NOT_SUPPORTED]
    open_ = [r for r in rows if r["verdict"] == INCONCLUSIVE]
    if against:
        return (f"{len(against)} of {len(rows)} pairs not supported after Holm's correction: "
                + "; ".join(f"{_pair(r, method)} ({r['against']}, Holm p {r['p_holm']:.2g})" for r in against))
    if open_:
        return f"{len(open_)} of {len(rows)} pairs undecided: " + "; ".join(_pair(r, method) for r in open_)
    weakest = min(rows, key=lambda r: r["ci_low"] if np.isfinite(r["ci_low"]) else np.inf)
    return f"every pair shown above the margin -{margin:g}; the closest: {_pair(weakest, method)}"


def deciding_short(combine: str | None, rows: list[dict], margin: float, method: str) -> str:
    """``deciding`` in a few words, for the table of all claims."""
    if not rows or combine == "majority":
        return deciding("", combine, rows, margin, method)
    against = [r for r in rows if r["verdict"] == NOT_SUPPORTED]
    open_ = [r for r in rows if r["verdict"] == INCONCLUSIVE]
    if against:
        r = min(against, key=lambda r: r["p_holm"] if np.isfinite(r["p_holm"]) else np.inf)
        return (f"{len(against)} of {len(rows)} pairs not supported after Holm (clearest: {r['dataset']} {r['pair']}, "
                f"d {r['mean_diff']:+.3f}, Holm p {r['p_holm']:.2g})")
    if open_:
        return f"{len(open_)} of {len(rows)} pairs undecided ({', '.join(r['dataset'] + ' ' + r['pair'] for r in open_)})"
    r = min(rows, key=lambda r: r["ci_low"] if np.isfinite(r["ci_low"]) else np.inf)
    return f"every pair above -{margin:g} (closest: {r['dataset']} {r['pair']}, CI lower bound {r['ci_low']:+.3f})"
