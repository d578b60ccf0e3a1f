#!/usr/bin/env bash
# Make sure the Debian packages the integration tests drive are installed: haproxy (the
# socket proxy and the Portainer stand-in), time (GNU time, which measures berth's peak
# memory) and groff-base (which checks that `berth man` renders) by default; podman and catatonit (its init, which berth's --init needs) for
# `make test-podman`. Installs missing ones with apt-get as root;
# otherwise fails with instructions. Never continues silently.
#
# Usage: scripts/ensure-tools.sh [PACKAGE...]   (default: haproxy time groff-base)
set -euo pipefail

log() { printf 'ensure-tools: %s\n' "$*"; }
die() {
    printf 'ensure-tools: ERROR: %s\n' "$*" >&2
    exit 1
}

packages=("$@")
[[ ${#packages[@]} -gt 0 ]] || packages=(haproxy time groff-base)

installed() {
    if command -v dpkg-query >/dev/null 2>&1; then
        [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
    else
        command -v "$1" >/dev/null 2>&1
    fi
}

missing=()
for pkg in "${packages[@]}"; do
    if installed "$pkg"; then
        log "$pkg: $(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || echo present)"
    else
        missing+=("$pkg")
    fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
    die "missing: ${missing[*]}, and not running as root, so cannot install them.
  Fix: sudo apt-get install -y ${missing[*]}   (or re-run this script as root)"
fi
command -v apt-get >/dev/null 2>&1 || die "missing: ${missing[*]}, and apt-get is not available; install them by hand"

export DEBIAN_FRONTEND=noninteractive
log "installing: ${missing[*]}"
if ! apt-get install -y -q "${missing[@]}"; then
    log "install failed; running apt-get update and retrying"
    apt-get update -q || die "apt-get update failed"
    apt-get install -y -q "${missing[@]}" || die "apt-get install -y ${missing[*]} failed"
fi
for pkg in "${missing[@]}"; do
    installed "$pkg" || die "$pkg was installed but is still not there"
    log "installed $pkg"
done
