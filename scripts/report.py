"""Snakemake shim: the Markdown and self-contained HTML reports (gupta_stdp.report)."""

import sys

import pandas as pd

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # the workflow's own package, also under --sdm conda

from gupta_stdp import report  # noqa: E402
from gupta_stdp.jobs import common  # noqa: E402

common.setup(snakemake.log[0])
i, o, p = snakemake.input, snakemake.output, snakemake.params
names = ("epochs", "attacks", "diagnostics", "alignment", "by_pair", "runs", "rule_stats", "claims", "readings",
         "mcnemar", "sanity", "devices")
tables = {k: pd.read_csv(getattr(i, k)) for k in names}
if i.multiverse:
    tables["spec_verdicts"], tables["spec_tuned"] = (pd.read_csv(f) for f in i.multiverse)
figs = report.relative_figures({f: getattr(i, f"figure_{f}") for f in p.figures}, o.md)
numbers = report.numbers(tables, p.config, figs, p.benchmarks, rebuilt=p.rebuilt)
report.write_reports(report.render(numbers), o.md, o.html)
common.done(snakemake.output)
