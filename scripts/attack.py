"""Snakemake shim: attack the models of one (dataset, pair) (gupta_stdp.jobs.run_attacks)."""

from gupta_stdp import jobs

jobs.setup(snakemake.threads, snakemake.log[0])
w = snakemake.wildcards
models = dict(zip(snakemake.params.methods, snakemake.input.models))
jobs.run_attacks(snakemake.config, w.dataset, w.pair, models, snakemake.output[0])
