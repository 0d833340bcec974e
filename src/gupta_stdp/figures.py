"""Seaborn re-draws of the paper's Fig. 2, 3 and 4, from the tidy tables only."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
import torch  # noqa: E402

from .jobs import atomic_path  # noqa: E402
from .stdp import eq5, eq6  # noqa: E402

PALETTE = {"stdp": "#d95f02", "bp": "#1b9e77"}


def _panel(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["panel"] = df.dataset + " " + df.pair
    return df


def _save(fig, path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def fig2_accuracy(epochs: pd.DataFrame, path) -> None:
    """Train and test accuracy against epoch, STDP vs BP, mean and SD band over seeds, one panel per pair."""
    df = _panel(epochs[epochs.method.isin(["stdp", "bp"])])
    g = sns.relplot(data=df, x="epoch", y="accuracy", hue="method", style="split", col="panel",
                    col_wrap=min(4, df.panel.nunique()), kind="line", errorbar="sd", palette=PALETTE,
                    height=2.6, aspect=1.25, facet_kws={"sharey": False, "sharex": False})
    g.set_titles("{col_name}")
    g.figure.suptitle("Fig. 2: accuracy vs epoch (mean ± SD over seeds)", y=1.02)
    _save(g.figure, path)


def fig3_fgsm(attacks: pd.DataFrame, path) -> None:
    """Test accuracy under FGSM against eps (in 1/255), STDP vs BP, one panel per pair."""
    df = _panel(attacks[attacks.attack == "fgsm"])
    df["eps (x 1/255)"] = (df.eps * 255).round(3)
    g = sns.relplot(data=df, x="eps (x 1/255)", y="accuracy", hue="method", col="panel", kind="line",
                    marker="o", col_wrap=min(4, df.panel.nunique()), errorbar="sd", palette=PALETTE,
                    height=2.6, aspect=1.25, facet_kws={"sharey": False})
    g.set_titles("{col_name}")
    g.figure.suptitle("Fig. 3: FGSM accuracy vs eps (mean ± SD over seeds)", y=1.02)
    _save(g.figure, path)


def fig4_stdp_curve(path, t_pre: float = 1.0, r: float = 0.9) -> None:
    """dW against dT for eq. 5 (dotted) and eq. 6 (solid) at fixed T_pre, short of the poles at +-T_pre."""
    dt = torch.linspace(-r * t_pre, r * t_pre, 721, dtype=torch.float64)
    fig, ax = plt.subplots(figsize=(5, 3.4))
    ax.plot(dt, eq5(dt, t_pre), ":", color="k", label="eq. 5: dT / (T_pre² (T_pre + dT)²)")
    ax.plot(dt, eq6(dt, t_pre), "-", color=PALETTE["stdp"], label="eq. 6: dT / (T_pre² (T_pre − dT)²)")
    ax.axhline(0, color="0.7", lw=0.8)
    ax.axvline(0, color="0.7", lw=0.8)
    ax.set_ylim(-4 / t_pre**3, 4 / t_pre**3)  # the curves run off to the poles at -+T_pre
    ax.set_xlabel("ΔT = T_post − T_pre")
    ax.set_ylabel("ΔW")
    ax.set_title(f"Fig. 4: STDP curve, T_pre = {t_pre:g}")
    ax.legend(fontsize=8, loc="upper left")
    _save(fig, path)


def fig5_robustness(attacks: pd.DataFrame, path) -> None:
    """Beyond the paper: accuracy against eps for FGSM, PGD, their transfer versions (examples
    crafted on the other method's model of the same seed) and HopSkipJump (decision-based, on a test
    subset), one row per attack, one column per pair."""
    df = _panel(attacks)
    df["eps (x 1/255)"] = (df.eps * 255).round(3)
    clean = df[(df.attack == "fgsm") & (df.eps == 0)]
    parts = [df[df.attack != "fgsm"], df[df.attack == "fgsm"]]
    for kind in sorted(set(df.attack) & {"pgd", "transfer_fgsm", "transfer_pgd"}):  # start at clean accuracy
        parts.append(clean.assign(attack=kind))
    df = pd.concat(parts, ignore_index=True)
    order = [a for a in ("fgsm", "pgd", "transfer_fgsm", "transfer_pgd", "hopskipjump") if a in set(df.attack)]
    g = sns.relplot(data=df, x="eps (x 1/255)", y="accuracy", hue="method", row="attack", row_order=order,
                    col="panel", kind="line", marker="o", markersize=3, errorbar="sd", palette=PALETTE,
                    height=2.0, aspect=1.2, facet_kws={"sharey": True, "margin_titles": True})
    g.set_titles(row_template="{row_name}", col_template="{col_name}")
    g.figure.suptitle("White-box and transfer attacks over the eps sweep\n(method = attacked model; "
                      "mean ± SD over seeds)", y=1.03)
    _save(g.figure, path)


def fig6_ablations(epochs: pd.DataFrame, path) -> None:
    """Beyond the paper: final test accuracy and AUC of STDP, its ablation variants and BP, per pair."""
    test = epochs[epochs.split == "test"]
    final = test[test.epoch == test.groupby(["dataset", "pair", "method"]).epoch.transform("max")]
    df = _panel(final).melt(id_vars=["panel", "method", "seed"], value_vars=["accuracy", "auc"], var_name="metric")
    order = ["bp", "stdp", *sorted(m for m in df.method.unique() if m not in ("bp", "stdp"))]
    g = sns.catplot(data=df, x="method", y="value", row="metric", col="panel", kind="point", order=order,
                    errorbar="sd", color=PALETTE["stdp"], height=2.3, aspect=1.1, linestyle="none",
                    margin_titles=True)
    g.set_titles(row_template="{row_name}", col_template="{col_name}")
    for ax in g.axes.flat:
        ax.tick_params(axis="x", rotation=70, labelsize=7)
        ax.axhline(0.5, color="0.8", lw=0.8, zorder=0)
    g.figure.suptitle("Ablations: final test accuracy and AUC (mean ± SD over seeds)", y=1.02)
    _save(g.figure, path)


def fig7_diagnostics(diag: pd.DataFrame, path) -> None:
    """Beyond the paper: gradient-masking diagnostics per model, one column per pair."""
    metrics = ["grad_zero_share", *sorted(c for c in diag.columns if c.startswith("sat_layer")), "auc"]
    df = _panel(diag).melt(id_vars=["panel", "method", "seed"], value_vars=metrics, var_name="metric")
    g = sns.catplot(data=df, x="method", y="value", hue="method", row="metric", row_order=metrics, col="panel",
                    kind="strip", palette=PALETTE, height=1.7, aspect=1.1, margin_titles=True, legend=False,
                    sharey="row")
    g.set_titles(row_template="{row_name}", col_template="{col_name}")
    g.figure.suptitle("Gradient-masking diagnostics per model (one dot per seed)", y=1.02)
    _save(g.figure, path)
