"""The replication report: ``numbers()`` computes everything the report says from the tables,
``render()`` fills the Jinja2 template ``templates/report.md.j2`` with it, and ``write_reports``
writes the Markdown and a self-contained HTML (images embedded as data URIs). No torch.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

import jinja2
import markdown
import numpy as np
import pandas as pd

from . import sanity as sanity_mod
from .claims import CLAIMS, READINGS
from .claims.verdicts import COMBINE, SANITY_TEXT
from .config import multiverse_grid, plan_eps, run_hash
from .stats import NAMES
from .tables import final_test, mixed_devices, rules_table
from .io import atomic_path
from .pairs import iris_split
from .provenance import git_state, versions

TEMPLATE = Path(__file__).with_name("templates") / "report.md.j2"
FIGURE_TITLES = {
    "claims_forest": "Paired differences per pair, with intervals (forest plot)",
    "fig2_accuracy": "Fig. 2: accuracy vs epoch",
    "fig3_fgsm": "Fig. 3: FGSM accuracy vs eps",
    "fig4_stdp_curve": "Fig. 4: the STDP curve",
    "fig5_robustness": "Robustness over the eps sweep (beyond the paper)",
    "fig6_ablations": "Ablations of the rule (beyond the paper)",
    "fig7_diagnostics": "Gradient-masking diagnostics (beyond the paper)",
    "alignment": "Alignment with BP's gradient",
    "rules_compared": "Learning rules compared",
    "specification_curve": "The specification curve",
}
SPEC_LABELS = {"accuracy": "clean test accuracy", "fgsm": "the paper's FGSM at {eps}",
               "worst": "the white-box worst case at {eps}"}


def md(df: pd.DataFrame, digits: int = 3) -> str:
    """A Markdown table (tabulate's pipe format); floats to ``digits`` places, missing values as –."""
    if df is None or df.empty:
        return "_(none)_"
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].map(lambda v: "–" if pd.isna(v) else f"{v:.{digits}f}" if abs(v) >= 10**-digits or v == 0
                                    else f"{v:.2g}")
    return out.fillna("–").to_markdown(index=False)


def _share(mask) -> str:
    mask = np.asarray(mask, bool)
    return f"{int(mask.sum())} of {len(mask)}"


def summary_table(epochs: pd.DataFrame) -> pd.DataFrame:
    """Final-epoch test metrics per (dataset, pair, method): mean ± SD over seeds."""
    g = final_test(epochs).groupby(["dataset", "pair", "method"])
    out = g.agg(seeds=("seed", "nunique"), with_numbers=("accuracy", "count"), diverged=("diverged", "sum")).reset_index()
    for col in ("accuracy", "auc", "mean_out_y0", "mean_out_y1"):
        m, s = g[col].mean().to_numpy(), g[col].std().to_numpy()
        out[col] = [f"{a:.3f} ± {b:.3f}" if np.isfinite(a) else "–" for a, b in zip(m, np.nan_to_num(s))]
    return out


def attack_table(attacks: pd.DataFrame, eps_255) -> pd.DataFrame:
    """Accuracy per attack at ``eps_255`` (mean ± SD over seeds); BP's rows of an attack that carries
    a partner's examples are listed per partner (``bp<-stdp``)."""
    keep = [e / 255 for e in eps_255]
    df = attacks[attacks.eps.apply(lambda e: bool(np.isclose(e, keep).any()))].copy()
    df["eps_255"] = (df.eps * 255).round(2)
    df["method"] = np.where(df.source.isin([*df.method.unique()]) & (df.source != df.method) & (df.method == "bp"),
                            df.method + "<-" + df.source, df.method)
    g = df.groupby(["dataset", "pair", "attack", "eps_255", "method"]).accuracy
    missing = (g.size() - g.count()).map(lambda k: f" ({k} NaN)" if k else "")  # diverged members: no number
    t = (g.mean().map(lambda v: f"{v:.3f}") + " ± " + g.std().fillna(0).map(lambda v: f"{v:.3f}") + missing)
    return t.unstack("method").reset_index()


