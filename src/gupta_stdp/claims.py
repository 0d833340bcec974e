"""Verdicts on the paper's claims C1-C4 and on C5 (Akrout et al. 2019), computed from the tidy
tables (SPEC 5). No torch.

Every comparison is paired by seed (same seed = same initial weights, batch order and, for IRIS,
split for both methods): per seed d = method - BP, then a confidence interval of the mean d over
seeds (Student's t by default, whose coverage holds for few seeds). A seed where either model
diverged is left out of its pair and counted. Each verdict rule below sits beside the text that
states it, and the report prints that text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import sanity as sanity_mod
from .curves import eq5, eq6
from .stats import Interval, interval

SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE = "supported", "not supported", "inconclusive"
KEY = ["dataset", "pair", "method", "seed"]


# ------------------------------------------------------------------ per-pair rules, with their text
NON_INFERIOR = ("per pair, supported if the {conf:.0%} CI of the mean paired difference (method - BP) has its lower "
                "bound above -{margin}; not supported if its upper bound is below -{margin}; inconclusive otherwise")


def non_inferior(iv: Interval, margin: float) -> str:
    if not np.isfinite(iv.low):
        return INCONCLUSIVE
    if iv.low > -margin:
        return SUPPORTED
    if iv.high < -margin:
        return NOT_SUPPORTED
    return INCONCLUSIVE


SUPERIOR = ("per pair, the method wins if the {conf:.0%} CI of the mean paired difference (method - BP) lies above 0 "
            "and loses if it lies below 0")


def superior(iv: Interval) -> str:
    if not np.isfinite(iv.low):
        return INCONCLUSIVE
    return SUPPORTED if iv.low > 0 else NOT_SUPPORTED if iv.high < 0 else INCONCLUSIVE


EARLY_THEN_LATE = ("per IRIS pair, supported if BP - STDP over the first {early:.0%} of epochs has a CI above 0 (STDP "
                   "poor early) and the final STDP - BP has a CI lower bound above -{margin} (caught up); not supported "
                   "if the early CI reaches 0 or below, or the final CI lies below -{margin}")


def early_then_late(early: Interval, late: Interval, margin: float) -> str:
    if not (np.isfinite(early.low) and np.isfinite(late.low)):
        return INCONCLUSIVE
    if early.low > 0 and late.low > -margin:
        return SUPPORTED
    if early.high <= 0 or late.high < -margin:
        return NOT_SUPPORTED
    return INCONCLUSIVE


# ------------------------------------------------------------------ how pairs combine, with their text
EVERY_PAIR = "the claim holds if every pair is supported, fails if any pair is not supported"


def every_pair(verdicts: list[str]) -> str:
    if not verdicts:
        return INCONCLUSIVE
    if NOT_SUPPORTED in verdicts:
        return NOT_SUPPORTED
    return SUPPORTED if all(v == SUPPORTED for v in verdicts) else INCONCLUSIVE


MAJORITY = ("the claim holds if the method wins more than half of the pairs, fails if wins plus undecided pairs are "
            "at most half")


def majority(verdicts: list[str]) -> str:
    wins, undecided = verdicts.count(SUPPORTED), verdicts.count(INCONCLUSIVE)
    if not verdicts:
        return INCONCLUSIVE
    if wins > len(verdicts) / 2:
        return SUPPORTED
    return NOT_SUPPORTED if wins + undecided <= len(verdicts) / 2 else INCONCLUSIVE


PEAKS = ("peaks of eq. 5 and eq. 6 over dT in [-{r}, {r}] x T_pre (T_pre = {t_pre}): supported if eq. 6's peak for "
         "dT > 0 exceeds its peak for dT < 0 and eq. 5 shows the reverse")


def c4_peaks(t_pre: float, r: float, n: int = 2001) -> dict[str, float]:
    dt = np.linspace(-r * t_pre, r * t_pre, n)
    out = {}
    for name, f in (("eq5", eq5), ("eq6", eq6)):
        v = f(dt, t_pre)
        out[f"{name}_peak_pos"] = float(v[dt > 0].max())
        out[f"{name}_peak_neg"] = float(-v[dt < 0].min())
    return out


# ------------------------------------------------------------------ the claims
@dataclass(frozen=True)
class Claim:
    id: str
    statement: str  # the claim, in the paper's words where it has them
    paper: str  # what the paper shows for it
    figure: str  # the figure of this report that shows it
    method: str  # the method compared with BP


CLAIMS = {
    "C1": Claim("C1", "STDP reaches test accuracy comparable to (a little below) BP on every pair: \"The accuracy, when "
                "compared to backpropagation, is definitely not equivalent but is quite comparable.\"",
                "Fig. 2: train and test accuracy vs epoch, one run per pair, 3 IRIS and 5 MNIST pairs, no error bars.",
                "claims_forest.png", "stdp"),
    "C2": Claim("C2", "STDP models keep more accuracy than BP models under FGSM in most pairs: \"for most cases, this "
                "method outperforms the BP method.\"",
                "Fig. 3: FGSM accuracy at eps 4, 8 and 12 of 255, one run per pair, no error bars.",
                "claims_forest.png", "stdp"),
    "C3": Claim("C3", "On IRIS, STDP is poor in the first epochs, then catches up: \"The poor performance during initial "
                "epochs can be attributed to the fixed nature of associativity.\"",
                "Fig. 2, IRIS panels: test accuracy vs epoch.", "fig2_accuracy.png", "stdp"),
    "C4": Claim("C4", "Eq. 6 has the biological asymmetry (the peak for dT > 0 is higher than for dT < 0); eq. 5 the "
                "reverse.", "Fig. 4: dW vs dT for eq. 5 (dotted) and eq. 6 (solid).", "fig4_stdp_curve.png", "stdp"),
    "C5": Claim("C5", "Networks trained with feedback alignment keep more accuracy than BP networks under white-box "
                "attacks (Akrout et al. 2019; beyond the paper).",
                "Not in the paper; Akrout et al. (2019) report it on MNIST.", "rules_compared.png", "fa"),
}

# The measurements of robustness (C2, C5 and every rule against BP): name -> (attack, eps set).
# "paper" averages accuracy over the paper's eps, "sweep" over the sweep's, a number is one eps.
ROBUSTNESS = {
    "fgsm": ("fgsm", "paper"),  # the paper's attack: the claim's own verdict
    "pgd": ("pgd", "paper"),
    "transfer": ("pgd_or_transfer", "paper"),  # each model under its own PGD or its surrogate's, whichever breaks
    "decision": ("square", "paper"),
    "worst": ("worst", "paper"),
    "sweep_fgsm": ("fgsm_margin", "sweep"),
    "sweep_pgd": ("pgd", "sweep"),
    "fgsm_8": ("fgsm", 8),  # the forest plot's
    "pgd_8": ("pgd", 8),
    "worst_8": ("worst", 8),
}
VERDICT_COLUMNS = {"fgsm": "verdict", **{k: f"verdict_{k}" for k in
                                         ("pgd", "transfer", "decision", "worst", "sweep_fgsm", "sweep_pgd")}}


def _final_test(epochs: pd.DataFrame) -> pd.DataFrame:
    test = epochs[epochs.split == "test"]
    last = test.groupby(KEY).epoch.transform("max")
    return test[test.epoch == last]


def _paired(df: pd.DataFrame, value: str, method: str) -> pd.DataFrame:
    """Per (dataset, pair, seed): ``method`` and BP side by side (NaN where a run diverged)."""
    sub = df[df.method.isin([method, "bp"])]
    wide = sub.pivot(index=["dataset", "pair", "seed"], columns="method", values=value)
    return wide.reindex(columns=[method, "bp"])


def _row(claim, method, variant, dataset, pair, iv: Interval, verdict, **extra) -> dict:
    return {"claim": claim, "method": method, "variant": variant, "dataset": dataset, "pair": pair, "n_seeds": iv.n,
            "mean_diff": iv.mean, "sd_diff": iv.sd, "ci_low": iv.low, "ci_high": iv.high,
            "half_width": iv.half_width, "verdict": verdict, **extra}


class Judge:
    def __init__(self, cc: dict, paper_eps, sweep_eps):
        self.cc, self.paper_eps, self.sweep_eps = cc, [e for e in paper_eps if e > 0], [e for e in sweep_eps if e > 0]

    def iv(self, d) -> Interval:
        return interval(d, self.cc["confidence"], self.cc["interval"], self.cc["n_boot"])

    def accuracy(self, epochs, method, value="accuracy") -> list[dict]:
        """C1's rule on final test ``value`` (accuracy, or AUC for the threshold-free reading)."""
        wide = _paired(_final_test(epochs), value, method)
        rows = []
        for (dataset, pair), g in wide.groupby(level=["dataset", "pair"]):
            d = (g[method] - g.bp).to_numpy()
            iv = self.iv(d)
            rows.append(_row("C1", method, value, dataset, pair, iv, non_inferior(iv, self.cc["margin"]),
                             method_mean=g[method].mean(), bp_mean=g.bp.mean(), n_excluded=int(np.isnan(d).sum())))
        return rows

    def robustness(self, attacks, method, variant) -> list[dict]:
        """C2's rule: accuracy under the variant's attack, averaged over its eps (units of 1/255)."""
        attack, which = ROBUSTNESS[variant]
        eps = self.paper_eps if which == "paper" else self.sweep_eps if which == "sweep" else [which]
        eps = [e / 255 for e in eps]
        adv = attacks[(attacks.attack == attack) & attacks.eps.apply(lambda e: bool(np.isclose(e, eps).any()))]
        if adv.empty or not ({method, "bp"} <= set(adv.method)):
            return []
        mean_adv = adv.groupby(KEY, as_index=False).accuracy.mean()
        wide = _paired(mean_adv, "accuracy", method)
        rows = []
        for (dataset, pair), g in wide.groupby(level=["dataset", "pair"]):
            d = (g[method] - g.bp).to_numpy()
            iv = self.iv(d)
            rows.append(_row("C2", method, variant, dataset, pair, iv, superior(iv), method_mean=g[method].mean(),
                             bp_mean=g.bp.mean(), n_excluded=int(np.isnan(d).sum())))
        return rows

    def early_late(self, epochs, value="accuracy") -> list[dict]:
        test = epochs[(epochs.split == "test") & (epochs.dataset == "iris")]
        rows = []
        for pair, g in test.groupby("pair"):
            n_epochs = int(g.epoch.max())
            k = max(1, int(round(self.cc["early_fraction"] * n_epochs)))
            early = _paired(g[g.epoch <= k].groupby(KEY, as_index=False)[value].mean(), value, "stdp")
            late = _paired(g[g.epoch == n_epochs], value, "stdp")
            e, l_ = self.iv((early.bp - early.stdp).to_numpy()), self.iv((late.stdp - late.bp).to_numpy())
            rows.append(_row("C3", "stdp", value, "iris", pair, l_, early_then_late(e, l_, self.cc["margin"]),
                             early_epochs=k, early_gap_mean=e.mean, early_gap_ci_low=e.low, early_gap_ci_high=e.high))
        return rows


