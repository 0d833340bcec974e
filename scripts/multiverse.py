"""Snakemake shim: the specifications' table, their verdicts and the tuned choices (gupta_stdp.jobs.multiverse)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # the workflow's own package, also under --sdm conda

from gupta_stdp.jobs import common, multiverse  # noqa: E402

common.setup(snakemake.log[0])
i = snakemake.input
multiverse.run(snakemake.params.job, list(i.scores), list(i.attacks), snakemake.output)
common.done(snakemake.output)