def compute_table(bench_files) -> pd.DataFrame:
    """Wall time, CPU time and peak memory from Snakemake's benchmark files, by stage."""
    rows = []
    for f in map(Path, bench_files):
        if f.exists():
            b = pd.read_csv(f, sep="\t")
            rows.append({"stage": f.parent.name, "job": f.stem, "wall_s": b.s.iloc[0],
                         "cpu_s": pd.to_numeric(b.cpu_time, errors="coerce").iloc[0],
                         "max_rss_mb": pd.to_numeric(b.max_rss, errors="coerce").iloc[0]})
    if not rows:
        return pd.DataFrame(columns=["stage", "jobs", "wall_s", "cpu_s", "max_rss_mb"])
    return (pd.DataFrame(rows).groupby("stage").agg(jobs=("job", "count"), wall_s=("wall_s", "sum"),
                                                     cpu_s=("cpu_s", "sum"), max_rss_mb=("max_rss_mb", "max"))
            .reset_index())


def iris_coverage(config: dict) -> str | None:
    """How finely the IRIS pairs resolve accuracy, and how many points the seeds test together."""
    if "iris" not in config["datasets"]:
        return None
    ts = config["data"]["iris"]["test_size"]
    tested = set()
    for seed in config["seeds"]:
        tested |= set(iris_split(seed, ts)[1].tolist())
    per_class_test = round(150 * ts / 3)
    return (f"IRIS: each seed's split tests {2 * per_class_test} points of a pair (accuracy moves in steps of "
            f"{1 / (2 * per_class_test):.2f}, so the margin of {config['claims']['margin']} is "
            f"{config['claims']['margin'] * 2 * per_class_test:g} point(s)); the {len(config['seeds'])} seeds' splits "
            f"together test {len(tested)} of the 150 points.")


def paper_pairs_line(config) -> str:
    """The paper's pairs, and which of them this run has."""
    paper = config["claims"]["paper_pairs"]
    total = sum(len(v) for v in paper.values())
    ran = {d: [p for p in v if p in config["datasets"].get(d, {}).get("pairs", [])] for d, v in paper.items()}
    n = sum(len(v) for v in ran.values())
    listed = "; ".join(f"{d} {', '.join(v)}" for d, v in ran.items() if v) or "none"
    missing = [d for d, v in ran.items() if not v]
    return (f"the paper's {total} pairs; this run has {n} of them ({listed})"
            + (f", and none of {', '.join(missing)}" if missing else ""))


def data_lines(config) -> list[str]:
    """Where each IDX data set came from, flagging files other than the published ones."""
    from .config import load

    defaults = load()["data"]
    out = []
    for name in config["datasets"]:
        if name == "iris":
            continue
        src = config["data"][name]
        published = name in defaults and src["md5"] == defaults[name]["md5"]
        note = ("the published files (md5 as upstream)" if published else
                "**not the published files**: md5 supplied by the user, e.g. a local stand-in")
        out.append(f"{name}: standard train/test split from the mirrors of `data.{name}.mirrors` "
                   f"({len(src['mirrors'])} configured); {note}; every file verified by md5; pixels / 255.")
    return out


