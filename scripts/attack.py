"""Snakemake shim: attack the models of one (dataset, pair) (gupta_stdp.jobs.run_attacks)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # the workflow's own package, also under --sdm conda

from gupta_stdp import jobs  # noqa: E402

jobs.setup(snakemake.threads, snakemake.log[0])
w = snakemake.wildcards
models = dict(zip(snakemake.params.methods, snakemake.input.models))
jobs.run_attacks(snakemake.config, w.dataset, w.pair, models, snakemake.output.attacks,
                 snakemake.output.diagnostics)