def rules_text(cc: dict) -> dict[str, str]:
    fmt = {"conf": cc["confidence"], "margin": cc["margin"], "early": cc["early_fraction"], "r": cc["fig4_range"],
           "t_pre": cc["fig4_t_pre"]}
    iv = "Student's t" if cc["interval"] == "t" else "BCa bootstrap"
    return {
        "C1": f"{NON_INFERIOR.format(**fmt)} ({iv}); {EVERY_PAIR}. verdict_auc: the same on test ROC-AUC.",
        "C2": f"{SUPERIOR.format(**fmt)} ({iv}), on FGSM accuracy averaged over the paper's eps; {MAJORITY}. The "
              "verdict_* columns apply the same rule to PGD, to the per-point worse of PGD and the transfer attack "
              "(transfer), to the Square Attack (decision), to the worst case over every attack (worst) and to the "
              "sweep.",
        "C3": f"{EARLY_THEN_LATE.format(**fmt)} ({iv}); {EVERY_PAIR}. verdict_auc: the same on test ROC-AUC.",
        "C4": PEAKS.format(**fmt) + ".",
        "C5": "C2's rule and verdict columns with feedback alignment (fa) in place of STDP.",
    }


def _count(rows) -> dict:
    vs = [r["verdict"] for r in rows]
    return {"n_pairs": len(vs), "n_supported": vs.count(SUPPORTED), "n_not_supported": vs.count(NOT_SUPPORTED),
            "n_inconclusive": vs.count(INCONCLUSIVE),
            "mean_diff": float(np.nanmean([r["mean_diff"] for r in rows])) if rows else np.nan,
            "half_width_median": float(np.nanmedian([r["half_width"] for r in rows])) if rows else np.nan,
            "half_width_max": float(np.nanmax([r["half_width"] for r in rows])) if rows else np.nan}