def narrative(config, claims, by_pair, epochs, diag) -> list[str]:
    """A plain account of what the numbers say, every number computed here from the tables."""
    cl = claims.set_index("claim")
    margin = config["claims"]["margin"]
    out = []
    paper = by_pair[(by_pair.method == "stdp") & (by_pair.scope == "paper")] if len(by_pair) else by_pair
    c1 = paper[(paper.claim == "C1") & (paper.reading == "accuracy")] if len(paper) else paper
    if len(c1):
        lo, hi = c1.loc[c1.mean_diff.idxmin()], c1.loc[c1.mean_diff.idxmax()]
        out.append(f"**C1 ({cl.loc['C1', 'verdict']})**: the paired difference in final test accuracy (STDP − BP) "
                   f"ranges from {lo.mean_diff:+.3f} ({lo.dataset} {lo.pair}) to {hi.mean_diff:+.3f} ({hi.dataset} "
                   f"{hi.pair}); {_share(c1.verdict_measured == 'supported')} pairs are shown to lie within the margin "
                   f"of {margin}. "
                   f"Read on test AUC instead: {cl.loc['C1'].get('verdict_auc', '–')}.")
    c2 = paper[paper.claim == "C2"] if len(paper) else paper
    if len(c2):
        f = c2[c2.reading == "fgsm"]
        extra = "; ".join(f"{r}: {cl.loc['C2', f'verdict_{r}']}" for r in CLAIMS["C2"].readings
                          if r != "fgsm" and isinstance(cl.loc["C2"].get(f"verdict_{r}"), str))
        out.append(f"**C2 ({cl.loc['C2', 'verdict']})**: under the paper's FGSM at {config['report']['eps']:g}/255 STDP "
                   f"keeps more accuracy than BP in {_share(f.verdict == 'supported')} pairs and less in "
                   f"{_share(f.verdict == 'not supported')}. The same rule on the other readings: {extra or 'none run'}.")
    c3 = paper[(paper.claim == "C3") & (paper.reading == "early_late")] if len(paper) else paper
    if len(c3):
        out.append(f"**C3 ({cl.loc['C3', 'verdict']})**: on IRIS the early gap (BP − STDP, first "
                   f"{int(c3.early_epochs.iloc[0])} epochs) averages {c3.early_gap_mean.mean():+.3f}; the final "
                   f"difference (STDP − BP) averages {c3.mean_diff.mean():+.3f}.")
    elif "C3" in cl.index:
        out.append(f"**C3 ({cl.loc['C3', 'verdict']})**: no run on the paper's IRIS pairs in this configuration.")
    st = final_test(epochs)
    st = st[(st.method == "stdp") & st.auc.notna()]
    if len(st):
        same_side = (st.mean_out_y0 >= 0.5) == (st.mean_out_y1 >= 0.5)
        out.append(f"**Polarity**: {_share(st.auc < 0.5)} STDP runs end with test AUC below 0.5 (the classes ranked "
                   f"the wrong way round) and {_share(st.auc > 0.9)} above 0.9; in {_share(same_side)} the mean outputs "
                   "of both classes lie on the same side of 0.5, where the threshold, not the ranking, decides.")
    if diag is not None and len(diag):
        med = diag.groupby("method")[["bce_grad_zero_share", "margin_grad_zero_share", "sat_layer1"]].median()
        parts = [f"{m}: {r.bce_grad_zero_share:.1%} of test points with an exactly zero BCE input gradient "
                 f"({r.margin_grad_zero_share:.1%} for the margin), {r.sat_layer1:.1%} of first-layer units saturated"
                 for m, r in med.iterrows()]
        out.append("**Gradient masking** (median over models): " + "; ".join(parts) + ". FGSM with the BCE loss "
                   "cannot move a point whose gradient is zero; PGD on the margin can.")
    return out


def _reading_label(reading: str | None, eps: float) -> str:
    return READINGS[reading].label(eps) if reading else ""


def _shown(readings: pd.DataFrame, claim: str, reading: str | None, scope: str = "paper") -> str:
    """A reading's verdict as the report shows it: with its sanity note where a check decided it."""
    if reading is None or readings.empty:
        return "–"
    sel = readings[(readings.claim == claim) & (readings.reading == reading) & (readings.scope == scope)]
    return sel.shown.iloc[0] if len(sel) else "–"


def glance(claims: pd.DataFrame, readings: pd.DataFrame, eps: float) -> pd.DataFrame:
    """One row per claim: the paper's measurement, the strongest attack, sanity, the deciding number."""
    rows = []
    for row in claims.to_dict("records"):
        c = CLAIMS[row["claim"]]
        short = {r: f"{READINGS[r].short(eps)}: {_shown(readings, c.id, r)}" for r in (c.paper_reading, c.strongest) if r}
        rows.append({"claim": c.id, "verdict": row["verdict"], "the paper's measurement": short.get(c.paper_reading, "–"),
                     "the strongest attack": short.get(c.strongest, "– (no attack)"),
                     "sanity checks": str(row.get("sanity", "")).split(":")[0],
                     "deciding number": row.get("deciding_short") or row.get("deciding", "")})
    return pd.DataFrame(rows)


