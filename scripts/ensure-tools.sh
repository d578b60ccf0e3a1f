#!/usr/bin/env bash
# Make sure the programs the integration tests drive are installed: haproxy (the socket
# proxy and the Portainer front). Installs missing ones with apt-get as root; otherwise
# fails with instructions. Never continues silently.
#
# Usage: scripts/ensure-tools.sh [TOOL...]   (default: haproxy)
set -euo pipefail

log() { printf 'ensure-tools: %s\n' "$*"; }
die() {
    printf 'ensure-tools: ERROR: %s\n' "$*" >&2
    exit 1
}

tools=("$@")
[[ ${#tools[@]} -gt 0 ]] || tools=(haproxy)

missing=()
for tool in "${tools[@]}"; do
    if command -v "$tool" >/dev/null 2>&1; then
        log "$tool: $("$tool" -v 2>/dev/null | head -n 1 || "$tool" --version 2>/dev/null | head -n 1)"
    else
        missing+=("$tool")
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
for tool in "${missing[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool was installed but is still not on PATH"
    log "installed $tool"
done
