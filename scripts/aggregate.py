"""Snakemake shim: tidy tables from every run (gupta_stdp.jobs.aggregate)."""

from gupta_stdp import jobs

jobs.setup(1, snakemake.log[0])
i, o = snakemake.input, snakemake.output
jobs.aggregate(i.epochs, i.attacks, i.provenance, o.epochs, o.attacks, o.runs, o.provenance)
