"""Snakemake shim: train every seed of one (dataset, pair, method) (gupta_stdp.jobs.run_training)."""

from gupta_stdp import jobs

jobs.setup(snakemake.threads, snakemake.log[0])
w, out = snakemake.wildcards, snakemake.output
jobs.run_training(snakemake.config, w.dataset, w.pair, w.method, out.epochs, out.model, out.provenance)
