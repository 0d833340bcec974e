"""Would another setting change the verdicts? (SPEC 6b.) The claims' own rules applied to every
specification of the multiverse, and to each method at its own best validation setting. No torch.

A *specification* is one combination of the open choices (learning rate, batch size, training
length and, for STDP, bias handling), applied to both sides of a comparison as the paper did, and
to every pair: batch sizes and training lengths are set per data set, so a specification takes the
k-th value of each data set's list (its *level*; a data set with one value has it at every level,
and the table names a level by its values, e.g. batch size "40/100" for IRIS 40 and MNIST 100). BP's
biases always train, so BP's model of (lr, batch size, epochs) meets STDP's under either bias
handling. Per specification, the claim's verdict comes from exactly the code that judges the
main run (``claims.Judge`` and the claim's way of combining pairs, over the paper's pairs), on
the specification's test-split numbers. *Tuned*: per pair and method, the specification with the
highest mean validation accuracy over seeds; the methods are then compared on the test split, each
at its own choice. The test split never enters a choice.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..stats import interval
from .catalogue import CLAIMS
from .verdicts import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED

FACTORS = ["lr", "batch_size", "epochs", "bias"]
LEVELS = {"batch_size": "batch_level", "epochs": "epochs_level"}
SPEC = ["lr", "batch_level", "epochs_level", "bias"]  # what makes a specification, over every pair
# (claim, reading, the attack column of specifications.csv): C1 on clean accuracy, C2 (and C5) on
# the paper's FGSM and on the worst case.
TARGETS = [("C1", "accuracy", "clean"), ("C2", "fgsm", "fgsm"), ("C2", "worst", "worst"),
           ("C5", "fgsm", "fgsm"), ("C5", "worst", "worst")]
VERDICT_COLUMNS = ["kind", "claim", "reading", "method", *FACTORS, "batch_level", "epochs_level", "level_datasets", "verdict", "n_pairs", "n_supported",
                   "n_not_supported", "n_inconclusive", "n_excluded", "n_seeds", "mean_diff", "ci_low", "ci_high"]
TUNED_COLUMNS = ["dataset", "pair", "method", "seed", *FACTORS, "val_accuracy", "test_accuracy", "n_candidates",
                 "n_invalid", "n_tied", "paper_setting"]


def _value(specs: pd.DataFrame, attack: str, report_eps: float) -> pd.DataFrame:
    """The test-split rows of one reading: clean accuracy, or the attack at report.eps."""
    sel = specs[(specs.split == "test") & (specs.attack == attack)]
    if attack != "clean":
        sel = sel[np.isclose(sel.eps.astype(float) * 255, report_eps)]
    return sel


def _tables(rows: pd.DataFrame, attack: str) -> dict:
    """The table ``claims.Judge`` reads for one reading, from the rows of one specification (every
    pair, both methods): the final test accuracy as an epoch table, or the attack's accuracy."""
    key = rows[["dataset", "pair", "method", "seed"]]
    if attack == "clean":
        return {"epochs": key.assign(epoch=rows.epochs.to_numpy(), split="test", accuracy=rows.accuracy.to_numpy())}
    return {"attacks": key.assign(attack=attack, eps=rows.eps.to_numpy(), accuracy=rows.accuracy.to_numpy(),
                                  source=rows.method.to_numpy())}


