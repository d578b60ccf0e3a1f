#!/usr/bin/env bash
# Runs a command against Podman's Docker-compatible API: starts `podman system service` on a
# private socket (with the ulimits these machines need), makes sure the test images are in
# Podman's storage, exports BERTH_TEST_ENGINE=unix://<socket>, runs the command, and stops
# the service. The integration tests point both berth and the docker CLI at that engine.
#
# Usage: scripts/with-podman.sh COMMAND [ARG...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'with-podman: %s\n' "$*" >&2; }
die() {
    printf 'with-podman: ERROR: %s\n' "$*" >&2
    exit 1
}

[[ $# -gt 0 ]] || {
    echo "usage: $0 COMMAND [ARG...]" >&2
    exit 2
}
command -v podman >/dev/null 2>&1 || die "podman is not installed: run 'bash scripts/ensure-tools.sh podman catatonit' as root"

dir=$(mktemp -d "${TMPDIR:-/tmp}/berth-podman.XXXXXX")
# Without these, containers fail with "error setting rlimit" on these VMs.
cat >"$dir/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
CONF
export CONTAINERS_CONF="$dir/containers.conf"
socket="$dir/podman.sock"
podman system service --time=0 "unix://$socket" >"$dir/service.log" 2>&1 &
service=$!
cleanup() {
    kill "$service" 2>/dev/null || true
    wait "$service" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
for _ in $(seq 100); do
    [[ -S $socket ]] && break
    kill -0 "$service" 2>/dev/null || {
        cat "$dir/service.log" >&2
        die "podman system service did not start"
    }
    sleep 0.1
done
[[ -S $socket ]] || die "podman system service did not create $socket"
log "podman $(podman --version | awk '{print $3}') serving unix://$socket"

# The test images come from the Docker engine (built by scripts/build-images.sh).
for tag in 1 2; do
    if ! podman image exists "berth-runtime:$tag"; then
        docker image inspect "berth-runtime:$tag" >/dev/null 2>&1 ||
            die "berth-runtime:$tag is not on the Docker engine either: run 'make images'"
        docker save "berth-runtime:$tag" | podman load -q >/dev/null
        log "loaded berth-runtime:$tag into podman"
    fi
done

export BERTH_TEST_ENGINE="unix://$socket"
rc=0
"$@" || rc=$?
exit "$rc"
