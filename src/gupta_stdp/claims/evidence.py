"""The evidence per pair: the paired differences over seeds behind every reading, and their
tests (``gupta_stdp.stats``). A seed is a paired comparison (same initial weights, batch order
and, for IRIS, split for both methods); a seed where either side has no number (a diverged member)
is left out and counted. No torch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..stats import Evidence, evidence
from ..tables import one_source
from .catalogue import Reading

KEY = ["dataset", "pair", "method", "seed"]


def final_test(epochs: pd.DataFrame) -> pd.DataFrame:
    test = epochs[epochs.split == "test"]
    return test[test.epoch == test.groupby(KEY).epoch.transform("max")]


def _paired(df: pd.DataFrame, value: str, method: str) -> pd.DataFrame:
    """Per (dataset, pair, seed): ``method`` and BP side by side (NaN where a side has no number)."""
    wide = df.pivot(index=["dataset", "pair", "seed"], columns="method", values=value)
    return wide.reindex(columns=[method, "bp"])


def _attack_rows(attacks: pd.DataFrame, reading: Reading, eps: list[float], method: str, partner: str) -> pd.DataFrame:
    """Accuracy under the reading's attack, averaged over ``eps`` (units of 1/255), per model: the
    method's rows, and BP's rows against ``partner`` (for attacks that carry a surrogate's examples,
    BP meets the examples of the method's own rule, so that both sides are attacked alike)."""
    sel = attacks[(attacks.attack == reading.attack) & attacks.method.isin([method, "bp"])]
    sel = sel[np.isclose(sel.eps.to_numpy(dtype=float)[:, None] * 255, np.asarray(eps, dtype=float)[None, :]).any(axis=1)]
    both = one_source(sel, [partner])
    full = both.groupby(KEY).eps.transform("nunique") == len(set(eps))  # a model without every eps has no number
    return both[full].groupby(KEY, as_index=False).accuracy.agg(lambda a: a.mean(skipna=False))


def paired_values(reading: Reading, tables: dict, method: str, partner: str, report_eps: float,
                  sweep_eps: list[float]) -> pd.DataFrame:
    """Wide per-seed table (index dataset, pair, seed; columns method, bp) of the reading's value."""
    if reading.kind == "final":
        return _paired(final_test(tables["epochs"]), reading.value, method)
    eps = [report_eps] if reading.eps == "report" else [e for e in sweep_eps if e > 0]
    rows = _attack_rows(tables["attacks"], reading, eps, method, partner)
    if rows.empty or not ({method, "bp"} <= set(rows.method)):
        return pd.DataFrame(columns=[method, "bp"])
    return _paired(rows, "accuracy", method)


def early_late_values(epochs: pd.DataFrame, value: str, early_fraction: float):
    """C3 per IRIS pair: (early, late) wide tables: mean test ``value`` over the first epochs, and
    at the last epoch, STDP and BP side by side."""
    test = epochs[(epochs.split == "test") & (epochs.dataset == "iris") & epochs.method.isin(["stdp", "bp"])]
    out = {}
    for pair, g in test.groupby("pair"):
        n_epochs = int(g.epoch.max())
        k = max(1, int(round(early_fraction * n_epochs)))
        early = _paired(g[g.epoch <= k].groupby(KEY, as_index=False)[value].agg(lambda a: a.mean(skipna=False)),
                        value, "stdp")
        late = _paired(g[g.epoch == n_epochs], value, "stdp").reindex(early.index)
        out[("iris", pair)] = (early, late, k)
    return out


def pair_row(dataset, pair, ev: Evidence, method_mean, bp_mean, n_total) -> dict:
    iv = ev.interval
    return {"dataset": dataset, "pair": pair, "n_seeds": iv.n, "n_excluded": int(n_total - iv.n),
            "mean_diff": iv.mean, "sd_diff": iv.sd, "ci_low": iv.low, "ci_high": iv.high, "half_width": iv.half_width,
            "test": ev.test, "method_mean": method_mean, "bp_mean": bp_mean}


def differences(wide: pd.DataFrame, method: str, cc: dict) -> list[tuple[str, str, dict, dict]]:
    """Per (dataset, pair): ({"d": Evidence}, row numbers) of method - BP."""
    out = []
    for (dataset, pair), g in wide.groupby(level=["dataset", "pair"]):
        d = (g[method] - g.bp).to_numpy(dtype=float)
        ev = evidence(d, cc["confidence"], cc["interval"], cc["n_boot"])
        out.append((dataset, pair, {"d": ev}, pair_row(dataset, pair, ev, g[method].mean(), g.bp.mean(), len(d))))
    return out


def early_late(epochs: pd.DataFrame, value: str, cc: dict) -> list[tuple[str, str, dict, dict]]:
    """Per IRIS pair: ({"early": BP - STDP over the first epochs, "late": STDP - BP at the end}, row)."""
    out = []
    for (dataset, pair), (early, late, k) in early_late_values(epochs, value, cc["early_fraction"]).items():
        gap, d = (early.bp - early.stdp).to_numpy(dtype=float), (late.stdp - late.bp).to_numpy(dtype=float)
        both = np.isfinite(gap) & np.isfinite(d)  # one set of seeds for both tests: a seed lost in either is left out
        gap, d = np.where(both, gap, np.nan), np.where(both, d, np.nan)
        e = evidence(gap, cc["confidence"], cc["interval"], cc["n_boot"])
        l_ = evidence(d, cc["confidence"], cc["interval"], cc["n_boot"])
        row = pair_row(dataset, pair, l_, late.stdp.mean(), late.bp.mean(), len(d))
        row.update(early_epochs=k, early_n_seeds=e.interval.n, early_gap_mean=e.interval.mean,
                   early_gap_ci_low=e.interval.low, early_gap_ci_high=e.interval.high, early_test=e.test)
        out.append((dataset, pair, {"early": e, "late": l_}, row))
    return out
