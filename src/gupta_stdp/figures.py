"""Seaborn figures, drawn from the tidy tables only. No torch, no attack code.

``draw(name, tables, options, path)`` draws the figure ``name``; the workflow's table of figures
(workflow/report/figures.yaml) says which tables each one reads and holds its caption.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .io import atomic_path  # noqa: E402
from .tables import at_eps, final_test, one_source, rules_table  # noqa: E402

BASE = {"stdp": "#d95f02", "bp": "#1b9e77", "fa": "#7570b3", "dfa": "#e7298a", "sign": "#66a61e"}


def palette(methods) -> dict:
    extra = iter(sns.color_palette("Greys", 8)[2:] + sns.color_palette("YlOrBr", 8)[3:])
    return {m: BASE.get(m) or next(extra) for m in dict.fromkeys(methods)}


def _panel(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["panel"] = df.dataset + " " + df.pair
    return df


def _save(fig, path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def fig2_accuracy(t: dict, o: dict):
    """Train and test accuracy against epoch, STDP vs BP, mean and SD band over seeds, one panel per pair."""
    df = _panel(t["epochs"][t["epochs"].method.isin(["stdp", "bp"])])
    g = sns.relplot(data=df, x="epoch", y="accuracy", hue="method", style="split", col="panel",
                    col_wrap=min(4, df.panel.nunique()), kind="line", errorbar="sd", palette=palette(df.method),
                    height=2.6, aspect=1.25, facet_kws={"sharey": False, "sharex": False})
    g.set_titles("{col_name}")
    g.figure.suptitle("Fig. 2: accuracy vs epoch (mean ± SD over seeds)", y=1.02)
    return g.figure


def fig3_fgsm(t: dict, o: dict):
    """Test accuracy under the paper's FGSM at the paper's eps (in 1/255), STDP vs BP, one panel per pair."""
    a = t["attacks"]
    fgsm = a[(a.attack == "fgsm") & a.eps.apply(lambda e: bool(np.isclose(e * 255, o["paper_eps"]).any()))]
    df = _panel(pd.concat([fgsm, a[a.attack == "clean"]]))
    df = df[df.method.isin(["stdp", "bp"])]
    df["eps (x 1/255)"] = (df.eps * 255).round(3)
    g = sns.relplot(data=df, x="eps (x 1/255)", y="accuracy", hue="method", col="panel", kind="line",
                    marker="o", col_wrap=min(4, df.panel.nunique()), errorbar="sd", palette=palette(df.method),
                    height=2.6, aspect=1.25, facet_kws={"sharey": False})
    g.set_titles("{col_name}")
    g.figure.suptitle("Fig. 3: FGSM (BCE) accuracy vs eps (mean ± SD over seeds)", y=1.02)
    return g.figure


def fig4_stdp_curve(t: dict, o: dict):
    """dW against dT for eq. 5 (dotted) and eq. 6 (solid) at fixed T_pre, short of the poles at
    +-T_pre, and the implemented rule's values there (dots: what C4 is judged on)."""
    c = t["stdp_curve"].sort_values("dT")
    t_pre = float(c.t_pre.iloc[0])
    fig, ax = plt.subplots(figsize=(5, 3.4))
    ax.plot(c.dT, c.eq5, ":", color="k", label="eq. 5: dT / (T_pre² (T_pre + dT)²)")
    ax.plot(c.dT, c.eq6, "-", color=BASE["stdp"], label="eq. 6: dT / (T_pre² (T_pre − dT)²)")
    every = c.iloc[:: max(1, len(c) // 40)]
    ax.plot(every.dT, every.rule, "o", ms=3, mfc="none", color="k",
            label=f"the implemented rule (eps {c.stdp_eps.iloc[0]:g})")
    ax.axhline(0, color="0.7", lw=0.8)
    ax.axvline(0, color="0.7", lw=0.8)
    ax.set_ylim(-4 / t_pre**3, 4 / t_pre**3)  # the curves run off to the poles at -+T_pre
    ax.set_xlabel("ΔT = T_post − T_pre")
    ax.set_ylabel("ΔW")
    ax.set_title(f"Fig. 4: STDP curve, T_pre = {t_pre:g}")
    ax.legend(fontsize=7, loc="upper left")
    return fig


FOREST = [("C1", "accuracy", "C1: final test accuracy"), ("C1", "auc", "C1: final test AUC"),
          ("C2", "fgsm", "C2: FGSM (BCE) at {eps}"), ("C2", "pgd", "C2: PGD at {eps}"),
          ("C2", "worst", "C2: worst case at {eps}")]
COLORS = {"supported": "#1b9e77", "not supported": "#d95f02", "inconclusive": "0.4"}


def claims_forest(t: dict, o: dict):
    """Per pair, the paired STDP − BP difference with its confidence interval, for C1 (accuracy, AUC)
    and C2 (FGSM, PGD and the worst case at the report's eps); one row of panels per data set, each
    with its own scale; dashed: C1's non-inferiority margin, grey: 0. A hollow marker: no interval
    (every difference the same), or a pair a failed sanity check made inconclusive."""
    bp = t["by_pair"]
    bp = bp[bp.method == "stdp"]
    eps = f"{o['report_eps']:g}/255"
    panels = [(c, r, title.format(eps=eps)) for c, r, title in FOREST if ((bp.claim == c) & (bp.reading == r)).any()]
    datasets = sorted(bp.dataset.unique())
    heights = [max(1, bp[bp.dataset == d].pair.nunique()) for d in datasets]
    fig, axes = plt.subplots(len(datasets), len(panels), figsize=(2.7 * len(panels), 0.45 * sum(heights) + 1.2 * len(datasets)),
                             squeeze=False, gridspec_kw={"height_ratios": heights})
    for row, dataset in zip(axes, datasets):
        for ax, (claim, reading, title) in zip(row, panels):
            sub = bp[(bp.claim == claim) & (bp.reading == reading) & (bp.dataset == dataset)].sort_values("pair")
            y = np.arange(len(sub))[::-1]
            for yi, r in zip(y, sub.itertuples()):
                color = COLORS.get(r.verdict, "0.4")
                hollow = not np.isfinite(r.ci_low) or (isinstance(r.sanity, str) and r.sanity)
                lo, hi = (r.ci_low, r.ci_high) if np.isfinite(r.ci_low) else (r.mean_diff, r.mean_diff)
                ax.errorbar([r.mean_diff], [yi], xerr=[[r.mean_diff - lo], [hi - r.mean_diff]], fmt="o", color=color,
                            mfc="white" if hollow else color, ms=4, elinewidth=1.5, capsize=3)
            ax.axvline(0, color="0.6", lw=0.8)
            if claim == "C1":
                ax.axvline(-o["margin"], color="0.3", lw=0.8, ls="--")
            ax.set_yticks(y, (sub.dataset + " " + sub.pair).tolist() if ax is row[0] else [""] * len(y))
            ax.set_ylim(-0.6, len(sub) - 0.4)
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("STDP − BP", fontsize=8)
    fig.suptitle(f"Paired differences over seeds with {o['confidence']:.0%} intervals (green: supported, "
                 "orange: not supported, grey: inconclusive)", fontsize=9, y=1.01)
    fig.tight_layout()
    return fig


def fig5_robustness(t: dict, o: dict):
    """Beyond the paper: accuracy against eps for each attack over the sweep, one row per attack,
    one column per pair (method = the attacked model)."""
    a = t["attacks"]
    a = one_source(a[a.method.isin(o["methods"]) & (a.points == "all")], o["methods"])
    clean = a[a.attack == "clean"]
    order = [k for k in ("fgsm_margin", "pgd", "transfer_pgd", "worst") if k in set(a.attack)]
    df = pd.concat([a[a.attack.isin(order)]] + [clean.assign(attack=k) for k in order], ignore_index=True)
    df = _panel(df)
    df["eps (x 1/255)"] = (df.eps * 255).round(3)
    g = sns.relplot(data=df, x="eps (x 1/255)", y="accuracy", hue="method", row="attack", row_order=order,
                    col="panel", kind="line", marker="o", markersize=3, errorbar="sd", palette=palette(df.method),
                    height=2.0, aspect=1.2, facet_kws={"sharey": True, "margin_titles": True})
    g.set_titles(row_template="{row_name}", col_template="{col_name}")
    g.figure.suptitle("Attacks over the eps sweep (mean ± SD over seeds)", y=1.03)
    return g.figure


def fig6_ablations(t: dict, o: dict):
    """Beyond the paper: final test accuracy and accuracy under PGD and the worst case at the
    report's eps, for STDP, its ablation variants and BP (against STDP's transfer), per pair."""
    final = final_test(t["epochs"])[["dataset", "pair", "method", "seed", "accuracy"]].assign(metric="clean accuracy")
    a = one_source(t["attacks"], ["stdp"])
    robust = pd.concat([at_eps(a, k, o["report_eps"]) for k in ("pgd", "worst")])
    robust = robust.assign(metric=robust.attack + f" at {o['report_eps']:g}/255")[
        ["dataset", "pair", "method", "seed", "accuracy", "metric"]]
    df = _panel(pd.concat([final, robust], ignore_index=True))
    df = df[df.method.str.startswith("stdp") | (df.method == "bp")]
    order = ["bp", "stdp", *sorted(m for m in df.method.unique() if m not in ("bp", "stdp"))]
    g = sns.catplot(data=df, x="method", y="accuracy", row="metric", col="panel", kind="point", order=order,
                    errorbar="sd", color=BASE["stdp"], height=2.3, aspect=1.1, linestyle="none", margin_titles=True)
    g.set_titles(row_template="{row_name}", col_template="{col_name}")
    for ax in g.axes.flat:
        ax.tick_params(axis="x", rotation=70, labelsize=7)
    g.figure.suptitle("Ablations: clean and adversarial accuracy (mean ± SD over seeds)", y=1.02)
    return g.figure


def fig7_diagnostics(t: dict, o: dict):
    """Beyond the paper: gradient-masking diagnostics per model, one column per pair."""
    diag = t["diagnostics"]
    metrics = ["bce_grad_zero_share", "margin_grad_zero_share",
               *sorted(c for c in diag.columns if c.startswith("sat_layer")), "auc"]
    df = _panel(diag).melt(id_vars=["panel", "method", "seed"], value_vars=metrics, var_name="metric")
    g = sns.catplot(data=df, x="method", y="value", hue="method", row="metric", row_order=metrics, col="panel",
                    kind="strip", palette=palette(df.method), height=1.7, aspect=1.1, margin_titles=True,
                    legend=False, sharey="row")
    g.set_titles(row_template="{row_name}", col_template="{col_name}")
    for ax in g.axes.flat:
        ax.tick_params(axis="x", rotation=70, labelsize=7)
    g.figure.suptitle("Gradient-masking diagnostics per model (one dot per seed)", y=1.02)
    return g.figure


def alignment(t: dict, o: dict):
    """The angle between each rule's update and BP's gradient, per layer, over epochs."""
    df = t["alignment"]
    df = df[df.method.isin(o["methods"])].assign(layer="layer " + df.layer.astype(str))
    g = sns.relplot(data=df, x="epoch", y="angle_deg", hue="method", col="layer", row="dataset", kind="line",
                    errorbar="sd", palette=palette(df.method), height=2.4, aspect=1.2,
                    facet_kws={"sharex": False, "margin_titles": True})
    for ax in g.axes.flat:
        ax.axhline(90, color="0.7", lw=0.8)
    g.set_titles(row_template="{row_name}", col_template="{col_name}")
    g.figure.suptitle("Angle to BP's gradient (degrees; 90 = orthogonal; mean ± SD over seeds and pairs)", y=1.03)
    return g.figure


def rules_compared(t: dict, o: dict):
    """Every rule on the same bench: clean accuracy, AUC, worst-case accuracy at the report's eps,
    the share of zero BCE input gradients and the final angle to BP's gradient per layer, per pair
    (mean over seeds)."""
    df = rules_table(t, o["methods"], o["report_eps"])
    metrics = [m for m in ["accuracy", "auc", f"worst_{o['report_eps']:g}", "bce_grad_zero_share"] if m in df]
    metrics += sorted(c for c in df.columns if c.startswith("angle_layer"))
    df = _panel(df).melt(id_vars=["panel", "method"], value_vars=metrics, var_name="metric")
    g = sns.catplot(data=df, x="panel", y="value", hue="method", row="metric", row_order=metrics, kind="point",
                    palette=palette(df.method), height=1.9, aspect=3.2, linestyle="none", sharey=False,
                    dodge=0.4, margin_titles=True)
    g.set_titles(row_template="{row_name}")
    for ax in g.axes.flat:
        ax.tick_params(axis="x", rotation=45, labelsize=7)
    g.figure.suptitle("Learning rules compared (mean over seeds)", y=1.02)
    return g.figure


SPEC_PANELS = [("C1", "accuracy", "C1: clean test accuracy"), ("C2", "fgsm", "C2: the paper's FGSM at {eps}"),
               ("C2", "worst", "C2: white-box worst case at {eps}"), ("C5", "worst", "C5 (FA): worst case at {eps}")]
FACTOR_ROWS = [("lr", "learning rate"), ("batch_size", "batch size"), ("epochs", "epochs"), ("bias", "STDP bias")]


def specification_curve(t: dict, o: dict):
    """The specification curve (Simonsohn et al. 2020), one column per claim reading: every
    specification's paired difference (method − BP, per seed the mean over the paper's pairs) with
    its t-interval, sorted, coloured by the claim's verdict on that specification; beneath, the
    factor values that produced it. A dashed line: the tuned comparison's difference."""
    v = t["spec_verdicts"]
    eps = f"{o['report_eps']:g}/255"
    panels = [(c, r, title.format(eps=eps)) for c, r, title in SPEC_PANELS
              if ((v.claim == c) & (v.reading == r) & (v.kind == "specification")).any()]
    fig, axes = plt.subplots(1 + len(FACTOR_ROWS), len(panels), figsize=(4.2 * len(panels), 7.5), squeeze=False,
                             sharex="col", gridspec_kw={"height_ratios": [3] + [1] * len(FACTOR_ROWS)})
    for col, (claim, reading, title) in enumerate(panels):
        mine = v[(v.claim == claim) & (v.reading == reading)]
        spec = mine[mine.kind == "specification"].sort_values("mean_diff", na_position="first", kind="stable")
        spec = spec.reset_index(drop=True)  # stable: tied differences keep the table's order on every CPU
        x = np.arange(len(spec))
        ax = axes[0, col]
        for xi, r in zip(x, spec.itertuples()):
            color = COLORS.get(r.verdict, "0.4")
            if np.isfinite(r.ci_low):
                ax.plot([xi, xi], [r.ci_low, r.ci_high], color=color, lw=1, alpha=0.7)
            ax.plot([xi], [r.mean_diff], "o", color=color, ms=3)
        tuned = mine[mine.kind == "tuned"]
        if len(tuned) and np.isfinite(tuned.mean_diff.iloc[0]):
            ax.axhline(tuned.mean_diff.iloc[0], color="0.2", ls="--", lw=0.8, label="each method tuned")
            ax.legend(fontsize=7, loc="lower right")
        ax.axhline(0, color="0.6", lw=0.8)
        if claim == "C1":
            ax.axhline(-o["margin"], color="0.3", lw=0.8, ls=":")
        ax.set_title(title, fontsize=9)
        ax.set_ylabel(f"{mine.method.iloc[0].upper()} − BP" if col == 0 else "", fontsize=8)
        for k, (factor, label) in enumerate(FACTOR_ROWS, start=1):
            fa = axes[k, col]
            level = {"batch_size": "batch_level", "epochs": "epochs_level"}.get(factor)
            key = level if level in spec else factor  # in level order (numbers: ascending)
            values = list(dict.fromkeys(spec.sort_values(key, kind="stable")[factor].dropna()))
            pos = {val: i for i, val in enumerate(values)}
            fa.plot(x, [pos.get(val, np.nan) for val in spec[factor]], "|", color="0.2", ms=6)
            fa.set_yticks(range(len(values)), [f"{val:g}" if isinstance(val, float) else str(val) for val in values],
                          fontsize=7)
            fa.set_ylim(-0.5, len(values) - 0.5)
            if col == 0:
                names = spec.level_datasets.dropna() if "level_datasets" in spec else []
                if level and len(names) and "/" in names.iloc[0]:  # a level names each data set's value
                    label += f"\n({names.iloc[0]})"
                fa.set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
        axes[-1, col].set_xlabel("specifications, sorted by the difference", fontsize=8)
    fig.suptitle(f"Every specification with its {o['confidence']:.0%} t-interval (green: the claim supported, "
                 "orange: not supported, grey: inconclusive)", fontsize=9, y=1.0)
    fig.tight_layout()
    return fig


def draw(name: str, tables: dict, options: dict, path) -> None:
    _save(globals()[name](tables, options), path)
