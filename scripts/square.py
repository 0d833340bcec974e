"""Snakemake shim: the Square Attack on the models of one (dataset, pair) (gupta_stdp.jobs.square)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # the workflow's own package, also under --sdm conda

from gupta_stdp.jobs import common, square  # noqa: E402

# How the job runs (device, threads), not what it computes: read from the config, never a params entry.
runtime = common.runtime(snakemake.config, snakemake.resources)
common.setup(snakemake.log[0], snakemake.threads)
w, i = snakemake.wildcards, snakemake.input
square.run_square(snakemake.params.job, w.dataset, w.pair, i.models, i.examples, snakemake.output, runtime)
common.done(snakemake.output)
