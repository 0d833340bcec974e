"""Snakemake shim: train every seed of one (dataset, pair, method) (gupta_stdp.jobs.run_training)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # the workflow's own package, also under --sdm conda

from gupta_stdp import jobs  # noqa: E402

jobs.setup(snakemake.threads, snakemake.log[0])
w, out = snakemake.wildcards, snakemake.output
jobs.run_training(snakemake.config, w.dataset, w.pair, w.method, out.epochs, out.model, out.provenance,
                  out.rule_stats)
