#!/usr/bin/env bash
# Make the benchmark's own environment, .bench-venv, idempotently.
#
# The reference libraries (torchattacks, ART) are installed here and never become project
# dependencies. torch is pinned to 2.13.0 (its CPU wheel is on local disk; another version
# would pull a multi-GB CUDA build), and both reference libraries are installed with
# --no-deps so that neither drags in a second torch (torchattacks declares torchvision).
# Their real runtime dependencies are in benchmarks/requirements.txt.
#
# Usage: bash benchmarks/setup_env.sh     (from anywhere; re-running is cheap)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.bench-venv"
TORCH_VERSION="2.13.0"
TORCHATTACKS_VERSION="3.5.1"
ART_VERSION="1.20.1"
CLEANLAB_VERSION="2.9.0"

TAG="setup_env"
# shellcheck source=benchmarks/_venv.sh
source "$ROOT/benchmarks/_venv.sh"
install_torch

# Runtime dependencies of the reference libraries (no torch among them).
pip_install numpy scipy scikit-learn tqdm setuptools six packaging multiprocess requests

if [ "$(installed torchattacks)" != "$TORCHATTACKS_VERSION" ]; then
    echo "setup_env: installing torchattacks==$TORCHATTACKS_VERSION (--no-deps)"
    pip_install --no-deps "torchattacks==$TORCHATTACKS_VERSION"
fi
if [ "$(installed adversarial-robustness-toolbox)" != "$ART_VERSION" ]; then
    echo "setup_env: installing adversarial-robustness-toolbox==$ART_VERSION (--no-deps)"
    pip_install --no-deps "adversarial-robustness-toolbox==$ART_VERSION"
fi

if [ "$(installed cleanlab)" != "$CLEANLAB_VERSION" ]; then
    echo "setup_env: installing cleanlab==$CLEANLAB_VERSION (benchmarks/label_errors.py)"
    pip_install "cleanlab==$CLEANLAB_VERSION"
fi

install_trustbench

# Fail loudly if anything pulled a different torch.
"$PY" - "$TORCH_VERSION" <<'EOF'
import sys
import torch, torchattacks, art, trustbench  # noqa: F401  (each must import)
want = sys.argv[1]
if not torch.__version__.startswith(want):
    sys.exit(f"setup_env: expected torch {want}, found {torch.__version__}")
print(f"setup_env: ok (torch {torch.__version__}, torchattacks {torchattacks.__version__}, "
      f"art {art.__version__})")
EOF
