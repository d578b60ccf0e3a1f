#!/usr/bin/env bash
# bench/idle-cpu.sh — what watching sessions for idleness costs berth run itself: the CPU
# (utime + stime from /proc) of `berth run` over a WINDOW with N running sessions, once with
# `idle: { after: 15m }` (watched: one stats call per session a minute... every after/4,
# capped at 60 s) and once without (not watched), same N, same resync. The difference is the
# cost of idle watching. Writes target/bench-idle/results.json.
#
#   N=100 WINDOW=180 bash bench/idle-cpu.sh      # defaults
# Env: BERTH (default target/debug/berth of this checkout), N, WINDOW (seconds),
#      CALL_TIMEOUT (per docker call, 60 s: a wedged engine stops the run with a message).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BERTH=${BERTH:-$ROOT/target/debug/berth}
N=${N:-100}
WINDOW=${WINDOW:-180}
CALL_TIMEOUT=${CALL_TIMEOUT:-60}
OUT=$ROOT/target/bench-idle
INSTANCE=bench-idle-$$
WORK=$(mktemp -d)
PID=
mkdir -p "$OUT"

cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    timeout 300 "$BERTH" down --instance "$INSTANCE" --state-dir "$WORK/state" --volumes >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

manifests() {  # $1: extra spec line for each session
    rm -rf "$WORK/m" && mkdir -p "$WORK/m"
    cat >"$WORK/m/templates.yaml" <<T
apiVersion: berth/v1
kind: Template
metadata: { name: web }
spec:
  image: berth-runtime:1
  command: [httpd, -f, -p, "8080", -h, /www]
  stopGracePeriod: 1s
T
    for i in $(seq 1 "$N"); do
        printf 'apiVersion: berth/v1\nkind: Session\nmetadata: { name: s%s }\nspec:\n  template: web\n  ttl: 8h\n%s\n' \
            "$i" "$1" >"$WORK/m/s$i.yaml"
    done
}

# One measurement: berth run on the manifests until all N run, then CPU over WINDOW.
measure() {
    local port; port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
    "$BERTH" run --instance "$INSTANCE" --state-dir "$WORK/state" --listen "127.0.0.1:$port" \
        --log warn "$WORK/m" >"$WORK/run.log" 2>&1 &
    PID=$!
    local deadline=$((SECONDS + 600))
    while :; do
        local running
        running=$(timeout "$CALL_TIMEOUT" docker ps -q --filter "label=berth.instance=$INSTANCE" | wc -l) \
            || { echo "idle-cpu: docker ps timed out: the engine looks wedged; stopping" >&2; exit 3; }
        [ "$running" -ge "$N" ] && break
        [ $SECONDS -gt $deadline ] && { echo "idle-cpu: only $running of $N running after 600 s" >&2; exit 3; }
        sleep 1
    done
    sleep 5  # let the creates' aftermath settle
    local hz; hz=$(getconf CLK_TCK)
    local before after
    before=$(cpu_ticks "$PID")
    sleep "$WINDOW"
    after=$(cpu_ticks "$PID")
    kill "$PID"; wait "$PID" 2>/dev/null; PID=
    python3 -c "print(round(($after - $before) / $hz / $WINDOW * 100, 3))"
}

manifests "  idle: { after: 15m }"
watched=$(measure) || exit 3
manifests ""
plain=$(measure) || exit 3
cat >"$OUT/results.json" <<J
{"n": $N, "window_s": $WINDOW, "berth": "$BERTH", "nproc": $(nproc),
 "docker": "$(docker version --format '{{.Server.Version}}' 2>/dev/null)",
 "cpu_percent_of_one_core": {"watched": $watched, "not_watched": $plain}}
J
echo "idle-cpu: $N sessions, ${WINDOW}s: berth run used ${watched}% of a core watched for idleness, ${plain}% not watched"
