"""Snakemake shim: sanity checks of the attacks per model (gupta_stdp.sanity)."""

import sys

import pandas as pd

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # the workflow's own package, also under --sdm conda

from gupta_stdp import io, sanity  # noqa: E402
from gupta_stdp.jobs import common  # noqa: E402

common.setup(snakemake.log[0])
table = sanity.from_tables(pd.read_csv(snakemake.input.attacks), sanity.read_all(snakemake.input.examples),
                           snakemake.params.job["largest_eps"])
io.write_csv(table, snakemake.output.sanity)
common.done(snakemake.output)
