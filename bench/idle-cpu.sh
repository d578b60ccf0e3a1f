#!/usr/bin/env bash
# bench/idle-cpu.sh — what watching containers costs berth run itself (and the engine): the
# CPU (utime + stime from /proc) of `berth run`, and of dockerd, over a WINDOW with N running
# sessions, measured twice, same N, same resync:
#   MODE=idle (default): with `idle: { after: 15m }` (one stats call per session every
#     after/4, capped at 60 s) and without; resource sampling off in both.
#   MODE=stats: resource sampling every STATS (default 30s, `--stats-interval`) and off.
# The difference is the cost of the watching. Writes target/bench-idle/results-MODE-N.json.
#
#   N=100 WINDOW=180 bash bench/idle-cpu.sh      # defaults
#   MODE=stats N=100 WINDOW=120 bash bench/idle-cpu.sh
# Env: BERTH (default target/debug/berth of this checkout), N, WINDOW (seconds), MODE, STATS,
#      CALL_TIMEOUT (per docker call, 60 s: a wedged engine stops the run with a message).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BERTH=${BERTH:-$ROOT/target/debug/berth}
N=${N:-100}
WINDOW=${WINDOW:-180}
CALL_TIMEOUT=${CALL_TIMEOUT:-60}
MODE=${MODE:-idle}
STATS=${STATS:-30s}
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

# One measurement: berth run (extra flags: $@) on the manifests until all N run, then the
# CPU of berth and of dockerd over WINDOW, printed as "BERTH DOCKERD" (% of one core).
measure() {
    local port; port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
    "$BERTH" run --instance "$INSTANCE" --state-dir "$WORK/state" --listen "127.0.0.1:$port" \
        --log warn "$@" "$WORK/m" >"$WORK/run.log" 2>&1 &
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
    local engine; engine=$(pidof dockerd | awk '{print $1}')
    local before after ebefore eafter
    before=$(cpu_ticks "$PID"); ebefore=$(cpu_ticks "$engine")
    sleep "$WINDOW"
    after=$(cpu_ticks "$PID"); eafter=$(cpu_ticks "$engine")
    kill "$PID"; wait "$PID" 2>/dev/null; PID=
    python3 -c "print(round(($after - $before) / $hz / $WINDOW * 100, 3), round(($eafter - $ebefore) / $hz / $WINDOW * 100, 3))"
}

if [ "$MODE" = stats ]; then
    manifests ""
    read -r watched ewatched < <(measure --stats-interval "$STATS") || exit 3
    read -r plain eplain < <(measure --stats-interval 0s) || exit 3
    what="sampling resources every $STATS"
else
    manifests "  idle: { after: 15m }"
    read -r watched ewatched < <(measure --stats-interval 0s) || exit 3
    manifests ""
    read -r plain eplain < <(measure --stats-interval 0s) || exit 3
    what="watched for idleness"
fi
[ -n "$plain" ] || { echo "idle-cpu: a measurement failed" >&2; exit 3; }
cat >"$OUT/results-$MODE-$N.json" <<J
{"mode": "$MODE", "n": $N, "window_s": $WINDOW, "stats_interval": "$STATS", "berth": "$BERTH",
 "nproc": $(nproc), "docker": "$(docker version --format '{{.Server.Version}}' 2>/dev/null)",
 "load_before": "$(cut -d' ' -f1 /proc/loadavg)",
 "berth_cpu_percent_of_one_core": {"watched": $watched, "not_watched": $plain},
 "dockerd_cpu_percent_of_one_core": {"watched": $ewatched, "not_watched": $eplain}}
J
echo "idle-cpu: $N sessions, ${WINDOW}s: berth run used ${watched}% of a core $what, ${plain}% without; dockerd ${ewatched}% and ${eplain}%"
