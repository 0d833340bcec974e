"""Verdicts on the paper's claims C1-C4 (SPEC section 5), computed from the tidy tables.

Every comparison is paired by seed (same seed = same initial weights and batch order for both
methods): per seed d = STDP - BP, then a percentile-bootstrap confidence interval of the mean d
over seeds. A seed where either method diverged is left out of its pair and counted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .stdp import eq5, eq6

SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE = "supported", "not supported", "inconclusive"

STATEMENTS = {
    "C1": "STDP reaches test accuracy comparable to (a little below) BP on every pair.",
    "C2": "STDP models keep more accuracy than BP models under FGSM in most pairs.",
    "C3": "On IRIS, STDP is poor in the first epochs, then catches up.",
    "C4": "Eq. 6 has the biological asymmetry (peak for dT > 0 higher than for dT < 0); eq. 5 the reverse.",
}


def bootstrap_ci(values, confidence=0.95, n_boot=10000, seed=0) -> tuple[float, float, float, float, int]:
    """(mean, sd, low, high, n) of the mean of ``values``; low/high NaN when n < 2."""
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=float)
    n = len(v)
    if n == 0:
        return (np.nan, np.nan, np.nan, np.nan, 0)
    mean, sd = float(v.mean()), float(v.std(ddof=1)) if n > 1 else np.nan
    if n < 2:
        return (mean, sd, np.nan, np.nan, n)
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, n, size=(n_boot, n))].mean(axis=1)
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(means, [alpha, 1 - alpha])
    return (mean, sd, float(lo), float(hi), n)


def _paired(df: pd.DataFrame, value: str) -> pd.DataFrame:
    """Per (dataset, pair, seed): the value of each method side by side, diverged runs dropped."""
    # pivot, not pivot_table(dropna=False): the latter crosses every dataset with every pair
    wide = df[df.method.isin(["stdp", "bp"])].pivot(index=["dataset", "pair", "seed"], columns="method", values=value)
    return wide.reindex(columns=["stdp", "bp"])


def _non_inferior(lo, hi, margin):
    if not np.isfinite(lo):
        return INCONCLUSIVE
    if lo > -margin:
        return SUPPORTED
    if hi < -margin:
        return NOT_SUPPORTED
    return INCONCLUSIVE


def _all_pairs(verdicts) -> str:
    verdicts = list(verdicts)
    if not verdicts:
        return INCONCLUSIVE
    if NOT_SUPPORTED in verdicts:
        return NOT_SUPPORTED
    return SUPPORTED if all(v == SUPPORTED for v in verdicts) else INCONCLUSIVE


def _row(claim, dataset, pair, stats, verdict, **extra):
    mean, sd, lo, hi, n = stats
    return {"claim": claim, "dataset": dataset, "pair": pair, "n_seeds": n, "mean_diff": mean, "sd_diff": sd,
            "ci_low": lo, "ci_high": hi, "verdict": verdict, **extra}


def _final_test(epochs: pd.DataFrame) -> pd.DataFrame:
    test = epochs[epochs.split == "test"]
    last = test.groupby(["dataset", "pair", "method", "seed"]).epoch.transform("max")
    return test[test.epoch == last]


def claim_c1(epochs, cc, value="accuracy") -> list[dict]:
    """Final test ``value`` (accuracy, or AUC for the threshold-free reading), STDP vs BP."""
    wide = _paired(_final_test(epochs), value)
    rows = []
    for (dataset, pair), g in wide.groupby(level=["dataset", "pair"]):
        d = (g.stdp - g.bp).to_numpy()
        st = bootstrap_ci(d, cc["confidence"], cc["n_boot"])
        rows.append(_row("C1", dataset, pair, st, _non_inferior(st[2], st[3], cc["margin"]), variant=value,
                         stdp_mean=g.stdp.mean(), bp_mean=g.bp.mean(), n_excluded=int(np.isnan(d).sum())))
    return rows


def claim_c2(attacks, cc, eps_255, attack="fgsm", variant="fgsm") -> list[dict]:
    """Accuracy under ``attack``, averaged over ``eps_255`` (> 0), STDP vs BP. For a transfer
    attack, 'stdp' rows are STDP models attacked with examples crafted on BP, and the reverse."""
    eps = [e / 255 for e in eps_255 if e > 0]
    adv = attacks[(attacks.attack == attack) & attacks.eps.apply(lambda e: bool(np.isclose(e, eps).any()))]
    if adv.empty:
        return []
    mean_adv = adv.groupby(["dataset", "pair", "method", "seed"], as_index=False).accuracy.mean()
    clean = attacks[(attacks.attack == "fgsm") & (attacks.eps == 0)]
    wide, wide_clean = _paired(mean_adv, "accuracy"), _paired(clean, "accuracy")
    rows = []
    for (dataset, pair), g in wide.groupby(level=["dataset", "pair"]):
        d = (g.stdp - g.bp).to_numpy()
        st = bootstrap_ci(d, cc["confidence"], cc["n_boot"])
        lo, hi = st[2], st[3]
        verdict = INCONCLUSIVE if not np.isfinite(lo) else SUPPORTED if lo > 0 else NOT_SUPPORTED if hi < 0 else INCONCLUSIVE
        c = wide_clean.loc[g.index]
        rows.append(_row("C2", dataset, pair, st, verdict, variant=variant, stdp_mean=g.stdp.mean(), bp_mean=g.bp.mean(),
                         n_excluded=int(np.isnan(d).sum()), stdp_drop=(c.stdp - g.stdp).mean(),
                         bp_drop=(c.bp - g.bp).mean()))
    return rows


def claim_c3(epochs, cc, value="accuracy") -> list[dict]:
    test = epochs[(epochs.split == "test") & (epochs.dataset == "iris")]
    rows = []
    for pair, g in test.groupby("pair"):
        n_epochs = int(g.epoch.max())
        k = max(1, int(round(cc["early_fraction"] * n_epochs)))
        early = _paired(g[g.epoch <= k].groupby(["dataset", "pair", "method", "seed"], as_index=False)[value].mean(),
                        value)
        late = _paired(g[g.epoch == n_epochs], value)
        e = bootstrap_ci((early.bp - early.stdp).to_numpy(), cc["confidence"], cc["n_boot"])
        l_ = bootstrap_ci((late.stdp - late.bp).to_numpy(), cc["confidence"], cc["n_boot"])
        if not (np.isfinite(e[2]) and np.isfinite(l_[2])):
            verdict = INCONCLUSIVE
        elif e[2] > 0 and l_[2] > -cc["margin"]:
            verdict = SUPPORTED
        elif e[3] <= 0 or l_[3] < -cc["margin"]:
            verdict = NOT_SUPPORTED
        else:
            verdict = INCONCLUSIVE
        rows.append(_row("C3", "iris", pair, l_, verdict, variant=value, early_epochs=k, early_gap_mean=e[0],
                         early_gap_ci_low=e[2], early_gap_ci_high=e[3]))
    return rows


def _combine(claim: str, verdicts: list[str]) -> str:
    """Per-pair verdicts -> the claim's: C2 needs a majority of pairs, C1 and C3 every pair."""
    if claim != "C2":
        return _all_pairs(verdicts)
    wins, undecided = verdicts.count(SUPPORTED), verdicts.count(INCONCLUSIVE)
    if not verdicts:
        return INCONCLUSIVE
    if wins > len(verdicts) / 2:
        return SUPPORTED
    return NOT_SUPPORTED if wins + undecided <= len(verdicts) / 2 else INCONCLUSIVE


