#!/usr/bin/env bash
# Create .venv with the exact versions of requirements/py<version>.lock (the lock of the interpreter's
# Python version) plus this package (editable). Python: $PYTHON if set, else python3, else the first
# of python3.13, python3.12, python3.11 on PATH that runs. uv installs (faster than pip, README,
# Performance); the pinned uv of the lock is installed into .venv with pip first.
# Idempotent: a second run checks the pins and returns in seconds.
# --dry-run: say which Python and lock it would use, and stop.
set -euo pipefail
cd "$(dirname "$0")/.."
SUPPORTED="3.11 3.12 3.13"  # one requirements/py<version>.lock each (scripts/lock.sh makes them)

version_of() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true; }
supported() { case " $SUPPORTED " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
no_python() {
    echo "setup_env.sh: $1" >&2
    echo "  It needs Python ${SUPPORTED// /, } (with venv). Get one, then rerun (PYTHON=/path/to/python picks it):" >&2
    echo "    Debian/Ubuntu: sudo apt-get install python3.12 python3.12-venv" >&2
    echo "    uv:            uv python install 3.12 && PYTHON=\$(uv python find 3.12) bash scripts/setup_env.sh" >&2
    echo "    conda:         conda create -n py312 python=3.12 && PYTHON=\$(conda run -n py312 which python) bash scripts/setup_env.sh" >&2
    echo "                   (or conda env create -f environment.yml: the whole workflow in conda, no .venv)" >&2
    exit 1
}

if [ -n "${PYTHON:-}" ]; then
    PY=$PYTHON
    VER=$(version_of "$PY")
    [ -n "$VER" ] || no_python "PYTHON=$PY does not run."
    supported "$VER" || no_python "PYTHON=$PY is Python $VER, which has no lock."
else
    PY= VER= found=
    for cand in python3 python3.13 python3.12 python3.11; do
        command -v "$cand" >/dev/null || continue
        v=$(version_of "$cand")
        found="$found $cand=${v:-broken}"
        [ -n "$v" ] || continue
        if supported "$v"; then PY=$cand VER=$v; break; fi
    done
    [ -n "$PY" ] || no_python "no supported Python on PATH (found:${found:- none})."
fi
"$PY" -c 'import venv, ensurepip' 2>/dev/null ||
    no_python "$PY (Python $VER) lacks venv/ensurepip (Debian/Ubuntu: sudo apt-get install python$VER-venv)."
LOCK=requirements/py$VER.lock
[ -f "$LOCK" ] || { echo "setup_env.sh: $LOCK is missing (bash scripts/lock.sh makes it)." >&2; exit 1; }
if [ "${1:-}" = --dry-run ]; then echo "setup_env.sh: Python $VER ($PY) -> $LOCK"; exit 0; fi

if [ -e .venv ] || [ -L .venv ]; then
    have=$(version_of .venv/bin/python)
    have=${have:+Python $have}
    if [ "$have" != "Python $VER" ]; then
        echo "setup_env.sh: .venv is ${have:-broken (its python does not run)}, not Python $VER ($PY)." >&2
        echo "  Fix: rm -rf .venv and rerun${have:+, or PYTHON=/path/to/python${have#Python } bash scripts/setup_env.sh}" >&2
        exit 1
    fi
else
    "$PY" -m venv .venv
fi

UV_PIN=$(grep -m1 '^uv==' "$LOCK") || { echo "setup_env.sh: $LOCK pins no uv (requirements/in.txt must)." >&2; exit 1; }
[ "$(.venv/bin/uv --version 2>/dev/null | cut -d' ' -f2)" = "${UV_PIN#uv==}" ] ||
    .venv/bin/python -m pip install -q --disable-pip-version-check "$UV_PIN"

# uv does not read pip's configuration. Where pip is set up with other indexes or a folder of wheels
# (a mirror, a local wheel house), hand them to uv so that both see the same packages, pip's way: the
# pinned version from whichever index has it. UV_* settings of your own win.
if [ -z "${UV_INDEX_URL:-}${UV_DEFAULT_INDEX:-}${UV_EXTRA_INDEX_URL:-}${UV_INDEX:-}${UV_FIND_LINKS:-}" ]; then
    conf=$(.venv/bin/python -m pip config list 2>/dev/null || true)
    pipconf() { printf '%s\n' "$conf" | sed -n "s/^[^.]*\.$1='\(.*\)'\$/\1/p" | head -n1; }
    v=$(pipconf index-url); [ -z "$v" ] || export UV_INDEX_URL=$v
    v=$(pipconf extra-index-url); [ -z "$v" ] || export UV_EXTRA_INDEX_URL=$v UV_INDEX_STRATEGY=unsafe-best-match
    v=$(pipconf find-links); [ -z "$v" ] || export UV_FIND_LINKS=${v// /,}
    v=$(pipconf cert); [ -z "$v" ] || [ -n "${SSL_CERT_FILE:-}" ] || export SSL_CERT_FILE=$v
fi
# --compile-bytecode: uv does not write .pyc files by default, and where PYTHONDONTWRITEBYTECODE is set
# no process ever writes them, so every job would compile torch from source at each start (CI: 2x).
UV=(.venv/bin/uv pip install --quiet --compile-bytecode --python .venv/bin/python)
"${UV[@]}" -r "$LOCK"
"${UV[@]}" --no-deps --no-build-isolation -e .
echo "setup_env.sh: .venv ready (Python $VER, $LOCK, $(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))"
