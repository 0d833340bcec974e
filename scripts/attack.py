"""Snakemake shim: attack the models of one (dataset, pair) (gupta_stdp.jobs.attack)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # the workflow's own package, also under --sdm conda

from gupta_stdp.jobs import attack, common  # noqa: E402

# How the job runs (device, threads, download transport), not what it computes: read from the
# config, never a params entry, so that changing it reruns nothing.
runtime = common.runtime(snakemake.config, snakemake.resources)
common.setup(snakemake.log[0], snakemake.threads)
w, p = snakemake.wildcards, snakemake.params
attack.run_attacks(p.job, w.dataset, w.pair, snakemake.input.models, snakemake.output, runtime)
common.done(snakemake.output)
