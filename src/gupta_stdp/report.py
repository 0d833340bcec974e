"""The replication report: Markdown, and a self-contained HTML (images embedded as data URIs)."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import markdown
import numpy as np
import pandas as pd

from .jobs import atomic_path
from .provenance import config_hash, git_state, versions


def _fmt(x, digits=3):
    if x is pd.NA:
        return "–"
    if isinstance(x, (float, np.floating)):
        if not np.isfinite(x):
            return "–"
        if x != 0 and (abs(x) >= 1e4 or abs(x) < 10**-digits):
            return f"{x:.3g}"
        return f"{x:.{digits}f}"
    return str(x)


def _md_table(df: pd.DataFrame, digits=3) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v, digits) for v in row) + " |")
    return "\n".join(lines)


def summary_table(epochs: pd.DataFrame) -> pd.DataFrame:
    """Final-epoch test metrics per (dataset, pair, method): mean ± SD over seeds."""
    test = epochs[epochs.split == "test"]
    final = test[test.epoch == test.groupby(["dataset", "pair", "method"]).epoch.transform("max")]
    g = final.groupby(["dataset", "pair", "method"])
    out = g.agg(seeds=("seed", "nunique"), diverged=("diverged", "sum")).reset_index()
    for col in ("accuracy", "auc", "mean_out_y0", "mean_out_y1"):
        m, s = g[col].mean().to_numpy(), g[col].std().to_numpy()
        out[col] = [f"{a:.3f} ± {b:.3f}" if np.isfinite(a) else "–" for a, b in zip(m, np.nan_to_num(s))]
    return out


def attack_table(attacks: pd.DataFrame, eps_255=None) -> pd.DataFrame:
    df = attacks.copy()
    if eps_255 is not None:
        keep = [0.0, *[e / 255 for e in eps_255]]
        df = df[df.eps.apply(lambda e: bool(np.isclose(e, keep).any()))]
    df["eps_255"] = (df.eps * 255).round(2)
    g = df.groupby(["dataset", "pair", "attack", "eps_255", "method"]).accuracy
    t = (g.mean().map(lambda v: f"{v:.3f}") + " ± " + g.std().fillna(0).map(lambda v: f"{v:.3f}")).unstack("method")
    return t.reset_index()


def diagnostics_table(diag: pd.DataFrame) -> pd.DataFrame:
    cols = ["grad_zero_share", "grad_l2_median", *sorted(c for c in diag.columns if c.startswith("sat_layer")),
            "accuracy", "auc"]
    return diag.groupby(["dataset", "pair", "method"])[cols].mean().reset_index()


def data_lines(config) -> list[str]:
    """Where each IDX dataset came from, flagging files other than the published ones."""
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
        out.append(f"- {name}: standard train/test split from the mirrors of `data.{name}.mirrors` "
                   f"({len(src['mirrors'])} configured); {note}; every file verified by md5; pixels / 255.")
    return out


def attack_lines(config) -> list[str]:
    """What the stronger evaluation ran, in words."""
    ac, out = config["attacks"], []
    if ac["sweep"]["enabled"]:
        out.append(f"- Sweep: FGSM{' and PGD' if ac['pgd']['enabled'] else ''} at eps ∈ "
                   f"{{{', '.join(f'{e:g}' for e in ac['sweep']['eps'])}}}/255, until accuracy reaches chance.")
    if ac["pgd"]["enabled"]:
        p = ac["pgd"]
        out.append(f"- PGD (L∞): {p['steps']} steps of {p['step_factor']:g}·eps/{p['steps']}, {p['restarts']} "
                   "random restart(s); a point counts as broken if any restart breaks it.")
    if ac["transfer"]["enabled"]:
        out.append("- Transfer: FGSM/PGD examples crafted on the BP model of a seed, evaluated on the STDP model of "
                   "the same seed, and the reverse (rows `transfer_*`, column `source`).")
    if ac["decision"]["enabled"]:
        d = ac["decision"]
        out.append(f"- HopSkipJump (decision-based, labels only): {d['n_samples']} class-balanced test points per "
                   f"model, {d['max_iter']} iterations, at most {d['max_eval']} queries per gradient estimate; "
                   "accuracy at eps = share of points whose smallest adversarial found lies beyond eps. A short "
                   "run: it bounds accuracy from above, and shows whether gradient attacks under-report.")
    ab = config["ablations"]
    if ab["enabled"]:
        out.append("- Ablations (STDP, one setting changed each, every pair): rule eps "
                   f"{ab['stdp_eps']}, bias {ab['bias']}, hidden balance {ab['hidden_balance']}.")
    return out


def _share(mask) -> str:
    return f"{int(mask.sum())} of {len(mask)}"


def narrative(config, claims, by_pair, epochs, diag) -> list[str]:
    """A plain account of what the numbers say, every number computed here from the tables."""
    cl = claims.set_index("claim")
    margin = config["claims"]["margin"]
    out = []
    c1 = by_pair[(by_pair.claim == "C1") & (by_pair.variant == "accuracy")]
    if len(c1):
        lo, hi = c1.loc[c1.mean_diff.idxmin()], c1.loc[c1.mean_diff.idxmax()]
        within = _share(c1.ci_low > -margin)
        out.append(f"- **C1 ({cl.loc['C1', 'verdict']})**: the paired difference in final test accuracy (STDP − BP) "
                   f"ranges from {lo.mean_diff:+.3f} ({lo.dataset} {lo.pair}) to {hi.mean_diff:+.3f} ({hi.dataset} "
                   f"{hi.pair}); {within} pairs are shown to lie within the margin of {margin}. Read on test AUC "
                   f"instead: {cl.loc['C1'].get('verdict_auc', '–')}.")
    c2 = by_pair[(by_pair.claim == "C2") & (by_pair.variant == "fgsm")]
    if len(c2):
        extra = "; ".join(f"{c.removeprefix('verdict_')}: {cl.loc['C2', c]}" for c in cl.columns
                          if c.startswith("verdict_") and isinstance(cl.loc["C2", c], str))
        out.append(f"- **C2 ({cl.loc['C2', 'verdict']})**: under FGSM at the paper's eps STDP keeps more accuracy "
                   f"than BP in {_share(c2.verdict == 'supported')} pairs and less in "
                   f"{_share(c2.verdict == 'not supported')}. Other attacks: {extra or 'none run'}.")
    c3 = by_pair[(by_pair.claim == "C3") & (by_pair.variant == "accuracy")]
    if len(c3):
        out.append(f"- **C3 ({cl.loc['C3', 'verdict']})**: on IRIS the early gap (BP − STDP, first "
                   f"{int(c3.early_epochs.iloc[0])} epochs) averages {c3.early_gap_mean.mean():+.3f}; the final "
                   f"difference (STDP − BP) averages {c3.mean_diff.mean():+.3f}.")
    else:
        out.append(f"- **C3 ({cl.loc['C3', 'verdict']})**: no IRIS runs in this configuration.")
    out.append(f"- **C4 ({cl.loc['C4', 'verdict']})**: computed from the equations alone (see the numbers above).")
    test = epochs[epochs.split == "test"]
    final = test[test.epoch == test.groupby(["dataset", "pair", "method"]).epoch.transform("max")]
    st = final[(final.method == "stdp") & final.auc.notna()]
    if len(st):
        same_side = ((st.mean_out_y0 >= 0.5) == (st.mean_out_y1 >= 0.5))
        out.append(f"- **Polarity**: {_share(st.auc < 0.5)} STDP runs end with test AUC below 0.5 (the classes "
                   f"ranked the wrong way round) and {_share(st.auc > 0.9)} above 0.9; in {_share(same_side)} the "
                   "mean outputs of both classes lie on the same side of 0.5, where the threshold, not the "
                   "ranking, decides the accuracy.")
    if diag is not None and len(diag):
        med = diag.groupby("method")[["grad_zero_share", "sat_layer1"]].median()
        parts = [f"{m}: {r.grad_zero_share:.1%} of test inputs with an exactly zero input gradient, "
                 f"{r.sat_layer1:.1%} of first-layer activations saturated" for m, r in med.iterrows()]
        out.append("- **Gradient masking** (median over runs): " + "; ".join(parts) + ". A model whose gradients "
                   "vanish looks robust to gradient attacks without being so; compare the transfer rows.")
    return out


def compute_table(bench_files) -> pd.DataFrame:
    """Wall time, CPU time and peak memory from Snakemake's benchmark files, by stage."""
    rows = []
    for f in bench_files:
        f = Path(f)
        if f.exists():
            b = pd.read_csv(f, sep="\t")
            rows.append({"stage": f.parent.name, "job": f.stem, "wall_s": b.s.iloc[0],
                         "cpu_s": pd.to_numeric(b.cpu_time, errors="coerce").iloc[0],
                         "max_rss_mb": pd.to_numeric(b.max_rss, errors="coerce").iloc[0]})
    if not rows:
        return pd.DataFrame(columns=["stage", "jobs", "wall_s", "cpu_s", "max_rss_mb"])
    df = pd.DataFrame(rows)
    return df.groupby("stage").agg(jobs=("job", "count"), wall_s=("wall_s", "sum"), cpu_s=("cpu_s", "sum"),
                                   max_rss_mb=("max_rss_mb", "max")).reset_index()


