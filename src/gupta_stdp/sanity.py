"""Sanity checks of the attacks, per model (Carlini et al. 2019, "On Evaluating Adversarial
Robustness", section 5; SPEC 6). No torch: they read the attack table and the per-example results.

Each check gives one row (dataset, pair, method, seed, check, value, passed). ``WEAKENS`` says which
verdict of the claims table a failure weakens; the report shows failures beside those verdicts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import examples

CONVERGENCE_TOLERANCE = 0.01  # doubling PGD's steps and restarts moves accuracy by at most this
ZERO_AT_LARGEST_EPS = 0.05  # an untargeted attack at the largest eps must reach 0, not chance

CHECKS = {
    "pgd_ge_fgsm": "PGD breaks at least as much as FGSM (BCE and margin) at every eps: "
                   "value = max over eps of acc(PGD) - acc(FGSM); passes if <= 0",
    "zero_at_largest_eps": f"accuracy under PGD at the largest eps of the sweep is at most {ZERO_AT_LARGEST_EPS}: "
                           "value = that accuracy",
    "transfer_le_whitebox": "transfer attacks break no more than white-box attacks on the same model: "
                            "value = max over eps of acc(white-box) - acc(transfer); passes if <= 0",
    "decision_le_whitebox": "the score-based Square Attack breaks no more than PGD on the same points: "
                            "value = max over eps of acc(PGD) - acc(Square); passes if <= 0",
    "pgd_converged": "doubling PGD's steps and restarts moves accuracy by at most "
                     f"{CONVERGENCE_TOLERANCE}: value = |acc(PGD x2) - acc(PGD)| on the same points",
    "noise_le_pgd": "uniform noise of the same eps breaks no more than PGD: "
                    "value = max over eps of acc(PGD) - acc(noise); passes if <= 0",
}

WEAKENS = {
    "pgd_ge_fgsm": ["verdict_pgd", "verdict_worst"],
    "zero_at_largest_eps": ["verdict_pgd", "verdict_sweep_pgd", "verdict_worst"],
    "transfer_le_whitebox": ["verdict", "verdict_pgd"],
    "decision_le_whitebox": ["verdict", "verdict_pgd"],
    "pgd_converged": ["verdict_pgd", "verdict_sweep_pgd", "verdict_worst"],
    "noise_le_pgd": ["verdict_pgd"],
}

MODEL = ["dataset", "pair", "method", "seed"]


def _acc(df: pd.DataFrame, attack: str) -> pd.Series:
    """Accuracy per (model, eps) under ``attack``."""
    sub = df[df.attack == attack]
    return sub.set_index([*MODEL, "eps"]).accuracy


def _max_gap(stronger: pd.Series, weaker: pd.Series) -> pd.Series:
    """Per model: max over shared eps of acc(stronger) - acc(weaker) (> 0: the 'stronger' is not)."""
    joined = pd.concat([stronger.rename("a"), weaker.rename("b")], axis=1, join="inner")
    return (joined.a - joined.b).groupby(level=MODEL).max()


def _rows(values: pd.Series, check: str, passed) -> pd.DataFrame:
    out = values.rename("value").reset_index()
    out["check"] = check
    out["passed"] = passed(out.value)
    return out


def from_tables(attacks: pd.DataFrame, example_frames: dict[tuple[str, str], pd.DataFrame]) -> pd.DataFrame:
    """All checks. ``example_frames``: (dataset, pair) -> examples.read(...) of that pair."""
    full = attacks[attacks.attack.isin(["fgsm", "fgsm_margin", "pgd", "noise", "transfer_fgsm", "transfer_pgd"])]
    pgd = _acc(full, "pgd")
    parts = []
    if len(pgd):
        fgsm = pd.concat([_acc(full, "fgsm"), _acc(full, "fgsm_margin")]).groupby(level=[*MODEL, "eps"]).min()
        parts.append(_rows(_max_gap(pgd, fgsm), "pgd_ge_fgsm", lambda v: v <= 0))
        last = pgd.reset_index().sort_values("eps", kind="stable").groupby(MODEL).last()
        swept = last[last.eps > attacks[attacks.attack == "fgsm"].eps.max()]  # models attacked over the sweep
        parts.append(_rows(swept.accuracy, "zero_at_largest_eps", lambda v: v <= ZERO_AT_LARGEST_EPS))
        if (full.attack == "transfer_pgd").any():
            gap = pd.concat([_max_gap(pgd, _acc(full, "transfer_pgd")),
                             _max_gap(_acc(full, "fgsm_margin"), _acc(full, "transfer_fgsm"))]).groupby(level=MODEL).max()
            parts.append(_rows(gap, "transfer_le_whitebox", lambda v: v <= 0))
        noise = _acc(full, "noise")
        if len(noise):
            parts.append(_rows(_max_gap(pgd, noise), "noise_le_pgd", lambda v: v <= 0))
    subset_rows = []
    for (dataset, pair), ex in example_frames.items():
        subset_rows += _subset_checks(ex, dataset, pair)
    if subset_rows:
        parts.append(pd.DataFrame(subset_rows))
    if not parts:
        return pd.DataFrame(columns=[*MODEL, "check", "value", "passed"])
    out = pd.concat(parts, ignore_index=True)[[*MODEL, "check", "value", "passed"]]
    return out.sort_values([*MODEL, "check"], kind="stable").reset_index(drop=True)


def _subset_checks(ex: pd.DataFrame, dataset: str, pair: str) -> list[dict]:
    """The checks that compare attacks on the subset of points the subset attacks ran on."""
    rows = []
    idx = ex.set_index(["method", "seed", "attack", "eps_255"]).correct
    for (method, seed, attack, eps), sub in idx.items():
        if attack not in ("pgd_2x", "square"):
            continue
        base = idx.get((method, seed, "pgd", eps))
        if base is None:
            continue
        seen = sub >= 0
        a_sub, a_pgd = float((sub[seen] == 1).mean()), float((base[seen] == 1).mean())
        if attack == "pgd_2x":
            rows.append({"dataset": dataset, "pair": pair, "method": method, "seed": seed, "check": "pgd_converged",
                         "value": abs(a_sub - a_pgd), "passed": abs(a_sub - a_pgd) <= CONVERGENCE_TOLERANCE + 1e-12})
        else:
            rows.append({"dataset": dataset, "pair": pair, "method": method, "seed": seed,
                         "check": "decision_le_whitebox", "value": a_pgd - a_sub, "passed": a_pgd - a_sub <= 0})
    if not rows:
        return rows
    df = pd.DataFrame(rows)  # several eps of one check: keep the worst per model
    df = df.sort_values("value").groupby([*MODEL, "check"], as_index=False).last()
    return df.to_dict("records")


def read_all(paths: list[str]) -> dict[tuple[str, str], pd.DataFrame]:
    """examples.npz of each pair (path .../<dataset>/<pair>/examples.npz) -> its frame."""
    from pathlib import Path

    return {(Path(p).parent.parent.name, Path(p).parent.name): examples.read(p) for p in paths}


def failures(sanity: pd.DataFrame, methods: list[str]) -> dict[str, str]:
    """verdict column -> a note of the failed checks that weaken it, over the models of ``methods``."""
    sub = sanity[sanity.method.isin(methods)]
    notes: dict[str, list[str]] = {}
    for check, g in sub.groupby("check"):
        n_fail = int((~g.passed.astype(bool)).sum())
        if n_fail:
            for col in WEAKENS.get(check, []):
                notes.setdefault(col, []).append(f"{check} fails on {n_fail} of {len(g)} models")
    return {col: "; ".join(v) for col, v in notes.items()}


def summary(sanity: pd.DataFrame) -> pd.DataFrame:
    """One compact row per check and method: how many models pass, the worst value, a flag."""
    if sanity.empty:
        return pd.DataFrame(columns=["check", "method", "models", "failed", "worst_value", "flag"])
    g = sanity.assign(failed=~sanity.passed.astype(bool)).groupby(["check", "method"])
    out = g.agg(models=("passed", "size"), failed=("failed", "sum"), worst_value=("value", "max")).reset_index()
    out["flag"] = np.where(out.failed > 0, "FAIL", "ok")
    return out
