"""Snakemake shim: fetch and verify one IDX dataset (gupta_stdp.jobs.download)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # the workflow's own package, also under --sdm conda

from gupta_stdp import jobs  # noqa: E402

jobs.setup(1, snakemake.log[0])
jobs.download(snakemake.config, snakemake.wildcards.dataset)
