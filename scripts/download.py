"""Snakemake shim: fetch and verify one IDX dataset (gupta_stdp.jobs.download)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # the workflow's own package, also under --sdm conda

from gupta_stdp.jobs import common, download  # noqa: E402

# How the job runs (device, threads, download transport), not what it computes: read from the
# config, never a params entry, so that changing it reruns nothing.
runtime = common.runtime(snakemake.config, snakemake.resources)
common.setup(snakemake.log[0])
download.download(snakemake.wildcards.dataset, snakemake.params.md5, runtime)
common.done(snakemake.output)
