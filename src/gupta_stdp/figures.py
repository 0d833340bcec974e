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
    df = _panel(epochs)
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
