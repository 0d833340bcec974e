"""Snakemake shim: fetch and verify one IDX dataset (gupta_stdp.jobs.download)."""

from gupta_stdp import jobs

jobs.setup(1, snakemake.log[0])
jobs.download(snakemake.config, snakemake.wildcards.dataset)
