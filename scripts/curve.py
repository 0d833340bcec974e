"""Snakemake shim: the implemented STDP update along Fig. 4's dT range (gupta_stdp.jobs.curve)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # the workflow's own package, also under --sdm conda

from gupta_stdp.jobs import common, curve  # noqa: E402

common.setup(snakemake.log[0], 1)
curve.run(snakemake.params.job, snakemake.output.curve)
common.done(snakemake.output)
