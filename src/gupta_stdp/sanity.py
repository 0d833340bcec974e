"""Sanity checks of the attacks, per model (Carlini et al. 2019, "On Evaluating Adversarial
Robustness", section 5; SPEC 6). No torch: they read the derived attack table (full-set attacks)
and the per-example results (the subset cascade).

Each check gives one row (dataset, pair, method, seed, check, value, passed); a check that could
not run on a model (its attack was off, or the model diverged) gives no row. ``WEAKENS`` says which
readings of the claims a failure weakens; ``gupta_stdp.claims`` withdraws a pair's verdict on such a
reading where the failure could have produced it (a failed check makes that model's accuracy an
upper bound).

Where one attack should be at least as strong as another, it may fall short by ``TOLERANCE`` of the
points: the slack that the convergence check allows PGD itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import examples
from .examples import BROKEN, NO_RESULT, OUTSIDE

TOLERANCE = 0.01
ZERO_AT_LARGEST_EPS = 0.05  # an untargeted attack at the largest eps must reach 0, not chance

CHECKS = {
    "pgd_ge_fgsm": "PGD breaks at least as much as FGSM (BCE and margin) at every eps: value = max over eps of "
                   f"acc(PGD) - acc(FGSM); passes if <= {TOLERANCE}",
    "zero_at_largest_eps": f"accuracy under PGD at the largest eps of the sweep is at most {ZERO_AT_LARGEST_EPS}: "
                           "value = that accuracy",
    "transfer_le_whitebox": "transfer attacks break no more than white-box attacks on the same model: value = max "
                            f"over eps and surrogates of acc(white-box) - acc(transfer); passes if <= {TOLERANCE}",
    "square_le_whitebox": "the score-based Square Attack breaks no more than the white-box suite: value = the share "
                          "of its subset that Square broke after FGSM, noise and PGD had left it unbroken (max over "
                          f"eps); passes if <= {TOLERANCE}",
    "pgd_converged": "doubling PGD's steps and restarts breaks little more: value = the share of its subset that "
                     f"PGD with twice the steps and restarts broke where PGD had not; passes if <= {TOLERANCE}",
    "noise_le_pgd": "uniform noise of the same eps breaks no more than PGD: value = max over eps of "
                    f"acc(PGD) - acc(noise); passes if <= {TOLERANCE}",
}

# check -> the readings (gupta_stdp.claims.catalogue.READINGS) whose numbers a failure makes unreliable.
# A weak or unconverged PGD undermines every reading that rests on PGD. Gradient masking (Carlini et al.
# 2019: noise or a black-box attack beating the white-box ones, PGD unable to reach 0 at a large eps)
# undermines every reading that follows the model's own gradients, FGSM's included; the readings that
# hold the black-box attack itself stay (transfer's for transfer_le_whitebox, worst_subset's for Square).
_ON_PGD = ["pgd", "transfer", "worst", "worst_subset", "sweep_pgd"]
_ALL = ["fgsm", "pgd", "transfer", "worst", "worst_subset", "sweep_fgsm", "sweep_pgd"]
WEAKENS = {
    "pgd_ge_fgsm": _ON_PGD,
    "zero_at_largest_eps": _ALL,
    "transfer_le_whitebox": ["fgsm", "pgd", "sweep_fgsm", "sweep_pgd"],
    "square_le_whitebox": ["fgsm", "pgd", "transfer", "worst", "sweep_fgsm", "sweep_pgd"],
    "pgd_converged": _ON_PGD,
    "noise_le_pgd": _ALL,
}

MODEL = ["dataset", "pair", "method", "seed"]
COLUMNS = [*MODEL, "check", "value", "passed"]


def _acc(df: pd.DataFrame, attack: str, own: bool = True) -> pd.Series:
    """Accuracy per (model, eps[, source]) under ``attack`` (own attacks: source = the model)."""
    sub = df[(df.attack == attack) & ((df.source == df.method) if own else True)]
    return sub.set_index([*MODEL, "eps"] + ([] if own else ["source"])).accuracy


def _max_gap(stronger: pd.Series, weaker: pd.Series) -> pd.Series:
    """Per model: max over shared eps of acc(stronger) - acc(weaker) (> 0: the 'stronger' is not)."""
    joined = pd.concat([stronger.rename("a"), weaker.rename("b")], axis=1, join="inner")
    return (joined.a - joined.b).groupby(level=MODEL).max()


def _rows(values: pd.Series, check: str, limit: float) -> pd.DataFrame:
    out = values.dropna().rename("value").reset_index()
    out["check"] = check
    out["passed"] = out.value <= limit + 1e-12
    return out


def from_tables(attacks: pd.DataFrame, example_frames: dict[tuple[str, str], pd.DataFrame],
                largest_eps: float | None = None) -> pd.DataFrame:
    """All checks. ``attacks``: the derived attack table; ``example_frames``: (dataset, pair) ->
    examples.read(...) of that pair; ``largest_eps``: the sweep's largest eps (1/255), if it ran."""
    full = attacks[attacks.points == "all"] if "points" in attacks else attacks
    pgd = _acc(full, "pgd")
    parts = []
    if len(pgd):
        fgsm = pd.concat([_acc(full, "fgsm"), _acc(full, "fgsm_margin")]).groupby(level=[*MODEL, "eps"]).min()
        parts.append(_rows(_max_gap(pgd, fgsm), "pgd_ge_fgsm", TOLERANCE))
        if largest_eps is not None:
            top = pgd[np.isclose(pgd.index.get_level_values("eps"), largest_eps / 255)].droplevel("eps")
            parts.append(_rows(top, "zero_at_largest_eps", ZERO_AT_LARGEST_EPS))
        noise = _acc(full, "noise")
        if len(noise):
            parts.append(_rows(_max_gap(pgd, noise), "noise_le_pgd", TOLERANCE))
    gaps = []
    for white, transfer in (("pgd", "transfer_pgd"), ("fgsm_margin", "transfer_fgsm")):
        t = _acc(full, transfer, own=False)
        if len(t) and len(_acc(full, white)):
            w = _acc(full, white).rename("a")
            joined = t.rename("b").reset_index("source").join(w, how="inner")
            gaps.append((joined.a - joined.b).groupby(level=MODEL).max())
    if gaps:
        parts.append(_rows(pd.concat(gaps).groupby(level=MODEL).max(), "transfer_le_whitebox", TOLERANCE))
    subset_rows = [r for (dataset, pair), ex in example_frames.items() for r in _subset_checks(ex, dataset, pair)]
    if subset_rows:
        parts.append(pd.DataFrame(subset_rows))
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.concat(parts, ignore_index=True)[COLUMNS]
    return out.sort_values([*MODEL, "check"], kind="stable").reset_index(drop=True)


