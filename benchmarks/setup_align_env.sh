#!/usr/bin/env bash
# Make the environment of benchmarks/align.py, .bench-align-venv, idempotently.
#
# TRL (and the accelerate / datasets it needs) lives only here, never among the project's
# dependencies. torch is exactly 2.13.0: its CPU wheel is on local disk, any other version is a
# multi-GB CUDA build. torch goes in first, and every later install runs under a constraints
# file pinning it, so nothing that declares torch (accelerate, trl) can swap it.
#
# Usage: bash benchmarks/setup_align_env.sh     (from anywhere; re-running is cheap)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.bench-align-venv"
TORCH_VERSION="2.13.0"
TRANSFORMERS_VERSION="5.24.0"
TRL_VERSION="1.16.0"
ACCELERATE_VERSION="1.16.0"
DATASETS_VERSION="5.2.0"

TAG="setup_align_env"
# shellcheck source=benchmarks/_venv.sh
source "$ROOT/benchmarks/_venv.sh"
install_torch

if [ "$(installed trl)" != "$TRL_VERSION" ] \
        || [ "$(installed transformers)" != "$TRANSFORMERS_VERSION" ] \
        || [ "$(installed accelerate)" != "$ACCELERATE_VERSION" ] \
        || [ "$(installed datasets)" != "$DATASETS_VERSION" ]; then
    echo "setup_align_env: installing trl==$TRL_VERSION transformers==$TRANSFORMERS_VERSION" \
         "accelerate==$ACCELERATE_VERSION datasets==$DATASETS_VERSION"
    pip_install "transformers==$TRANSFORMERS_VERSION" "trl==$TRL_VERSION" \
        "accelerate==$ACCELERATE_VERSION" "datasets==$DATASETS_VERSION"
fi

install_trustbench

# Fail loudly if anything pulled a different torch, or a library does not import.
"$PY" - "$TORCH_VERSION" <<'EOF'
import sys
import torch, transformers, trl, accelerate, datasets  # noqa: F401  (each must import)
import trustbench.align.dpo  # noqa: F401
want = sys.argv[1]
if not torch.__version__.startswith(want):
    sys.exit(f"setup_align_env: expected torch {want}, found {torch.__version__}")
print(f"setup_align_env: ok (torch {torch.__version__}, transformers {transformers.__version__}, "
      f"trl {trl.__version__}, accelerate {accelerate.__version__}, datasets {datasets.__version__})")
EOF
