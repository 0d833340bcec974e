"""Snakemake shim: the multiverse's attacks on every checkpoint of one (dataset, pair) (gupta_stdp.jobs.spec_attack)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # the workflow's own package, also under --sdm conda

from gupta_stdp.jobs import common, spec_attack  # noqa: E402

# How the job runs (device, threads), not what it computes: read from the config, never a params entry.
runtime = common.runtime(snakemake.config, snakemake.resources)
common.setup(snakemake.log[0], snakemake.threads)
w = snakemake.wildcards
spec_attack.run_spec_attacks(snakemake.params.job, w.dataset, w.pair, list(snakemake.input.checkpoints),
                             snakemake.output, runtime)
common.done(snakemake.output)
