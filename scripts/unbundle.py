"""Unpack a results bundle into a folder, after checking every file against its sha256:

    .venv/bin/python scripts/unbundle.py results/bundle.tar.gz DIR

then rebuild the tables, sanity checks, claims, figures and report from it (no download, train,
attack or Square job), optionally with other claims or figure settings in a YAML file of your own:

    .venv/bin/snakemake --cores 2 -d DIR --configfile DIR/bundle.yaml [my.yaml]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from gupta_stdp import bundle  # noqa: E402
from gupta_stdp.errors import KnownError  # noqa: E402

if len(sys.argv) != 3:
    sys.exit(__doc__)
try:
    config = bundle.unpack(sys.argv[1], sys.argv[2])
except KnownError as err:
    sys.exit(f"Error: {err}")
print(f"unpacked into {sys.argv[2]}; rebuild with:\n"
      f"    .venv/bin/snakemake --cores 2 -d {sys.argv[2]} --configfile {config}")
