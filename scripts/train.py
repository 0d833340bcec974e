"""Snakemake shim: train every member of one (dataset, pair, rule) (gupta_stdp.jobs.train)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # the workflow's own package, also under --sdm conda

from gupta_stdp.jobs import common, train  # noqa: E402

# How the job runs (device, threads, download transport), not what it computes: read from the
# config, never a params entry, so that changing it reruns nothing.
runtime = common.runtime(snakemake.config, snakemake.resources)
common.setup(snakemake.log[0], snakemake.threads)
w, p = snakemake.wildcards, snakemake.params
train.run_training(p.job, w.dataset, w.pair, w.rule, snakemake.output, runtime)
common.done(snakemake.output)
