"""Snakemake shim: draw one of the paper's figures (gupta_stdp.figures), chosen by the rule's name."""

import sys

import pandas as pd

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # the workflow's own package, also under --sdm conda

from gupta_stdp import figures, jobs  # noqa: E402

jobs.setup(1, snakemake.log[0])
out = snakemake.output[0]
if snakemake.rule == "fig2_accuracy":
    figures.fig2_accuracy(pd.read_csv(snakemake.input.table), out)
elif snakemake.rule == "fig3_fgsm":
    figures.fig3_fgsm(pd.read_csv(snakemake.input.table), out)
elif snakemake.rule == "fig7_diagnostics":
    figures.fig7_diagnostics(pd.read_csv(snakemake.input.table), out)
elif snakemake.rule == "fig6_ablations":
    figures.fig6_ablations(pd.read_csv(snakemake.input.table), out)
elif snakemake.rule == "fig5_robustness":
    figures.fig5_robustness(pd.read_csv(snakemake.input.table), out)
else:
    figures.fig4_stdp_curve(out, snakemake.params.t_pre, snakemake.params.r)
