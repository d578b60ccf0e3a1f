#!/usr/bin/env bash
# Runs a command with a socket proxy (scripts/socket-proxy.sh) on a free loopback port,
# exported as BERTH_TEST_DOCKER_HOST, then stops the proxy. The integration tests pass it to
# berth as DOCKER_HOST, so the whole suite runs through the proxy.
#
# Usage: [FLAG=1 ...] scripts/with-socket-proxy.sh COMMAND [ARG...]
# Without flags in the environment, the minimal set berth needs is enabled:
# CONTAINERS IMAGES VOLUMES POST EVENTS PING VERSION.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

[[ $# -gt 0 ]] || {
    echo "usage: $0 COMMAND [ARG...]" >&2
    exit 2
}
least=()
if [[ -z ${CONTAINERS:-}${POST:-}${NETWORKS:-} ]]; then
    least=(--least-privilege) # the set berth needs, as scripts/socket-proxy.sh defines it
fi
# A port nothing listens on (haproxy fails loudly below if another process takes it first).
port=""
for _ in $(seq 50); do
    candidate=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
        port=$candidate
        break
    fi
done
[[ -n $port ]] || {
    echo "with-socket-proxy: ERROR: no free port found" >&2
    exit 1
}
dir=$(mktemp -d "${TMPDIR:-/tmp}/berth-with-proxy.XXXXXX")
bash scripts/socket-proxy.sh "${least[@]}" --port "$port" --dir "$dir" 2>"$dir/proxy.log" &
proxy=$!
cleanup() {
    kill "$proxy" 2>/dev/null || true
    wait "$proxy" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        break
    fi
    kill -0 "$proxy" 2>/dev/null || {
        cat "$dir/proxy.log" >&2
        echo "with-socket-proxy: ERROR: the proxy did not start" >&2
        exit 1
    }
    sleep 0.1
done
head -n 1 "$dir/proxy.log" >&2
export BERTH_TEST_DOCKER_HOST="tcp://127.0.0.1:$port"
echo "with-socket-proxy: BERTH_TEST_DOCKER_HOST=$BERTH_TEST_DOCKER_HOST" >&2
rc=0
"$@" || rc=$?
exit "$rc"
