"""Snakemake shim: the results bundle (gupta_stdp.bundle)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # the workflow's own package, also under --sdm conda

from gupta_stdp import bundle, provenance  # noqa: E402
from gupta_stdp.jobs import common  # noqa: E402

common.setup(snakemake.log[0])
files = [f for k, v in snakemake.input.items() if k != "code" for f in ([v] if isinstance(v, str) else v)]
bundle.write(files, snakemake.params.config, provenance.git_state(), snakemake.output.bundle)
common.done(snakemake.output)
