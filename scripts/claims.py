"""Snakemake shim: verdicts on the claims and McNemar tests (gupta_stdp.claims)."""

import sys

import pandas as pd

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # the workflow's own package, also under --sdm conda

from gupta_stdp import claims, io, sanity  # noqa: E402
from gupta_stdp.jobs import common  # noqa: E402

common.setup(snakemake.log[0])
i, o = snakemake.input, snakemake.output
table, by_pair = claims.compute(pd.read_csv(i.epochs), pd.read_csv(i.attacks), pd.read_csv(i.sanity),
                                snakemake.params.job)
io.write_csv(claims.mcnemar_table(sanity.read_all(i.examples)), o.mcnemar)
io.write_csv(by_pair, o.by_pair)
io.write_csv(table, o.claims)
