"""Snakemake shim: tidy tables from every job (gupta_stdp.jobs.aggregate)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # the workflow's own package, also under --sdm conda

from gupta_stdp.jobs import aggregate, common  # noqa: E402

common.setup(snakemake.log[0])
aggregate.aggregate(snakemake.input, snakemake.output)
common.done(snakemake.output)
