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
PY="$VENV/bin/python"
TORCH_VERSION="2.13.0"
TORCHATTACKS_VERSION="3.5.1"
ART_VERSION="1.20.1"
CLEANLAB_VERSION="2.9.0"

if [ ! -x "$PY" ]; then
    echo "setup_env: creating $VENV"
    python3 -m venv "$VENV"
fi
pip_install() { "$PY" -m pip install --disable-pip-version-check -q "$@"; }

# version of an installed distribution, or empty
installed() {
    "$PY" - "$1" <<'EOF'
import sys
from importlib.metadata import PackageNotFoundError, version
try:
    print(version(sys.argv[1]))
except PackageNotFoundError:
    print("")
EOF
}

case "$(installed torch)" in
    "$TORCH_VERSION"*) ;;
    *) echo "setup_env: installing torch==$TORCH_VERSION"
       pip_install "torch==$TORCH_VERSION" ;;
esac

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

# trustbench itself, editable, with its own dependencies; torch is already satisfied.
if ! "$PY" -c "import trustbench, pathlib, sys; \
sys.exit(0 if pathlib.Path(trustbench.__file__).resolve().is_relative_to(pathlib.Path('$ROOT/src').resolve()) else 1)" \
        2>/dev/null; then
    echo "setup_env: installing trustbench (editable) from $ROOT"
    pip_install -e "$ROOT"
fi

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
