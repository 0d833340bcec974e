"""Summary tables shared by the figures and the report (pandas only)."""

from __future__ import annotations

import numpy as np
import pandas as pd

KEY = ["dataset", "pair", "method"]


def final_test(epochs: pd.DataFrame) -> pd.DataFrame:
    """The test rows of each run's last epoch."""
    test = epochs[epochs.split == "test"]
    return test[test.epoch == test.groupby(KEY).epoch.transform("max")]


def at_eps(attacks: pd.DataFrame, attack: str, eps_255: float) -> pd.DataFrame:
    """Rows of ``attack`` at ``eps_255`` (units of 1/255)."""
    return attacks[(attacks.attack == attack) & np.isclose(attacks.eps * 255, eps_255)]


def one_source(attacks: pd.DataFrame, methods) -> pd.DataFrame:
    """One row per model and eps where an attack carries a surrogate's examples: BP's rows against
    the first other rule of ``methods`` (its partner in the figures; the claims pair each rule with
    BP's rows against that rule), every other model's rows as they are."""
    partner = next((m for m in methods if m != "bp"), "bp")
    bp = attacks.method == "bp"
    keep = ~bp | (attacks.source == "bp") | (attacks.source == partner)
    sub = attacks[keep]
    has_partner = sub[bp[keep] & (sub.source == partner)][["attack"]].drop_duplicates().attack
    drop = (sub.method == "bp") & (sub.source == "bp") & sub.attack.isin(has_partner)
    return sub[~drop]


def angles(alignment: pd.DataFrame, methods) -> pd.DataFrame:
    """Per (dataset, pair, method): the final epoch's angle to BP's gradient per layer, and the mean
    over the hidden layers only (the output layer of FA, DFA and sign symmetry is BP's by
    construction, 0 degrees, while STDP's is not)."""
    al = alignment[alignment.method.isin(methods)]
    if al.empty:
        return pd.DataFrame(columns=[*KEY, "angle_hidden"])
    last = al[al.epoch == al.groupby(KEY).epoch.transform("max")]
    per_layer = last.groupby([*KEY, "layer"]).angle_deg.mean().unstack("layer")
    out = per_layer.rename(columns=lambda k: f"angle_layer{k}")
    hidden = [c for c in per_layer.columns if c != per_layer.columns.max()]
    out["angle_hidden"] = per_layer[hidden].mean(axis=1)
    return out.reset_index()


def rules_table(t: dict, methods: list[str], eps_255: float) -> pd.DataFrame:
    """Per rule and pair: clean accuracy, AUC, worst case at ``eps_255`` (BP: mean over its
    partners' transfer), zero-gradient share and the final angle to BP's gradient per layer."""
    final = final_test(t["epochs"])
    final = final[final.method.isin(methods)].groupby(KEY)[["accuracy", "auc"]].mean()
    worst = at_eps(t["attacks"], "worst", eps_255)
    worst = worst[worst.method.isin(methods)].groupby(KEY).accuracy.mean().rename(f"worst_{eps_255:g}")
    d = t["diagnostics"]
    zero = d[d.method.isin(methods)].groupby(KEY).bce_grad_zero_share.mean()
    return pd.concat([final, worst, zero, angles(t["alignment"], methods).set_index(KEY)], axis=1).reset_index()


DEVICE_COLUMNS = ["stage", "dataset", "pair", "rule", "device", "kind"]


def device_kind(device: str) -> str:
    """The device class of a job: "cpu", or "cuda:<GPU model>"."""
    return "cpu" if str(device).startswith("cpu") else str(device)


def mixed_devices(devices: pd.DataFrame) -> list[str]:
    """One line per comparison whose models were trained on different devices: each pair whose train
    jobs differ in device (a GPU model, or a CPU's architecture, vector width or thread count: STDP
    amplifies the rounding differences, so a seed trained on each is not the same model), and the run
    as a whole when its pairs were trained on different classes of device (CPU and CUDA; the claims
    pool pairs). Empty otherwise. Attack and Square jobs are listed in devices.csv but not flagged:
    they evaluate fixed models."""
    if devices is None or devices.empty:
        return []
    train = devices[devices.stage == "train"].fillna({"rule": ""})
    lines = []
    for (dataset, pair), g in train.groupby(["dataset", "pair"], sort=True):
        if g.device.nunique() > 1:
            jobs = "; ".join(f"{d}: {', '.join(sorted(h.rule))}" for d, h in g.groupby("device"))
            lines.append(f"{dataset} {pair} trained its models on different devices ({jobs})")
    classes = train.assign(kind=train.device.map(device_kind))
    if classes.kind.nunique() > 1:
        by_kind = classes.groupby("kind").apply(lambda g: len(g[["dataset", "pair"]].drop_duplicates()),
                                                include_groups=False)
        lines.append("the run trained its pairs on CPU and CUDA (" + ", ".join(f"{k}: {n} pair(s)" for k, n in by_kind.items())
                     + "); the claims pool pairs")
    return lines
