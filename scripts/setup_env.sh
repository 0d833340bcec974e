#!/usr/bin/env bash
# Create .venv and install the exact versions of requirements.lock plus this package (editable).
# Idempotent: a second run checks the pins and returns in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "setup_env.sh: $PY is not Python 3.11 (the version requirements.lock was made for)." >&2
    echo "  Fix: PYTHON=/path/to/python3.11 bash scripts/setup_env.sh, or use environment.yml with conda." >&2
    exit 1
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.lock
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
echo "setup_env.sh: .venv ready ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))"