def _text_or_none(v) -> str | None:
    """A text cell, or None where the CSV left it empty (NaN)."""
    return v if isinstance(v, str) and v else None


def claim_cards(claims: pd.DataFrame, readings: pd.DataFrame, figures: dict, eps: float,
                paper_pairs: dict) -> list[dict]:
    cards = []
    for row in claims.to_dict("records"):
        c = CLAIMS[row["claim"]]
        hw = row.get("half_width_median")
        fig = c.figure.removesuffix(".png")
        side = [{"role": role, "label": _reading_label(r, eps), "verdict": _shown(readings, c.id, r)}
                for role, r in (("the paper's measurement", c.paper_reading), ("the strongest attack", c.strongest))
                if r]
        mine = readings[(readings.claim == c.id) & (readings.scope == "paper")] if len(readings) else readings
        others = {READINGS[r.reading].short(eps): r.shown for r in mine.itertuples()
                  if r.reading not in (c.paper_reading, c.strongest)}
        tests = row.get("tests") if isinstance(row.get("tests"), str) else ""
        cards.append({"id": c.id, "statement": c.statement, "verdict": row["verdict"],
                      "headline": _reading_label(c.headline, eps), "side": side,
                      "deciding": row.get("deciding", ""),
                      "n_pairs": None if pd.isna(row.get("n_pairs")) or not row.get("n_pairs") else int(row["n_pairs"]),
                      "n_paper": sum(len(v) for v in paper_pairs.values()),
                      "tests": ", ".join(NAMES[t] for t in tests.split(", ") if t),
                      "holm": bool(c.combine and COMBINE[c.combine].holm),
                      "half_width": None if hw is None or pd.isna(hw) else f"{hw:.3f} (median over pairs; max "
                                                                          f"{row.get('half_width_max', np.nan):.3f})",
                      "others": others, "other_scopes": _text_or_none(row.get("other_scopes")),
                      "diverged": None if c.scope == "none" or pd.isna(row.get("n_diverged")) else int(row["n_diverged"]),
                      "excluded": None if pd.isna(row.get("n_excluded")) else int(row["n_excluded"]),
                      "sanity": _text_or_none(row.get("sanity")),
                      "figure": FIGURE_TITLES.get(fig, fig), "figure_path": figures.get(fig),
                      "multiverse": _multiverse_line(row, eps)})
    return cards


def _multiverse_line(row: dict, eps: float) -> str | None:
    """A claim card's line on the multiverse: its readings' counts and tuned verdicts."""
    found = sorted(k.removeprefix("specs_total_") for k in row if k.startswith("specs_total_") and not pd.isna(row[k]))
    if not found:
        return None
    order = [r for r in ("accuracy", "fgsm", "worst") if r in found]
    parts = [f"{_spec_label(r, eps)}: supported in {int(row[f'specs_supported_{r}'])} of {int(row[f'specs_total_{r}'])} "
             f"specifications, not supported in {int(row[f'specs_not_supported_{r}'])}, inconclusive in "
             f"{int(row[f'specs_inconclusive_{r}'])}; tuned: {row[f'verdict_tuned_{r}']}"
             for r in order]
    return "; ".join(parts)


def _spec_label(reading: str, eps: float) -> str:
    return SPEC_LABELS[reading].format(eps=f"{eps:g}/255")


