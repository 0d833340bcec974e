"""Snakemake shim: the Markdown and self-contained HTML reports (gupta_stdp.report)."""

import sys

import pandas as pd

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # the workflow's own package, also under --sdm conda

from gupta_stdp import jobs, report  # noqa: E402

jobs.setup(1, snakemake.log[0])
i, o = snakemake.input, snakemake.output
names = ("epochs", "attacks", "claims", "by_pair", "runs", "diagnostics", "rule_stats")
tables = {k: pd.read_csv(getattr(i, k)) for k in names}
figs = report.relative_figures({"Fig. 2": i.fig2, "Fig. 3": i.fig3, "Fig. 4": i.fig4,
                                "Robustness beyond the paper": i.fig5, "Ablations": i.fig6,
                                "Gradient-masking diagnostics": i.fig7}, o.md)
text = report.build_markdown(snakemake.config, tables["epochs"], tables["attacks"], tables["claims"],
                             tables["by_pair"], tables["runs"], figs, snakemake.params.benchmarks,
                             tables["diagnostics"], tables["rule_stats"])
report.write_reports(text, o.md, o.html)
