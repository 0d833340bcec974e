"""Summary tables shared by the figures and the report (pandas only)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def final_test(epochs: pd.DataFrame) -> pd.DataFrame:
    """The test rows of each run's last epoch."""
    test = epochs[epochs.split == "test"]
    return test[test.epoch == test.groupby(["dataset", "pair", "method"]).epoch.transform("max")]


def rules_table(t: dict, methods: list[str]) -> pd.DataFrame:
    """Per rule and pair: clean accuracy, AUC, worst case at 8/255, zero-gradient share and final angle."""
    final = final_test(t["epochs"])
    final = final[final.method.isin(methods)].groupby(["dataset", "pair", "method"])[["accuracy", "auc"]].mean()
    a = t["attacks"]
    worst = a[(a.attack == "worst") & np.isclose(a.eps, 8 / 255) & a.method.isin(methods)]
    worst = worst.groupby(["dataset", "pair", "method"]).accuracy.mean().rename("worst_8")
    d = t["diagnostics"]
    zero = d[d.method.isin(methods)].groupby(["dataset", "pair", "method"]).bce_grad_zero_share.mean()
    al = t["alignment"]
    al = al[al.method.isin(methods)]
    last = al[al.epoch == al.groupby(["dataset", "pair", "method"]).epoch.transform("max")]
    angle = last.groupby(["dataset", "pair", "method"]).angle_deg.mean().rename("final_angle_deg")
    return pd.concat([final, worst, zero, angle], axis=1).reset_index()