def multiverse_section(tables: dict, config: dict, figures: dict) -> dict | None:
    """The section "Would another setting change the verdicts?", from the multiverse's verdicts and
    tuned choices (None when it did not run)."""
    from .claims import specs as specs_mod

    verdicts, tuned = tables.get("spec_verdicts"), tables.get("spec_tuned")
    if verdicts is None:
        return None
    eps, mv = config["report"]["eps"], config["multiverse"]
    summary = specs_mod.summarise(verdicts)
    main = tables["claims"].set_index("claim")
    rows, sentences = [], []
    for r in summary.to_dict("records"):
        label = _spec_label(r["reading"], eps)
        sentences.append(specs_mod.sentence(r, label))
        in_main = main.loc[r["claim"]].get(f"verdict_{r['reading']}") if r["claim"] in main.index else None
        rows.append({"claim": r["claim"], "reading": label, "specifications": r["specs_total"],
                     "supported": r["specs_supported"], "not supported": r["specs_not_supported"],
                     "inconclusive": r["specs_inconclusive"], "each method tuned": r["verdict_tuned"],
                     "tuned: pooled difference [interval]": _tuned_difference(verdicts, r["claim"], r["reading"]),
                     "main run (all training data; its worst case adds transfer and Square)":
                         in_main if isinstance(in_main, str) else "–"})
    spec = verdicts[verdicts.kind == "specification"]
    diverged = spec[spec.n_excluded > 0]
    factors = [f"learning rate {', '.join(f'{v:g}' for v in mv['lr'])} (the rates of a pair, rule and batch size "
               "train together, one Adam group each)",
               f"STDP's bias handling {', '.join(mv['bias'])} (BP's biases always train)"]
    for d in config["datasets"]:
        g = multiverse_grid(config, d)
        factors.append(f"{d}: training length {', '.join(map(str, g['epochs']))} epochs (checkpoints of one run), "
                       f"batch size {', '.join(map(str, g['batch_size']))}"
                       + (" (a batch larger than the 72 training points left after validation is the whole split)"
                          if d == "iris" and max(g["batch_size"]) > 72 else ""))
    choices = tuned.copy() if tuned is not None else pd.DataFrame()
    return {
        "figure": figures.get("specification_curve"),
        "table": md(pd.DataFrame(rows)),
        "sentences": sentences,
        "factors": factors,
        "n_specs": ", ".join(f"{g.claim.iloc[0]} {g.reading.iloc[0]}: {len(g)}" for _, g in
                             spec.groupby(["claim", "reading"], sort=False)),
        "validation": f"{mv['validation']:.0%}",
        "iris_val": iris_validation_points(config),
        "diverged": (f"{len(diverged)} specification reading(s) lost seeds to diverged models (non-finite weights): "
                     + "; ".join(f"{r.claim} {r.reading} at lr {r.lr:g}, batch size {r.batch_size}, {r.epochs} epochs, "
                                 f"bias {r.bias}: {r.n_excluded} (pair, seed) comparison(s) left out over {r.n_pairs} pairs"
                                 for r in diverged.head(10).itertuples())
                     + (f" (and {len(diverged) - 10} more)" if len(diverged) > 10 else "")
                     + ". They are counted in `n_excluded` of specification_verdicts.csv; each such specification is "
                       "judged on the seeds left, and its pooled interval leaves out a seed that lacks a number on any pair.")
        if len(diverged) else "No specification lost a seed to a diverged model.",
        "tuned": md(specs_mod.tuned_summary(choices), 3) if len(choices) else None,
        "n_paper_setting": int(choices.paper_setting.sum()) if len(choices) else 0,
        "n_tied": int((choices.n_tied > 1).sum()) if len(choices) else 0,
        "n_choices": len(choices),
    }


def _tuned_difference(verdicts: pd.DataFrame, claim: str, reading: str) -> str:
    """The tuned comparison's pooled difference and its interval, as the curve's dashed line shows it."""
    t = verdicts[(verdicts.kind == "tuned") & (verdicts.claim == claim) & (verdicts.reading == reading)]
    if t.empty or not np.isfinite(t.mean_diff.iloc[0]):
        return "–"
    r = t.iloc[0]
    return f"{r.mean_diff:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}]" if np.isfinite(r.ci_low) else f"{r.mean_diff:+.3f}"