def judge(rows: pd.DataFrame, claim_id: str, reading: str, attack: str, params: dict) -> dict:
    """The claim's verdict on the paper's pairs from ``rows`` (one setting per method, pair and seed),
    by the main run's code (``Judge`` and the claim's way of combining pairs; no sanity check runs on
    the multiverse's attacks, so none can withdraw a verdict here); with the pooled paired
    difference (per seed, the mean over the paper's pairs of method - BP; a seed without a number
    on some pair left out) and its t-interval, for the curve."""
    from . import PAPER, Judge, _reading_result

    claim = CLAIMS[claim_id]
    tables = _tables(rows, attack)
    found = [r for r in Judge(tables, params).by_pair(claim.method, reading) if r["scope"] == PAPER]
    res = _reading_result(claim, reading, found, params["claims"]["margin"])
    wide = rows[_paper(rows, params["paper_pairs"])].pivot(index=["dataset", "pair", "seed"], columns="method",
                                                          values="accuracy")
    if {claim.method, "bp"} <= set(wide.columns):
        # a seed with no number on some pair (a diverged model) is left out of the pooled difference
        per_seed = (wide[claim.method] - wide["bp"]).groupby(level="seed").agg(lambda d: d.mean(skipna=False))
        iv = interval(per_seed.to_numpy(dtype=float), params["claims"]["confidence"], "t")
        pooled = {"n_seeds": iv.n, "mean_diff": iv.mean, "ci_low": iv.low, "ci_high": iv.high}
    else:
        pooled = {"n_seeds": 0, "mean_diff": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    return {"verdict": res["verdict"], **{k: res[k] for k in ("n_pairs", "n_supported", "n_not_supported",
                                                              "n_inconclusive", "n_excluded")}, **pooled}


def _paper(rows: pd.DataFrame, paper_pairs: dict) -> np.ndarray:
    """The rows of the paper's pairs (the scope that decides C1-C3 and C5 in the main run too)."""
    from . import PAPER, scope_of

    return np.array([scope_of(d, p, paper_pairs) == PAPER for d, p in zip(rows.dataset, rows.pair)], dtype=bool)


def _with_bp(specs: pd.DataFrame, method: str) -> pd.DataFrame:
    """``method``'s rows, and BP's rows once per bias handling of ``method`` (BP's biases always
    train, so its model of (lr, batch size, epochs) meets each of the method's)."""
    mine, bp = specs[specs.method == method], specs[specs.method == "bp"]
    return pd.concat([mine, *(bp.assign(bias=b) for b in mine.bias.unique())], ignore_index=True)


def with_levels(specs: pd.DataFrame, grid: dict) -> pd.DataFrame:
    """``specs`` with each row's level of batch size and training length (its position in its data
    set's list in ``grid``: dataset -> {epochs, batch_size}); the rows of a data set with one value
    repeated at every level."""
    out = specs
    for factor, level in LEVELS.items():
        n = max(len(grid[d][factor]) for d in specs.dataset.unique())
        parts = []
        for dataset, g in out.groupby("dataset", sort=False):
            values = list(grid[dataset][factor])
            if len(values) == 1:
                parts += [g.assign(**{level: k}) for k in range(n)]
            else:
                parts.append(g.assign(**{level: g[factor].map({v: i for i, v in enumerate(values)})}))
        out = pd.concat(parts, ignore_index=True)
    return out


def level_names(grid: dict, datasets: list[str]) -> dict[str, dict[int, str]]:
    """Per factor, level -> its values over ``datasets`` joined by "/" (e.g. "40/100")."""
    out = {}
    for factor, level in LEVELS.items():
        n = max(len(grid[d][factor]) for d in datasets)
        out[level] = {k: "/".join(str(grid[d][factor][k if len(grid[d][factor]) > 1 else 0]) for d in datasets)
                      for k in range(n)}
    return out


def per_specification(specs: pd.DataFrame, params: dict) -> pd.DataFrame:
    """One row per claim, reading and specification: its verdict by the claim's rule and the pooled
    difference. C5 only where ``fa`` ran. ``params["grid"]``: each data set's batch sizes and
    training lengths (the levels)."""
    datasets = list(dict.fromkeys(specs.dataset))
    names = level_names(params["grid"], datasets)
    levelled = with_levels(specs, params["grid"])
    out = []
    for claim_id, reading, attack in TARGETS:
        method = CLAIMS[claim_id].method
        if method not in set(specs.method) or "bp" not in set(specs.method):
            continue
        both = _with_bp(_value(levelled, attack, params["report_eps"]), method)
        for (lr, b, e, bias), rows in both.groupby(SPEC, sort=True):
            out.append({"kind": "specification", "claim": claim_id, "reading": reading, "method": method, "lr": lr,
                        "batch_size": names["batch_level"][b], "epochs": names["epochs_level"][e], "bias": bias,
                        "batch_level": b, "epochs_level": e, "level_datasets": "/".join(datasets),
                        **judge(rows, claim_id, reading, attack, params)})
    return pd.DataFrame(out, columns=VERDICT_COLUMNS)


def tuned_choices(specs: pd.DataFrame, paper: dict) -> pd.DataFrame:
    """Per (dataset, pair, method, seed): the specification with the highest validation accuracy of
    that seed's model (a diverged model is no candidate). Each seed is a replicate of the whole
    procedure, tuning included: it chooses on its own validation points and is scored on its own
    test points. (On IRIS every seed draws its own split, so one seed's validation points can be
    another's test points: a choice shared over seeds would let test points choose.) Accuracies are
    compared to 9 decimals; a tie (``n_tied`` > 1: frequent on IRIS's 8 validation points) goes to
    the paper's setting (``paper``: {"datasets": dataset -> {lr, batch_size, epochs}, "bias"}), then to
    the shortest training, the smallest batch and rate. Reads the validation split only."""
    key = ["dataset", "pair", "method", "seed"]
    val = specs[(specs.split == "val") & (specs.attack == "clean")]
    rows = []
    for (dataset, pair, method, seed), g in val.groupby(key):
        ref = paper["datasets"].get(dataset, {})
        g = g.assign(score=g.accuracy.round(9),
                     paper_setting=(g.lr == ref.get("lr")) & (g.batch_size == ref.get("batch_size"))
                     & (g.epochs == ref.get("epochs")) & g.bias.isin([paper.get("bias"), "trained"]))
        ok = g[g.accuracy.notna()]
        if ok.empty:
            continue
        best = ok.sort_values(["score", "paper_setting", "epochs", "batch_size", "lr", "bias"],
                              ascending=[False, False, True, True, True, True]).iloc[0]
        rows.append({"dataset": dataset, "pair": pair, "method": method, "seed": seed, **{f: best[f] for f in FACTORS},
                     "val_accuracy": best.accuracy, "n_candidates": len(g), "n_invalid": int(g.accuracy.isna().sum()),
                     "n_tied": int((ok.score == best.score).sum()), "paper_setting": bool(best.paper_setting)})
    out = pd.DataFrame(rows, columns=[c for c in TUNED_COLUMNS if c != "test_accuracy"])
    test = specs[(specs.split == "test") & (specs.attack == "clean")]
    test = test[[*key, *FACTORS, "accuracy"]].rename(columns={"accuracy": "test_accuracy"})
    return out.merge(test, on=[*key, *FACTORS], how="left")[TUNED_COLUMNS]


def tuned_summary(choices: pd.DataFrame) -> pd.DataFrame:
    """For the report: per (dataset, pair, method), the settings the seeds chose (most frequent
    first, ties in the order of their first choice, with their count), the mean validation and test
    accuracy at them, and how many choices were the paper's setting or broke a tie."""
    rows = []
    for (dataset, pair, method), g in choices.groupby(["dataset", "pair", "method"], sort=False):
        # stable: settings chosen equally often keep the order of their first choice (numpy's default
        # quicksort reorders ties of 10 or more items differently on different CPUs)
        picks = g.groupby(FACTORS, sort=False).size().sort_values(ascending=False, kind="stable")
        text = "; ".join(f"lr {lr:g}, batch {b}, {e} epochs" + ("" if bias == "trained" else f", {bias}") + f" ({k})"
                         for (lr, b, e, bias), k in picks.items())
        rows.append({"dataset": dataset, "pair": pair, "method": method, "chosen (seeds)": text,
                     "val_accuracy": g.val_accuracy.mean(), "test_accuracy": g.test_accuracy.mean(),
                     "paper's setting": f"{int(g.paper_setting.sum())} of {len(g)}",
                     "ties broken": int((g.n_tied > 1).sum())})
    return pd.DataFrame(rows)


def tuned_verdicts(specs: pd.DataFrame, choices: pd.DataFrame, params: dict) -> pd.DataFrame:
    """Per claim and reading: the verdict with each method (and seed) at its own choice (``tuned_choices``)."""
    key = ["dataset", "pair", "method", "seed", *FACTORS]
    chosen = specs.merge(choices[key], on=key)
    out = []
    for claim_id, reading, attack in TARGETS:
        method = CLAIMS[claim_id].method
        rows = _value(chosen, attack, params["report_eps"])
        rows = rows[rows.method.isin([method, "bp"])]
        if method not in set(rows.method) or "bp" not in set(rows.method):
            continue
        out.append({"kind": "tuned", "claim": claim_id, "reading": reading, "method": method,
                    **dict.fromkeys(FACTORS, np.nan), **judge(rows, claim_id, reading, attack, params)})
    return pd.DataFrame(out, columns=VERDICT_COLUMNS)


def summarise(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Per claim and reading: how many specifications support it, do not, or cannot tell, and the
    tuned verdict."""
    rows = []
    for (claim, reading), g in verdicts.groupby(["claim", "reading"], sort=False):
        spec = g[g.kind == "specification"].verdict
        tuned = g[g.kind == "tuned"].verdict
        rows.append({"claim": claim, "reading": reading, "specs_total": len(spec),
                     "specs_supported": int((spec == SUPPORTED).sum()),
                     "specs_not_supported": int((spec == NOT_SUPPORTED).sum()),
                     "specs_inconclusive": int((spec == INCONCLUSIVE).sum()),
                     "verdict_tuned": tuned.iloc[0] if len(tuned) else "not run"})
    return pd.DataFrame(rows)


def claim_columns(claims: pd.DataFrame, verdicts: pd.DataFrame) -> pd.DataFrame:
    """claims.csv's multiverse columns: the headline reading's counts and tuned verdict unsuffixed
    (SPEC 8), every reading's with its name as suffix. Claims without a specification row get none."""
    summary = summarise(verdicts)
    out = claims.copy()
    for i, row in out.iterrows():
        claim = CLAIMS.get(row["claim"])
        mine = summary[summary.claim == row["claim"]]
        if claim is None or mine.empty:
            continue
        for r in mine.to_dict("records"):
            names = {k: v for k, v in r.items() if k not in ("claim", "reading")}
            for k, v in names.items():
                out.loc[i, f"{k}_{r['reading']}"] = v
                if r["reading"] == claim.headline:
                    out.loc[i, k] = v
    for col in out.columns:
        if col.startswith("specs_"):
            out[col] = out[col].astype("Int64")
    return out


def sentence(row: dict, label: str) -> str:
    """One claim reading's multiverse result in words, from its ``summarise`` row."""
    n, s, ns = row["specs_total"], row["specs_supported"], row["specs_not_supported"]
    inc = n - s - ns
    parts = [f"supported in {s} of {n} specifications", f"not supported in {ns}"]
    if inc:
        parts.append(f"inconclusive in {inc}")
    return (f"{row['claim']} on {label} is " + ", ".join(parts)
            + f"; with each method tuned on validation data it is {row['verdict_tuned']}.")
