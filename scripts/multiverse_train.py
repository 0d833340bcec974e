"""Snakemake shim: one multiverse population of (dataset, pair, rule, batch size) (gupta_stdp.jobs.spec_train)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # the workflow's own package, also under --sdm conda

from gupta_stdp.jobs import common, spec_train  # noqa: E402

# How the job runs (device, threads), not what it computes: read from the config, never a params entry.
runtime = common.runtime(snakemake.config, snakemake.resources)
common.setup(snakemake.log[0], snakemake.threads)
w = snakemake.wildcards
spec_train.run_spec_training(snakemake.params.job, w.dataset, w.pair, w.rule, int(w.batch), snakemake.output, runtime)
common.done(snakemake.output)