def iris_validation_points(config: dict) -> str | None:
    """"8 of a pair's 80 training points" for IRIS, from the split sizes (None without IRIS)."""
    if "iris" not in config["datasets"]:
        return None
    n_train = round(150 * (1 - config["data"]["iris"]["test_size"]) * 2 / 3)
    n_val = int(np.ceil(config["multiverse"]["validation"] * n_train))
    return f"{n_val} of a pair's {n_train} training points ({n_val // 2} per class), drawn per seed"


def paper_vs_replication(claims: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for row in claims.to_dict("records"):
        c = CLAIMS[row["claim"]]
        rows.append({"claim": row["claim"], "the paper shows": c.paper,
                     "this replication": f"{row['verdict']}: {row.get('deciding', '')}"})
    return pd.DataFrame(rows)


def mcnemar_summary(mc: pd.DataFrame, eps: float, alpha: float) -> pd.DataFrame:
    """Descriptive: per (dataset, pair, method, attack) at ``eps`` (1/255), the seeds where the
    method gets significantly (uncorrected p < alpha) more or fewer of the same test points right
    than BP of the same seed (McNemar's exact test)."""
    if mc.empty:
        return mc
    sub = mc[np.isclose(mc.eps * 255, eps)]
    g = sub.assign(better=(sub.p_value < alpha) & (sub.only_method > sub.only_bp),
                   worse=(sub.p_value < alpha) & (sub.only_method < sub.only_bp))
    return g.groupby(["dataset", "pair", "method", "attack"]).agg(
        seeds=("seed", "nunique"), better=("better", "sum"), worse=("worse", "sum"),
        median_p=("p_value", "median")).reset_index()


def attack_lines(config) -> list[str]:
    ac, out = config["attacks"], []
    paper = ", ".join(f"{e:g}" for e in ac["fgsm"]["eps"])
    plan = ", ".join(f"{e:g}" for e in plan_eps(config))
    out.append(f"FGSM (the paper's, BCE loss) at the paper's eps {{{paper}}}/255 (Fig. 3) and, like every attack "
               f"below that sees every test point, at every eps of the plan {{{plan}}}/255 (ablation variants: every "
               "eps up to the paper's largest, so that their worst case at the paper's eps meets the same attacks).")
    if ac["sweep"]["enabled"]:
        out.append("FGSM and PGD on the margin loss −(2y − 1)·logit over the plan; `sweep_*` readings average over "
                   f"the sweep's eps {{{', '.join(f'{e:g}' for e in ac['sweep']['eps'])}}}/255.")
    if ac["pgd"]["enabled"]:
        p = ac["pgd"]
        out.append(f"PGD (L∞, margin loss): {p['steps']} steps of {p['step_factor']:g}·eps/{p['steps']}, {p['restarts']} "
                   "random restart(s); a point counts as broken if any iterate of any restart breaks it."
                   + (f" Convergence check: twice the steps and restarts at {p['check']['eps']:g}/255 on the points of "
                      f"a {p['check']['n_points']}-point class-balanced subset that PGD left unbroken." if p["check"]["enabled"]
                      else ""))
    if ac["transfer"]["enabled"]:
        out.append("Transfer: examples crafted on a partner model of the same seed and evaluated on the model; BP is "
                   "the partner of every other model and every other rule a partner of BP, so that both sides of a "
                   "comparison meet the other's examples. The examples are converged: the partner's margin FGSM, and "
                   "the last iterate of its first PGD restart run through every step (no early stop). "
                   "`pgd_or_transfer` counts a point broken by the model's own PGD or the transferred PGD.")
    if ac["square"]["enabled"]:
        d = ac["square"]
        out.append(f"Square Attack (score-based, no gradient; ART's algorithm, batched): at eps "
                   f"{{{', '.join(f'{e:g}' for e in d['eps'])}}}/255 on a {d['n_points']}-point class-balanced subset "
                   f"(a prefix of the convergence check's), run only on the points the model's own suite left unbroken, "
                   f"**query budget {d['max_iter']} queries per point**, p_init {d['p_init']:g}.")
    if ac["noise"]["enabled"]:
        out.append("Noise: uniform noise in [−eps, eps] at every eps, the floor an attack must beat.")
    out.append("Worst case (`worst`): on every test point, a point counts as robust only if it is correct clean and no "
               "attack that saw every point (the model's own FGSM, noise and PGD, and its partner's transferred "
               "examples) broke it at that eps or a smaller one. `worst_subset`: the same on the Square subset, with "
               "the Square Attack and the convergence run added.")
    return out


def numbers(tables: dict, config: dict, figures: dict, bench_files=(), rebuilt: bool = False) -> dict:
    """Everything the report says, computed from the tables. ``figures``: figure name -> path
    relative to the report."""
    epochs, claims, by_pair, runs = tables["epochs"], tables["claims"], tables["by_pair"], tables["runs"]
    readings = tables.get("readings", pd.DataFrame())
    sanity, diag = tables.get("sanity", pd.DataFrame()), tables.get("diagnostics")
    methods = list(dict.fromkeys(runs.rule)) if "rule" in runs else list(config["methods"])
    cc, st, eps = config["claims"], config["stdp"], config["report"]["eps"]
    gs = git_state()
    variants = sorted(m for m in runs.method.unique() if m not in config["methods"])
    arch = sorted(runs.architecture.dropna().astype(str).unique()) if "architecture" in runs else []
    devices = tables.get("devices")
    if devices is None:  # tables of an earlier release: the train jobs' devices only
        devices = runs.assign(stage="train").drop_duplicates(["dataset", "pair", "rule"])
    n = {
        "mixed_devices": mixed_devices(devices),
        "title": "Replication report: Gupta (2020), a local STDP learning rule vs backpropagation",
        "glance": md(glance(claims, readings, eps)),
        "cards": claim_cards(claims, readings, figures, eps, cc["paper_pairs"]),
        "paper_vs": md(paper_vs_replication(claims)),
        "figures": [{"title": FIGURE_TITLES.get(k, k), "path": v} for k, v in figures.items()
                    if k != "specification_curve"],  # shown in its own section
        "multiverse": multiverse_section(tables, config, figures),
        "narrative": narrative(config, claims, by_pair, epochs, diag),
        "rules": None,
        "report_eps": f"{eps:g}/255",
        "sanity": md(sanity_mod.summary(sanity)) if len(sanity) else None,
        "sanity_checks": [f"`{k}`: {v}" for k, v in sanity_mod.CHECKS.items()],
        "sanity_weakens": [f"`{k}`: {', '.join(v)}" for k, v in sanity_mod.WEAKENS.items()],
        "sanity_rule": SANITY_TEXT[0].upper() + SANITY_TEXT[1:],
        "rule_texts": [f"**{r['claim']}**: {r['rule']}" for r in claims.to_dict("records")],
        "interval": NAMES[cc["interval"]] + (f" ({cc['n_boot']} resamples)" if cc["interval"] == "bca" else ""),
        "confidence": cc["confidence"],
        "alpha": 1 - cc["confidence"],
        "seeds": ", ".join(map(str, config["seeds"])),
        "methods": ", ".join(methods),
        "variants": ", ".join(variants),
        "datasets": [f"**{k}**: pairs {', '.join(d['pairs'])}; {d['epochs']} epochs; batch {d['batch_size']}"
                     for k, d in config["datasets"].items()],
        "paper_pairs": paper_pairs_line(config),
        "architecture": ", ".join(arch) or "–",
        "stdp": (f"dW = mean_b Z x³ p (x − p) / ((2p − x)² + ε), ε = {st['eps']:g}; Adam (lr {config['optimizer']['lr']:g}) "
                 f"gets −dW as its gradient, so it moves weights along +dW. Hidden associativity: "
                 f"{st['hidden_balance']:.0%} of each layer +1, fixed per seed, flipped for y = 0. Biases: {st['bias']} "
                 f"({'a synapse from an always-on neuron, x = 1, same rule' if st['bias'] == 'presynaptic_one' else 'frozen'}"
                 "; the paper is silent)."),
        "iris": iris_coverage(config),
        "data_lines": data_lines(config),
        "attack_lines": attack_lines(config),
        "n_diverged": int(runs.diverged_epoch.notna().sum()), "n_runs": len(runs),
        "appendix": {
            "by_pair": md(by_pair[[c for c in ["claim", "method", "reading", "scope", "dataset", "pair", "n_seeds",
                                               "n_excluded", "mean_diff", "sd_diff", "ci_low", "ci_high", "half_width",
                                               "test", "holm_tests", "p_holm", "verdict_measured", "verdict",
                                               "sanity_failed", "sanity"] if c in by_pair]]),
            "readings": md(readings[[c for c in ["claim", "scope", "reading", "role", "shown", "n_pairs", "n_supported",
                                                 "n_not_supported", "n_inconclusive", "n_excluded"] if c in readings]])
            if len(readings) else md(None),
            "final": md(summary_table(epochs)),
            "attacks": md(attack_table(tables["attacks"], [0, *config["attacks"]["fgsm"]["eps"]])),
            "diagnostics": md(diag.groupby(["dataset", "pair", "method"])[
                [c for c in diag.columns if c.endswith("share") or c.startswith("sat_") or c in ("accuracy", "auc")]
            ].mean().reset_index(), 4) if diag is not None and len(diag) else None,
            "rule_stats": md(tables["rule_stats"].groupby(["method", "layer"]).agg(
                eps_dominated_share=("eps_dominated_share", "mean"), max_abs_update=("max_abs_update", "max"),
                median_mean_abs_update=("mean_abs_update", "median")).reset_index(), 6)
            if len(tables.get("rule_stats", [])) else None,
            "mcnemar": md(mcnemar_summary(tables["mcnemar"], eps, 1 - cc["confidence"]))
            if len(tables.get("mcnemar", [])) else None,
            "compute": md(compute_table(bench_files), 1),
        },
        "provenance": {
            "commits": ", ".join(sorted(runs.git_commit.astype(str).unique())), "report_commit": gs["git_commit"],
            "dirty": gs["git_dirty"], "run_hash": run_hash(config), "rebuilt": rebuilt,
            "devices": ", ".join(sorted(devices.device.astype(str).unique())),
            "versions": ", ".join(f"{k} {v}" for k, v in versions().items() if v),
        },
    }
    if len(methods) > 2:
        n["rules"] = md(rules_table(tables, methods, eps))
    return n


def render(n: dict) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE.parent)), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    return env.get_template(TEMPLATE.name).render(**n)


def write_reports(md_text: str, md_path, html_path) -> None:
    md_path, html_path = Path(md_path), Path(html_path)
    with atomic_path(md_path) as tmp:
        tmp.write_text(md_text)
    body = markdown.markdown(md_text, extensions=["tables", "toc"])  # toc: header ids, for the cards' links

    def embed(m):
        src = Path(m.group(1))
        if not src.is_absolute():
            src = (md_path.parent / src).resolve()
        return f'src="data:image/png;base64,{base64.b64encode(src.read_bytes()).decode()}"'

    body = re.sub(r'src="([^"]+\.png)"', embed, body)
    html = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Gupta (2020) replication</title>"
            "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.4}"
            "table{border-collapse:collapse;font-size:0.85em;margin:1em 0}td,th{border:1px solid #ccc;"
            "padding:2px 6px}img{max-width:100%}.card{border:1px solid #bbb;border-radius:6px;padding:0 1em;"
            "margin:1em 0}</style></head><body>\n" + body + "\n</body></html>\n")
    with atomic_path(html_path) as tmp:
        tmp.write_text(html)


def relative_figures(figures: dict, md_path) -> dict:
    return {k: os.path.relpath(v, Path(md_path).parent) for k, v in figures.items()}
