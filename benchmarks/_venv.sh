# Shared by benchmarks/setup_env.sh and benchmarks/setup_align_env.sh (sourced, not run).
#
# Before sourcing, set ROOT (the project), VENV (the environment's folder), TORCH_VERSION and
# TAG (the script's name in messages). Every install runs under a constraints file pinning
# torch, so nothing that declares torch can swap the CPU wheel for a multi-GB CUDA build.

PY="$VENV/bin/python"
if [ ! -x "$PY" ]; then
    echo "$TAG: creating $VENV"
    python3 -m venv "$VENV"
fi
CONSTRAINTS="$VENV/torch-constraint.txt"
echo "torch==$TORCH_VERSION" > "$CONSTRAINTS"

pip_install() { "$PY" -m pip install --disable-pip-version-check -q -c "$CONSTRAINTS" "$@"; }

# version of an installed distribution, or empty
installed() {
    "$PY" - "$1" <<'PYEOF'
import sys
from importlib.metadata import PackageNotFoundError, version
try:
    print(version(sys.argv[1]))
except PackageNotFoundError:
    print("")
PYEOF
}

install_torch() {
    case "$(installed torch)" in
        "$TORCH_VERSION"*) ;;
        *) echo "$TAG: installing torch==$TORCH_VERSION"
           pip_install "torch==$TORCH_VERSION" ;;
    esac
}

# trustbench itself, editable, with its own dependencies; torch is already satisfied.
install_trustbench() {
    if ! "$PY" -c "import trustbench, pathlib, sys; \
sys.exit(0 if pathlib.Path(trustbench.__file__).resolve().is_relative_to(pathlib.Path('$ROOT/src').resolve()) else 1)" \
            2>/dev/null; then
        echo "$TAG: installing trustbench (editable) from $ROOT"
        pip_install -e "$ROOT"
    fi
}
