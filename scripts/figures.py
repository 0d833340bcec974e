"""Snakemake shim: draw one figure of workflow/report/figures.yaml (gupta_stdp.figures)."""

import sys

import pandas as pd

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # the workflow's own package, also under --sdm conda

from gupta_stdp import figures  # noqa: E402
from gupta_stdp.jobs import common  # noqa: E402

common.setup(snakemake.log[0])
tables = {k: pd.read_csv(v) for k, v in snakemake.input.items() if k != "code"}
figures.draw(snakemake.wildcards.figure, tables, snakemake.params.options, snakemake.output[0])
common.done(snakemake.output)
