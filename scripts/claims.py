"""Snakemake shim: verdicts on the claims and McNemar tests (gupta_stdp.claims)."""

import sys

import pandas as pd

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # the workflow's own package, also under --sdm conda

from gupta_stdp import claims, io, sanity  # noqa: E402
from gupta_stdp.claims import specs  # noqa: E402
from gupta_stdp.jobs import common  # noqa: E402

common.setup(snakemake.log[0])
i, o, p = snakemake.input, snakemake.output, snakemake.params.job
tables = {k: pd.read_csv(getattr(i, k)) for k in ("epochs", "attacks", "sanity", "curve")}
table, by_pair, readings = claims.compute(tables, p)
if i.specs:  # the multiverse ran: each claim's counts over the specifications and its tuned verdict
    table = specs.claim_columns(table, pd.read_csv(i.specs))
io.write_csv(claims.mcnemar_table(sanity.read_all(i.examples), p["report_eps"], p["rule_of"]), o.mcnemar)
io.write_csv(by_pair, o.by_pair)
io.write_csv(readings, o.readings)
io.write_csv(table, o.claims)
common.done(snakemake.output)