def deciding_number(claim: str, rows: list[dict], margin: float) -> str:
    """The one number a claim's verdict turns on, in words."""
    if not rows:
        return "no pairs ran"
    if claim in ("C1", "C3"):
        r = min(rows, key=lambda r: r["ci_low"] if np.isfinite(r["ci_low"]) else -np.inf)
        return (f"lowest CI lower bound {r['ci_low']:+.3f} ({r['dataset']} {r['pair']}) against the margin -{margin}"
                + (f"; early gap CI lower bound {r['early_gap_ci_low']:+.3f}" if claim == "C3" else ""))
    wins = sum(r["verdict"] == SUPPORTED for r in rows)
    losses = sum(r["verdict"] == NOT_SUPPORTED for r in rows)
    return f"{rows[0]['method']} wins {wins} of {len(rows)} pairs and loses {losses} (more than {len(rows) / 2:g} needed)"


def compute(epochs: pd.DataFrame, attacks: pd.DataFrame, sanity: pd.DataFrame, params: dict):
    """Returns (claims: one row per claim, by_pair: the per-pair numbers behind them).

    ``params``: claims (the claims block of the config), paper_eps, sweep_eps (units of 1/255)."""
    cc = params["claims"]
    judge = Judge(cc, params["paper_eps"], params["sweep_eps"])
    methods = [m for m in dict.fromkeys(epochs.method) if m != "bp"] if "bp" in set(epochs.method) else []
    by_pair: list[dict] = []
    for m in methods:
        by_pair += judge.accuracy(epochs, m) + judge.accuracy(epochs, m, "auc")
        for variant in ROBUSTNESS:
            by_pair += judge.robustness(attacks, m, variant)
    by_pair += judge.early_late(epochs) + judge.early_late(epochs, "auc") if "stdp" in methods else []
    bp_df = pd.DataFrame(by_pair)
    text = rules_text(cc)

    def rows_of(claim_kind, method, variant):
        if bp_df.empty:
            return []
        sel = bp_df[(bp_df.claim == claim_kind) & (bp_df.method == method) & (bp_df.variant == variant)]
        return sel.to_dict("records")

    out = []
    for cid, claim in CLAIMS.items():
        if cid == "C5" and "fa" not in methods:
            continue
        row = {"claim": cid, "statement": claim.statement}
        if cid == "C4":
            peaks = c4_peaks(cc["fig4_t_pre"], cc["fig4_range"])
            ok = peaks["eq6_peak_pos"] > peaks["eq6_peak_neg"] and peaks["eq5_peak_pos"] < peaks["eq5_peak_neg"]
            row.update(verdict=SUPPORTED if ok else NOT_SUPPORTED, n_pairs=0, **peaks,
                       deciding=f"eq. 6 peaks {peaks['eq6_peak_pos']:.3g} (dT > 0) vs {peaks['eq6_peak_neg']:.3g} "
                                f"(dT < 0); eq. 5 {peaks['eq5_peak_pos']:.3g} vs {peaks['eq5_peak_neg']:.3g}")
        elif cid == "C1":
            main = rows_of("C1", "stdp", "accuracy")
            row.update(verdict=every_pair([r["verdict"] for r in main]), **_count(main),
                       verdict_auc=every_pair([r["verdict"] for r in rows_of("C1", "stdp", "auc")]),
                       deciding=deciding_number("C1", main, cc["margin"]))
        elif cid == "C3":
            main = rows_of("C3", "stdp", "accuracy")
            row.update(verdict=every_pair([r["verdict"] for r in main]), **_count(main),
                       verdict_auc=every_pair([r["verdict"] for r in rows_of("C3", "stdp", "auc")]),
                       deciding=deciding_number("C3", main, cc["margin"]))
        else:  # C2, C5: the robustness rule for STDP, or FA
            main = rows_of("C2", claim.method, "fgsm")
            row.update(verdict=majority([r["verdict"] for r in main]), **_count(main),
                       deciding=deciding_number("C2", main, cc["margin"]))
            for variant, col in VERDICT_COLUMNS.items():
                if col != "verdict":
                    vrows = rows_of("C2", claim.method, variant)
                    row[col] = majority([r["verdict"] for r in vrows]) if vrows else None
            notes = sanity_mod.failures(sanity, [claim.method, "bp"]) if len(sanity) else {}
            row["sanity"] = "; ".join(f"{col}: {note}" for col, note in sorted(notes.items())) or "all checks pass"
        row["rule"] = text[cid]
        out.append(row)
    claims = pd.DataFrame(out)
    for col in ("n_supported", "n_not_supported", "n_inconclusive", "n_pairs"):
        if col in claims:
            claims[col] = claims[col].astype("Int64")
    return claims, bp_df