def _subset_checks(ex: pd.DataFrame, dataset: str, pair: str) -> list[dict]:
    """What the subset cascade added: the share of its points that pgd_2x (after PGD) and Square
    (after the own suite) broke; the worst over eps per model."""
    rows = []
    for r in ex[ex.attack.isin(["pgd_2x", "square"])].itertuples():
        c = r.correct
        if (c == NO_RESULT).any():
            continue
        check = "pgd_converged" if r.attack == "pgd_2x" else "square_le_whitebox"
        value = float((c == BROKEN).sum() / max(1, (c != OUTSIDE).sum()))
        rows.append({"dataset": dataset, "pair": pair, "method": r.method, "seed": r.seed, "check": check,
                     "value": value, "passed": value <= TOLERANCE + 1e-12})
    if not rows:
        return rows
    df = pd.DataFrame(rows).sort_values("value").groupby([*MODEL, "check"], as_index=False).last()
    return df.to_dict("records")


def read_all(paths: list[str]) -> dict[tuple[str, str], pd.DataFrame]:
    """The per-example files of each pair (``.../<dataset>/<pair>/*.npz``) -> its frame."""
    return examples.read_pairs(paths)


def summary(sanity: pd.DataFrame) -> pd.DataFrame:
    """One compact row per check and method: how many models were checked and failed, the worst value."""
    if sanity.empty:
        return pd.DataFrame(columns=["check", "method", "models", "failed", "worst_value", "flag"])
    g = sanity.assign(failed=~sanity.passed.astype(bool)).groupby(["check", "method"])
    out = g.agg(models=("passed", "size"), failed=("failed", "sum"), worst_value=("value", "max")).reset_index()
    out["flag"] = np.where(out.failed > 0, "FAIL", "ok")
    return out
