#!/usr/bin/env bash
# Environments for benchmarks/drift.py: one venv per reference library, under .bench-drift/,
# so that their pinned dependencies never meet each other or trustbench's.
#
#   bash benchmarks/setup_drift_env.sh            (idempotent; re-running is cheap)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE="$ROOT/.bench-drift"
mkdir -p "$BASE"

make_env() {  # name, then pip requirements
    local name=$1; shift
    local venv="$BASE/$name"
    if [ ! -x "$venv/bin/python" ]; then
        echo "setup_drift_env: creating $venv"
        python3 -m venv "$venv"
    fi
    if [ ! -f "$venv/.ok" ]; then
        "$venv/bin/python" -m pip install --disable-pip-version-check -q "$@" psutil
        "$venv/bin/python" -c "import pyarrow" 2>/dev/null \
            || "$venv/bin/python" -m pip install --disable-pip-version-check -q pyarrow
        touch "$venv/.ok"
    fi
    echo "setup_drift_env: $name ok ($("$venv/bin/python" -m pip show "${1%%[=<>]*}" 2>/dev/null | sed -n "s/^Version: //p"))"
}

# pins that their own metadata misses: Evidently 0.7 and NannyML 0.13 break on pandas 3;
# alibi-detect 0.12 needs numpy < 2, so a pyarrow built for numpy 1; NannyML imports
# statsmodels without declaring it
make_env evidently "evidently==0.7.*" "pandas<3"
make_env alibi-detect "alibi-detect==0.12.*" "pyarrow<16"
make_env nannyml "nannyml==0.13.*" "pandas<3" statsmodels
