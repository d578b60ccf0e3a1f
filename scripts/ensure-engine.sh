#!/usr/bin/env bash
# Make sure a Docker engine answers (respecting DOCKER_HOST).
#
# - If `docker info` works: print the server version, exit 0.
# - Else, as root: install docker.io if dockerd is missing, start dockerd in the
#   background (log: /tmp/berth-dockerd.log), wait up to 60 s for it to answer.
# - Else (not root): fail with instructions. Never continues silently.
set -euo pipefail

LOG=${BERTH_DOCKERD_LOG:-/tmp/berth-dockerd.log}
WAIT_SECS=${BERTH_ENGINE_WAIT:-60}

log() { printf 'ensure-engine: %s\n' "$*"; }
die() {
    printf 'ensure-engine: ERROR: %s\n' "$*" >&2
    exit 1
}

engine_answers() {
    command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1
}

report_ok() {
    local version api
    version=$(docker version --format '{{.Server.Version}}' 2>/dev/null || echo unknown)
    api=$(docker version --format '{{.Server.APIVersion}}' 2>/dev/null || echo unknown)
    log "Docker engine answers at ${DOCKER_HOST:-unix:///var/run/docker.sock}: server ${version} (API ${api})"
}

if engine_answers; then
    report_ok
    exit 0
fi

# Why not? Keep the client's own message for the error reports below.
if command -v docker >/dev/null 2>&1; then
    why=$(docker info 2>&1 >/dev/null | tail -n 3 || true)
else
    why="docker CLI not installed"
fi
log "no engine answers (DOCKER_HOST=${DOCKER_HOST:-unset}): ${why}"

if [[ $(id -u) -ne 0 ]]; then
    die "no Docker engine and not running as root, so cannot start one.
  Fix one of:
   - start the engine: sudo systemctl start docker   (or: sudo dockerd &)
   - install it first: sudo apt-get install -y docker.io
   - socket permission denied? add yourself to the docker group: sudo usermod -aG docker \$USER (then log in again)
   - point DOCKER_HOST at a running engine, e.g. export DOCKER_HOST=unix:///path/to/docker.sock
   - or re-run this script as root: sudo $0"
fi

# Where should the engine listen? Only a local unix socket can be served by a dockerd we start.
dockerd_args=()
case "${DOCKER_HOST:-}" in
    "" | unix:///var/run/docker.sock | unix:///run/docker.sock) ;;
    unix://*) dockerd_args=(-H "$DOCKER_HOST") ;;
    *) die "DOCKER_HOST=${DOCKER_HOST} does not answer and is not a local unix socket; start that engine or unset DOCKER_HOST" ;;
esac

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    log "dockerd/docker missing: installing Debian package docker.io"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q || die "apt-get update failed"
    apt-get install -y -q docker.io || die "apt-get install -y docker.io failed"
    command -v dockerd >/dev/null 2>&1 || die "docker.io installed but dockerd still not on PATH"
fi

preexisting=0
if pgrep -x dockerd >/dev/null 2>&1; then
    preexisting=1
    log "a dockerd process is already running (pid $(pgrep -x dockerd | tr '\n' ' ')); waiting for it instead of starting another"
else
    log "starting dockerd ${dockerd_args[*]} in the background (log: ${LOG})"
    nohup dockerd "${dockerd_args[@]}" >>"$LOG" 2>&1 </dev/null &
    log "dockerd pid $!"
fi

for ((i = 0; i < WAIT_SECS; i++)); do
    if engine_answers; then
        report_ok
        exit 0
    fi
    sleep 1
done

{
    echo "ensure-engine: ERROR: dockerd did not answer within ${WAIT_SECS} s."
    if [[ $preexisting -eq 1 ]]; then
        echo "A dockerd was already running but does not answer at ${DOCKER_HOST:-unix:///var/run/docker.sock}:"
        echo "it may listen on another socket (check its -H flags), or be stuck; see its own log."
    fi
    if [[ -f $LOG ]]; then
        echo "--- last 40 lines of ${LOG} ---"
        tail -n 40 "$LOG"
    fi
    echo "--- docker info ---"
    docker info 2>&1 | tail -n 5 || true
} >&2
exit 1
