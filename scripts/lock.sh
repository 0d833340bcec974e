#!/usr/bin/env bash
# The one command that makes or refreshes the locks:    bash scripts/lock.sh
# It resolves requirements/in.txt (the direct dependencies) into requirements/py<version>.lock for
# every version in SUPPORTED of scripts/setup_env.sh: every package at an exact version, for Linux
# x86_64 (manylinux_2_28 wheels only). It installs nothing: uv's resolver reads the registry (PyPI)
# for each target version, so the locks of Pythons that are not installed here are made too.
# Versions already in a lock are kept while they still resolve (uv prefers the pins of the file it
# writes); a new version's lock starts from the pins of py3.11.lock. To move a package, change its pin
# in requirements/in.txt, or pass uv's flag through:  bash scripts/lock.sh --upgrade-package NAME
# uv: .venv/bin/uv (pinned in the locks; scripts/setup_env.sh installs it), or UV=/path/to/uv.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-.venv/bin/uv}
if ! [ -x "$UV" ] && ! command -v "$UV" >/dev/null; then
    echo "lock.sh: no uv at $UV. Run bash scripts/setup_env.sh first (it installs the pinned uv into .venv)," >&2
    echo "  or: UV=/path/to/uv bash scripts/lock.sh" >&2
    exit 1
fi
SUPPORTED=$(sed -n 's/^SUPPORTED="\(.*\)".*/\1/p' scripts/setup_env.sh)
[ -n "$SUPPORTED" ] || { echo "lock.sh: no SUPPORTED=\"...\" line in scripts/setup_env.sh" >&2; exit 1; }
export UV_PYTHON_DOWNLOADS=never  # the target Python need not exist here; never fetch one
for v in $SUPPORTED; do
    lock=requirements/py$v.lock
    [ -f "$lock" ] || cp requirements/py3.11.lock "$lock"  # start from the pins the project runs on
    # connection-pool (needed by snakemake) is published as a source distribution only.
    "$UV" pip compile requirements/in.txt --quiet --no-header --python-version "$v" \
        --python-platform x86_64-manylinux_2_28 --only-binary :all: --no-binary connection-pool \
        --output-file "$lock" "$@"
    body=$(cat "$lock")
    {
        echo "# Python $v, Linux x86_64 (manylinux_2_28): every package at an exact version. Made by"
        echo "# \`bash scripts/lock.sh\` from requirements/in.txt; do not edit by hand. scripts/setup_env.sh"
        echo "# installs it; environment.yml pins the same versions; tests/test_environment.py checks both."
        printf '%s\n' "$body"
    } >"$lock"
    echo "lock.sh: $lock ($(grep -c '^[A-Za-z0-9]' "$lock") packages)"
done
