"""Snakemake shim: tidy tables from every run (gupta_stdp.jobs.aggregate)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # the workflow's own package, also under --sdm conda

from gupta_stdp import jobs  # noqa: E402

jobs.setup(1, snakemake.log[0])
i, o = snakemake.input, snakemake.output
jobs.aggregate(i.epochs, i.attacks, i.provenance, o.epochs, o.attacks, o.runs, o.provenance,
               i.diagnostics, o.diagnostics, i.rule_stats, o.rule_stats)