def rule_stats_table(stats: pd.DataFrame) -> pd.DataFrame:
    """Per STDP variant and layer, over pairs, seeds and epochs: how often eps dominated the
    denominator, and how large the updates got."""
    g = stats.groupby(["method", "layer"])
    return g.agg(eps_dominated_share=("eps_dominated_share", "mean"), max_abs_update=("max_abs_update", "max"),
                 median_mean_abs_update=("mean_abs_update", "median")).reset_index()


def build_markdown(config, epochs, attacks, claims, by_pair, runs, figures: dict, bench_files, diag=None,
                   rule_stats=None) -> str:
    seeds = config["seeds"]
    ds_lines = "\n".join(
        f"- **{name}**: pairs {', '.join(d['pairs'])}; {d['epochs']} epochs; batch {d['batch_size']}"
        for name, d in config["datasets"].items())
    n_div = int(runs.diverged_epoch.notna().sum())
    variants = sorted(m for m in runs.method.unique() if m not in ("stdp", "bp"))
    gs = git_state()
    st = config["stdp"]
    commits = sorted(runs.git_commit.astype(str).unique())
    devices = sorted(runs.device.astype(str).unique())
    cc = config["claims"]
    claims = claims.copy()
    for col in ("n_supported", "n_not_supported", "n_inconclusive"):
        claims[col] = claims[col].astype("Int64")
    parts = [
        "# Replication report: Gupta (2020), a local STDP learning rule vs backpropagation",
        "",
        "Every number below was computed by the workflow from `results/tables/*.csv`; every verdict comes "
        "from a rule stated beside it.",
        "",
        "## What the evidence says",
        "",
        *narrative(config, claims, by_pair, epochs, diag),
        "",
        "## Claims",
        "",
        _md_table(claims[["claim", "verdict", "statement", "n_pairs", "n_supported", "n_not_supported",
                          "n_inconclusive"]]),
        "",
        "The same claims read other ways (same rules, other measurements; columns `verdict_*` of "
        "`claims.csv`):",
        "",
        _md_table(claims[["claim", *[c for c in claims.columns if c.startswith("verdict_")]]].dropna(how="all", axis=1)
                  .fillna("–")),
        "",
        "Rules:",
        "",
        *[f"- **{r.claim}**: {r.rule}." for r in claims.itertuples()],
        "",
        f"C4 numbers: eq. 6 peaks {claims.set_index('claim').loc['C4', 'eq6_peak_pos']:.3g} (dT > 0) vs "
        f"{claims.set_index('claim').loc['C4', 'eq6_peak_neg']:.3g} (dT < 0); eq. 5 peaks "
        f"{claims.set_index('claim').loc['C4', 'eq5_peak_pos']:.3g} vs {claims.set_index('claim').loc['C4', 'eq5_peak_neg']:.3g}.",
        "",
        "### Per pair (paired by seed, d = STDP − BP)",
        "",
        _md_table(by_pair[["claim", "variant", "dataset", "pair", "n_seeds", "mean_diff", "sd_diff", "ci_low",
                           "ci_high", "verdict"]]),
        "",
        "## What was run",
        "",
        f"- Seeds: {', '.join(map(str, seeds))} (paired: a seed fixes the initial weights, the batch order "
        "and the hidden associativity for both methods).",
        f"- Methods: {', '.join(config['methods'])}"
        + (f"; STDP ablation variants (one setting changed each): {', '.join(variants)}." if variants else "."),
        ds_lines,
        "- Network: n_in → 32 → 16 → 1, sigmoid after every layer; prediction = output ≥ 0.5; PyTorch's "
        "default nn.Linear initialisation from the seed.",
        f"- STDP rule (paper eq. 3): dW = mean_b Z x³ p (x − p) / ((2p − x)² + ε), ε = {st['eps']:g}; Adam "
        f"(lr {config['optimizer']['lr']:g}) is given −dW as its gradient, so it moves weights along +dW. "
        f"Hidden associativity: {st['hidden_balance']:.0%} of each layer +1, fixed per seed, flipped for y = 0. "
        f"Biases: {st['bias']} ({'a synapse from an always-on neuron, x = 1, same rule' if st['bias'] == 'presynaptic_one' else 'frozen at their initial value'}; the paper is silent). "
        f"Implementation: {st['impl']}.",
        "- BP baseline: binary cross-entropy from the logit, Adam with the same lr, same initial weights.",
        f"- IRIS: scikit-learn's copy, stratified {1 - config['data']['iris']['test_size']:.0%}/"
        f"{config['data']['iris']['test_size']:.0%} split of all 150 points (split seed "
        f"{config['data']['iris']['split_seed']}), min-max scaled on the train split, clipped to [0, 1].",
        *data_lines(config),
        f"- FGSM: x_adv = clamp(x + ε sign(∇x BCE), 0, 1), ε ∈ {{{', '.join(f'{e:g}' for e in config['attacks']['fgsm']['eps'])}}}/255, "
        "white box on the test split; for STDP models the attack differentiates through the trained network.",
        *attack_lines(config),
        f"- Confidence: {cc['confidence']:.0%} percentile bootstrap ({cc['n_boot']} resamples) of the mean paired "
        f"difference over seeds; with few seeds such intervals are narrow, so read them with the SDs.",
        f"- Diverged runs (non-finite weights): {n_div} of {len(runs)}.",
        "",
        "## Figures",
        "",
        *[f"![{name}]({path})\n" for name, path in figures.items()],
        "## Final test metrics (mean ± SD over seeds)",
        "",
        "Accuracy uses the paper's 0.5 threshold. AUC and the mean output per class show what it hides: "
        "AUC near 0 means the classes are separated with the wrong polarity; both class means on one side "
        "of 0.5 mean the threshold, not the ranking, fails.",
        "",
        _md_table(summary_table(epochs)),
        "",
        "## Accuracy under attack at the paper's eps (mean ± SD over seeds)",
        "",
        "`transfer_*`: the model named by the column, attacked with examples crafted on the other method's "
        "model of the same seed. The whole sweep is in `results/tables/attacks.csv` and the robustness figure.",
        "",
        _md_table(attack_table(attacks, config["attacks"]["fgsm"]["eps"])),
        "",
        *(["## Gradient-masking diagnostics (test split, mean over seeds)", "",
           "grad_zero_share: share of inputs whose input gradient is exactly zero; grad_l2_median: median L2 "
           "norm of the input gradient; sat_layerK: share of layer-K activations within "
           f"{config['diagnostics']['saturation']} of 0 or 1.", "",
           _md_table(diagnostics_table(diag), 4), ""] if diag is not None and len(diag) else []),
        *(["## The rule's denominator: how often eps takes over", "",
           "Share of (sample, post, pre) triples per step where eps outweighs (2p − x)² (there the update is "
           "about 1/eps times larger than elsewhere), and the update sizes, per STDP variant and layer, over all "
           f"pairs, seeds and epochs; sampled once every {config['diagnostics']['rule_stats_every']} batches.", "",
           _md_table(rule_stats_table(rule_stats), 6), ""] if rule_stats is not None and len(rule_stats) else []),
        "## Compute used (from Snakemake's benchmark files)",
        "",
        _md_table(compute_table(bench_files), 1),
        "",
        "## Provenance",
        "",
        f"- Commit(s) of the runs: {', '.join(commits)}; report built at {gs['git_commit']} "
        f"(dirty: {gs['git_dirty']}).",
        f"- Config hash: {config_hash(config)}.",
        f"- Device(s): {', '.join(devices)}.",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in versions().items() if v) + ".",
        "",
    ]
    return "\n".join(parts)


def write_reports(md_text: str, md_path, html_path) -> None:
    md_path, html_path = Path(md_path), Path(html_path)
    with atomic_path(md_path) as tmp:
        tmp.write_text(md_text)
    body = markdown.markdown(md_text, extensions=["tables"])

    def embed(m):
        src = Path(m.group(1))
        if not src.is_absolute():
            src = (md_path.parent / src).resolve()
        data = base64.b64encode(src.read_bytes()).decode()
        return f'src="data:image/png;base64,{data}"'

    body = re.sub(r'src="([^"]+\.png)"', embed, body)
    html = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Gupta (2020) replication</title>"
            "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.4}"
            "table{border-collapse:collapse;font-size:0.85em;margin:1em 0}td,th{border:1px solid #ccc;"
            "padding:2px 6px}img{max-width:100%}</style></head><body>\n" + body + "\n</body></html>\n")
    with atomic_path(html_path) as tmp:
        tmp.write_text(html)


def relative_figures(figures: dict, md_path) -> dict:
    import os

    return {k: os.path.relpath(v, Path(md_path).parent) for k, v in figures.items()}