def c4_peaks(t_pre: float, r: float, n: int = 2001) -> dict[str, float]:
    dt = torch.linspace(-r * t_pre, r * t_pre, n, dtype=torch.float64)
    out = {}
    for name, f in (("eq5", eq5), ("eq6", eq6)):
        v = f(dt, t_pre)
        out[f"{name}_peak_pos"] = float(v[dt > 0].max())
        out[f"{name}_peak_neg"] = float(-v[dt < 0].min())
    return out


def compute(epochs: pd.DataFrame, attacks: pd.DataFrame, config: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Returns (claims: one row per claim, by_pair: the per-pair numbers behind C1-C3)."""
    cc = config["claims"]
    rules = {
        "C1": f"per pair, 95% bootstrap CI of mean paired (STDP - BP) final test accuracy: supported if its lower "
              f"bound > -{cc['margin']}, not supported if its upper bound < -{cc['margin']}; C1 needs every pair; "
              "verdict_auc: the same on test ROC-AUC",
        "C2": "per pair, CI of mean paired (STDP - BP) FGSM accuracy averaged over the paper's eps: STDP wins if "
              "lower bound > 0, loses if upper bound < 0; supported if wins > half the pairs, not supported if "
              "wins + undecided <= half. The same rule gives verdict_pgd (PGD), verdict_transfer_* (STDP attacked "
              "with examples crafted on BP vs the reverse), verdict_hopskipjump (decision-based, on a test subset) and "
              "verdict_sweep_* (accuracy averaged over the sweep)",
        "C3": f"per IRIS pair, early gap = BP - STDP test accuracy over the first {cc['early_fraction']:.0%} of "
              f"epochs must have CI > 0, and final (STDP - BP) CI lower bound > -{cc['margin']}; every pair; "
              "verdict_auc: the same on test ROC-AUC",
        "C4": f"peaks of eq. 5 and eq. 6 over dT in [-{cc['fig4_range']}, {cc['fig4_range']}] x T_pre "
              f"(T_pre = {cc['fig4_t_pre']}): eq. 6 positive peak > negative, eq. 5 the reverse",
    }
    paper_eps = config["attacks"]["fgsm"]["eps"]
    sweep = config["attacks"]["sweep"]["eps"]
    main = {"C1": claim_c1(epochs, cc), "C2": claim_c2(attacks, cc, paper_eps),
            "C3": claim_c3(epochs, cc)}
    # Further readings of the same claims, reported as extra columns verdict_<variant>.
    extra = {
        "C1": {"auc": claim_c1(epochs, cc, "auc")},
        "C2": {"pgd": claim_c2(attacks, cc, paper_eps, "pgd", "pgd"),
               "transfer_fgsm": claim_c2(attacks, cc, paper_eps, "transfer_fgsm", "transfer_fgsm"),
               "transfer_pgd": claim_c2(attacks, cc, paper_eps, "transfer_pgd", "transfer_pgd"),
               "hopskipjump": claim_c2(attacks, cc, paper_eps, "hopskipjump", "hopskipjump"),
               "sweep_fgsm": claim_c2(attacks, cc, sweep, "fgsm", "sweep_fgsm"),
               "sweep_pgd": claim_c2(attacks, cc, sweep, "pgd", "sweep_pgd")},
        "C3": {"auc": claim_c3(epochs, cc, "auc")},
    }
    by_pair = pd.DataFrame([r for rows in main.values() for r in rows]
                           + [r for variants in extra.values() for rows in variants.values() for r in rows])
    claims = []
    for name, rows in main.items():
        row = {"claim": name, "verdict": _combine(name, [r["verdict"] for r in rows])}
        vs = [r["verdict"] for r in rows]
        row.update({"n_pairs": len(vs), "n_supported": vs.count(SUPPORTED), "n_not_supported": vs.count(NOT_SUPPORTED),
                    "n_inconclusive": vs.count(INCONCLUSIVE),
                    "mean_diff": float(np.nanmean([r["mean_diff"] for r in rows])) if rows else np.nan})
        for variant, vrows in extra[name].items():
            if vrows:
                row[f"verdict_{variant}"] = _combine(name, [r["verdict"] for r in vrows])
        claims.append(row)
    peaks = c4_peaks(cc["fig4_t_pre"], cc["fig4_range"])
    ok = peaks["eq6_peak_pos"] > peaks["eq6_peak_neg"] and peaks["eq5_peak_pos"] < peaks["eq5_peak_neg"]
    claims.append({"claim": "C4", "verdict": SUPPORTED if ok else NOT_SUPPORTED, "n_pairs": 0, **peaks})
    out = pd.DataFrame(claims)
    for col in ("n_supported", "n_not_supported", "n_inconclusive"):
        out[col] = out[col].astype("Int64")
    out.insert(2, "statement", out.claim.map(STATEMENTS))
    out["rule"] = out.claim.map(rules)
    return out, by_pair
