"""Snakemake shim: verdicts on claims C1-C4 (gupta_stdp.claims.compute)."""

import sys

import pandas as pd

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # the workflow's own package, also under --sdm conda

from gupta_stdp import claims, jobs  # noqa: E402

jobs.setup(1, snakemake.log[0])
epochs, attacks = pd.read_csv(snakemake.input.epochs), pd.read_csv(snakemake.input.attacks)
table, by_pair = claims.compute(epochs, attacks, snakemake.config)
jobs.write_csv(by_pair, snakemake.output.by_pair)
jobs.write_csv(table, snakemake.output.claims)