def mcnemar_table(example_frames: dict, attacks_of_interest=("pgd", "worst", "square"), reference="bp") -> pd.DataFrame:
    """Per (dataset, pair, method, seed, attack, eps): McNemar's exact test of the method against
    BP of the same seed, on the points both were attacked on."""
    from .stats import mcnemar

    rows = []
    for (dataset, pair), ex in example_frames.items():
        ex = ex[ex.attack.isin(attacks_of_interest) & (ex.method == ex.source)]
        idx = ex.set_index(["method", "seed", "attack", "eps_255"]).correct
        for (method, seed, attack, eps), c in idx.items():
            if method == reference or (reference, seed, attack, eps) not in idx.index:
                continue
            r = idx[(reference, seed, attack, eps)]
            seen = (c >= 0) & (r >= 0)
            b, cc, p = mcnemar(c[seen] == 1, r[seen] == 1)
            rows.append({"dataset": dataset, "pair": pair, "method": method, "seed": seed, "attack": attack,
                         "eps": eps / 255, "n_points": int(seen.sum()), "only_method": b, "only_bp": cc, "p_value": p})
    cols = ["dataset", "pair", "method", "seed", "attack", "eps", "n_points", "only_method", "only_bp", "p_value"]
    return pd.DataFrame(rows, columns=cols)
