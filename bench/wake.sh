#!/usr/bin/env bash
# bench/wake.sh — what waking an idle session costs, against what the engine's start costs,
# and what watching sessions for idleness costs the engine.
#
#   1. wake latency: a Session (`idle: { after: 2s }`) behind a private Caddy; once berth has
#      stopped it (phase Idle) and its route leads to berth's wake endpoint, one
#      `curl -L` through Caddy: request -> berth starts the container -> 307 -> first byte of
#      the container's answer (curl's time_starttransfer, summed over both requests).
#   2. engine start: `POST /containers/ID/start` over the socket on a plain container
#      (`--network none`), stopped before each start; also on one on the default bridge.
#   3. idle watching: one `GET /containers/ID/stats?stream=false&one-shot=true` (what berth's
#      sampler calls per watched container per period), its latency and the CPU dockerd spends
#      on 100 consecutive calls; projected to 100 and 1000 containers at a 15 m window
#      (period min(after/4, 60 s) = 60 s: one call per container per minute).
#
# Usage (from anywhere; nothing is built):
#   bash bench/wake.sh                      # TRIALS=20
#   TRIALS=5 bash bench/wake.sh
# Env: BERTH (binary, default target/debug/berth of this checkout: a debug build), TRIALS (20),
#      STATS_CALLS (50), CPU_CALLS (100), CALL_TIMEOUT (30 s per docker/curl call),
#      INSTANCE (bench-wake), DOCKER_SOCK (/var/run/docker.sock), OUT (target/bench-wake).
# Writes OUT/results.json (also on failure, with what was measured and why it stopped),
# OUT/berth.log, OUT/caddy.log. Removes everything it created, pass or fail.
set -uo pipefail

BERTH=${BERTH:-$(cd "$(dirname "$0")/.." && pwd)/target/debug/berth}
TRIALS=${TRIALS:-20}
STATS_CALLS=${STATS_CALLS:-50}
CPU_CALLS=${CPU_CALLS:-100}
CALL_TIMEOUT=${CALL_TIMEOUT:-30}
INST=${INSTANCE:-bench-wake}
SOCK=${DOCKER_SOCK:-/var/run/docker.sock}
IMAGE=berth-runtime:1
LABEL=berth-bench-wake # on the bench's own plain containers, value = instance
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${OUT:-$ROOT/target/bench-wake}

WORK=$(mktemp -d /tmp/bench-wake.XXXXXX)
SERIES=$WORK/series # one file per series, one value per line (ms)
mkdir -p "$SERIES" "$OUT"
ABORT=$WORK/abort # the reason a run stopped early
STATUS=running
CADDY_PID='' BERTH_PID='' PLAIN_ID='' BRIDGE_ID='' SESSION_ID=''
declare -A FIG=() # scalar figures for the JSON (name -> JSON value)

log() { printf 'bench-wake: %s\n' "$*" >&2; }
now_ms() { date +%s%3N; }

# Every external call goes through `t`: a timeout means a wedged engine (or proxy): the
# reason is recorded (also from a $(...) subshell) and the run stops, keeping its figures.
t() {
    timeout --kill-after=5 "$CALL_TIMEOUT" "$@"
    local rc=$?
    # 124/137: timeout(1) fired; 28: curl's own --max-time did.
    if ((rc == 124 || rc == 137)) || { ((rc == 28)) && [[ $1 == *curl* ]]; }; then
        [[ -s $ABORT ]] || printf 'wedged: `%s` did not finish within %ss (engine or proxy not answering)\n' \
            "$*" "$CALL_TIMEOUT" >"$ABORT"
    fi
    return $rc
}
die() {
    [[ -s $ABORT ]] || printf '%s\n' "$*" >"$ABORT"
    log "ERROR: $(cat "$ABORT")"
    exit 1
}
docker_api() { # METHOD PATH [curl args...]: prints the body; fails on no answer
    local m=$1 p=$2
    shift 2
    t curl -sS --max-time "$CALL_TIMEOUT" --unix-socket "$SOCK" -X "$m" "$@" "http://localhost$p"
}

free_port() {
    local p used
    used=$(ss -Htan | awk '{print $4}' | sed 's/.*://' | sort -u)
    while :; do
        p=$((40000 + RANDOM % 20000))
        grep -qx "$p" <<<"$used" || { echo "$p"; return; }
    done
}

# --- summaries -----------------------------------------------------------------------------
# p50/p95 with linear interpolation between closest ranks (as bench/src/stats.rs), min, max.
summary_json() { # FILE -> {"n":..,"p50":..,"p95":..,"min":..,"max":..,"values":[..]} (ms)
    local f=$1
    [[ -s $f ]] || { echo null; return; }
    jq -s '
      def pct($v; $p): ($p/100*(($v|length)-1)) as $r | ($r|floor) as $lo | ($r|ceil) as $hi
        | $v[$lo] + ($v[$hi]-$v[$lo])*($r-$lo);
      def r3: (.*1000|round)/1000;
      (sort) as $v
      | {n: ($v|length), p50: (pct($v;50)|r3), p95: (pct($v;95)|r3), min: ($v[0]|r3),
         max: ($v[-1]|r3), values: (map(r3))}' "$f"
}
print_summary() { # NAME FILE
    local s
    s=$(summary_json "$2")
    if [[ $s == null ]]; then
        printf '  %-34s (no samples)\n' "$1"
    else
        jq -r --arg n "$1" '"  \($n|.+" "*(34-length)) n=\(.n)  p50=\(.p50) ms  p95=\(.p95) ms  min=\(.min) ms  max=\(.max) ms"' <<<"$s"
    fi
}

write_results() {
    local series='{}' f name figs='{}' k
    for f in "$SERIES"/*; do
        [[ -e $f ]] || continue
        name=$(basename "$f")
        series=$(jq --arg k "$name" --argjson v "$(summary_json "$f")" '.[$k]=$v' <<<"$series")
    done
    for k in "${!FIG[@]}"; do
        figs=$(jq --arg k "$k" --argjson v "${FIG[$k]}" '.[$k]=$v' <<<"$figs")
    done
    jq -n --arg status "$STATUS" --arg abort "$(cat "$ABORT" 2>/dev/null)" \
        --arg date "$(date -u +%FT%TZ)" --arg nproc "$(nproc)" \
        --arg cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" \
        --arg docker "${DOCKER_VERSION:-unknown}" --arg api "${DOCKER_API:-unknown}" \
        --arg caddy "${CADDY_VERSION:-unknown}" --arg berth "${BERTH_VERSION:-unknown}" \
        --arg bin "$BERTH" --argjson trials "$TRIALS" \
        --argjson series "$series" --argjson figs "$figs" '
      {status: $status, stopped_because: (if $abort == "" then null else $abort end),
       date: $date,
       machine: {nproc: ($nproc|tonumber), cpu: $cpu, docker_version: $docker,
                 docker_api: $api, caddy_version: $caddy},
       berth: {binary: $bin, version: $berth,
               build: "berth debug build (unoptimised, target/debug): berth-side times are upper bounds"},
       settings: {trials: $trials, idle_after: "2s", resync: "2s", stopGracePeriod: "1s",
                  network: "isolated", unit: "ms"},
       series: $series, figures: $figs}' >"$OUT/results.json.tmp" &&
        mv "$OUT/results.json.tmp" "$OUT/results.json"
}

# --- cleanup (trap) ------------------------------------------------------------------------
stop_pid() { # PID NAME: TERM, wait up to 10 s, then KILL
    local pid=$1 i
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
        sleep 0.1
    done
    log "$2 (pid $pid) did not stop on SIGTERM: SIGKILL"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}
cleanup() {
    local rc=$? left
    trap - EXIT INT TERM
    if [[ $STATUS == running ]]; then
        STATUS=$([[ -s $ABORT ]] && echo aborted || echo failed)
        [[ -s $ABORT ]] || echo "stopped early (exit $rc)" >"$ABORT"
    fi
    write_results
    log "cleaning up"
    stop_pid "$BERTH_PID" "berth run"
    stop_pid "$CADDY_PID" caddy
    cp -f "$WORK/berth.log" "$OUT/berth.log" 2>/dev/null
    cp -f "$WORK/caddy/caddy.log" "$OUT/caddy.log" 2>/dev/null
    # The bench's own plain containers, by its label.
    left=$(timeout 30 docker ps -aq --filter "label=$LABEL=$INST")
    [[ -n $left ]] && timeout 60 docker rm -f $left >/dev/null
    # Berth's containers and networks (the isolated network of the session) and volumes.
    timeout 60 "$BERTH" down --instance "$INST" --volumes --state-dir "$WORK/state" >"$WORK/down.log" 2>&1 ||
        log "berth down failed: $(cat "$WORK/down.log")"
    left=$(timeout 30 docker ps -aq --filter "label=$LABEL=$INST")
    left+=$(timeout 30 docker ps -aq --filter "label=berth.instance=$INST")
    left+=$(timeout 30 docker network ls -q --filter "label=berth.instance=$INST")
    if [[ -n $left ]]; then
        log "WARNING: left behind (containers/networks): $left"
        FIG[cleanup]='"incomplete"'
    else
        FIG[cleanup]='"complete"'
    fi
    write_results
    rm -rf "$WORK"
    log "results: $OUT/results.json ($STATUS)"
    [[ $STATUS == ok ]] || exit 1
}
trap cleanup EXIT
trap 'echo "interrupted" >"$ABORT"; exit 130' INT TERM

# --- preflight -----------------------------------------------------------------------------
[[ -x $BERTH ]] || die "no berth binary at $BERTH"
for c in caddy jq curl docker timeout ss; do
    command -v "$c" >/dev/null || die "$c is not installed"
done
[[ $(docker_api GET /_ping) == OK ]] || die "the engine at $SOCK does not answer /_ping"
DOCKER_VERSION=$(docker_api GET /version | jq -r .Version) || die "GET /version failed"
DOCKER_API=$(docker_api GET /version | jq -r .ApiVersion)
CADDY_VERSION=$(caddy version | awk '{print $1}')
BERTH_VERSION=$("$BERTH" version 2>/dev/null | head -1)
t docker image inspect "$IMAGE" >/dev/null 2>&1 || die "image $IMAGE is missing"
log "berth: $BERTH ($BERTH_VERSION) — a DEBUG build"
log "machine: $(nproc) cores, docker $DOCKER_VERSION (API $DOCKER_API), caddy $CADDY_VERSION"

# The machine may be shared: note its load and the engine's other containers, start and end.
context() {
    local all ours
    all=$(t docker ps -q | wc -l) ours=$(t docker ps -q --filter "label=berth.instance=$INST" | wc -l)
    ours=$((ours + $(t docker ps -q --filter "label=$LABEL=$INST" | wc -l)))
    jq -n --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --argjson others $((all - ours)) \
        '{loadavg_1_5_15: $load, other_running_containers: $others}'
}
FIG[context_at_start]=$(context)

# Leftovers of an interrupted run of this bench (same instance name, same label).
mkdir -p "$WORK/state"
left=$(t docker ps -aq --filter "label=$LABEL=$INST") || die "docker ps failed"
[[ -n $left ]] && { log "removing leftovers of an earlier run: $left"; t docker rm -f $left >/dev/null; }
if [[ -n $(t docker ps -aq --filter "label=berth.instance=$INST") ]]; then
    log "removing leftovers of instance $INST (berth down)"
    t "$BERTH" down --instance "$INST" --volumes --state-dir "$WORK/state" >/dev/null || die "berth down of leftovers failed"
fi

# --- private Caddy -------------------------------------------------------------------------
CADDY_ADMIN=127.0.0.1:$(free_port)
CADDY_HTTP=127.0.0.1:$(free_port)
LISTEN=127.0.0.1:$(free_port)
mkdir -p "$WORK/caddy/config" "$WORK/caddy/data"
jq -n --arg admin "$CADDY_ADMIN" --arg http "$CADDY_HTTP" '
  {admin: {listen: $admin, config: {persist: false}},
   apps: {http: {servers: {srv0: {listen: [$http], automatic_https: {disable: true}, routes: []}}}}}' \
    >"$WORK/caddy/caddy.json"
HOME=$WORK/caddy XDG_CONFIG_HOME=$WORK/caddy/config XDG_DATA_HOME=$WORK/caddy/data \
    caddy run --config "$WORK/caddy/caddy.json" >/dev/null 2>"$WORK/caddy/caddy.log" &
CADDY_PID=$!
for ((i = 0; ; i++)); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$CADDY_ADMIN/config/") == 200 ]] && break
    kill -0 "$CADDY_PID" 2>/dev/null || die "caddy exited: $(tail -5 "$WORK/caddy/caddy.log")"
    ((i < 100)) || die "caddy's admin API did not answer within 10 s"
    sleep 0.1
done
log "caddy: admin $CADDY_ADMIN, srv0 $CADDY_HTTP (pid $CADDY_PID)"

# --- berth run -----------------------------------------------------------------------------
mkdir -p "$WORK/manifests"
cat >"$WORK/manifests/wake.yaml" <<'YAML'
apiVersion: berth/v1
kind: Template
metadata: { name: web }
spec:
  image: berth-runtime:1
  command: [httpd, -f, -p, "8080", -h, /www]
  stopGracePeriod: 1s
  network: isolated
  expose: { port: 8080, path: "/s/{name}/" }
---
apiVersion: berth/v1
kind: Session
metadata: { name: s1 }
spec: { template: web, ttl: 8h, idle: { after: 2s } }
YAML
"$BERTH" run --router "caddy=http://$CADDY_ADMIN" --listen "$LISTEN" --resync 2s \
    --instance "$INST" --state-dir "$WORK/state" "$WORK/manifests" >"$WORK/berth.log" 2>&1 &
BERTH_PID=$!
log "berth run: instance $INST, status http://$LISTEN (pid $BERTH_PID)"

phase() { # the session's phase per /status ('' if none)
    t curl -s --max-time 5 "http://$LISTEN/status" 2>/dev/null |
        jq -r '.objects[]? | select((.kind|ascii_downcase)=="session" and .name=="s1") | .phase' 2>/dev/null
}
through_caddy() { # prints "CODE REDIRECTS STARTTRANSFER TOTAL" (seconds), body in $WORK/body
    CALL_TIMEOUT=50 t curl -s -L --max-time 45 -o "$WORK/body" \
        -w '%{http_code} %{num_redirects} %{time_starttransfer} %{time_total}' "http://$CADDY_HTTP/s/s1/"
}
# First answer through Caddy (berth creates the container and its route).
for ((i = 0; ; i++)); do
    out=$(through_caddy) || [[ ! -s $ABORT ]] || die "$(cat "$ABORT")"
    [[ ${out%% *} == 200 && $(cat "$WORK/body" 2>/dev/null) == "berth demo" ]] && break
    kill -0 "$BERTH_PID" 2>/dev/null || die "berth run exited: $(tail -5 "$WORK/berth.log")"
    ((i < 600)) || die "the session did not answer through caddy within 60 s (last: $out; phase $(phase))"
    sleep 0.1
done
log "the session answers through caddy; $TRIALS wake trials"

wait_idle() { # until phase Idle (poll 50 ms), at most 60 s
    local i p
    for ((i = 0; i < 1200; i++)); do
        p=$(phase)
        [[ -s $ABORT ]] && die "$(cat "$ABORT")"
        [[ $p == Idle ]] && return 0
        sleep 0.05
    done
    die "the session was not Idle within 60 s (phase: $p)"
}
wait_wake_route() { # until Caddy's route for the session leads to berth's wake endpoint
    local i
    for ((i = 0; i < 200; i++)); do
        t curl -s --max-time 5 "http://$CADDY_ADMIN/config/apps/http/servers/srv0/routes" |
            grep -qi 'x-berth-wake' && return 0
        [[ -s $ABORT ]] && die "$(cat "$ABORT")"
        sleep 0.05
    done
    die "the session is Idle but its caddy route does not lead to berth's wake endpoint"
}

wait_exited() { # berth reports Idle (and switches the route) when it decides to stop, before
    # the stop (up to stopGracePeriod) is done: wait for the container to have exited, so
    # that each trial wakes a stopped container (poll 50 ms, at most 30 s).
    local i state
    for ((i = 0; i < 600; i++)); do
        state=$(t docker ps -a --filter "label=berth.instance=$INST" --format '{{.ID}} {{.State}}') ||
            die "docker ps failed: $(cat "$ABORT" 2>/dev/null)"
        [[ $(wc -l <<<"$state") == 1 ]] || die "expected one container of instance $INST, got: $state"
        SESSION_ID=${state%% *}
        [[ $state == *" exited" ]] && return 0
        sleep 0.05
    done
    die "the session is Idle but its container did not stop within 30 s (state: $state)"
}

# --- 1. wake latency -----------------------------------------------------------------------
FIG[wake_failures]='[]'
last=$(now_ms)
for ((n = 1; n <= TRIALS; n++)); do
    wait_idle
    echo "$(($(now_ms) - last))" >>"$SERIES/idle_phase_after_last_request"
    idle_at=$(now_ms)
    wait_wake_route
    wait_exited
    echo "$(($(now_ms) - idle_at))" >>"$SERIES/idle_phase_to_container_exited"
    out=$(through_caddy) || die "wake request failed: $(cat "$ABORT" 2>/dev/null) $out"
    last=$(now_ms)
    read -r code redirects st total <<<"$out"
    body=$(cat "$WORK/body" 2>/dev/null)
    if [[ $code != 200 || $redirects != 1 || $body != "berth demo" ]]; then
        # Not the container's page after the one 307 (e.g. 502: the engine says running
        # and berth redirected, but httpd did not listen yet): counted, not in the series.
        log "trial $n/$TRIALS: FAILED: code=$code redirects=$redirects after $(awk -v s="$st" 'BEGIN{printf "%.1f", s*1000}') ms (body: ${body:0:60})"
        jq -n --argjson n "$n" --arg code "$code" --arg r "$redirects" --arg st "$st" --arg body "${body:0:200}" \
            '{trial: $n, http_code: ($code|tonumber), redirects: ($r|tonumber), starttransfer_ms: ($st|tonumber*1000), body: $body}' \
            >>"$WORK/failures"
        FIG[wake_failures]=$(jq -s . "$WORK/failures")
        continue
    fi
    awk -v s="$st" 'BEGIN{printf "%.3f\n", s*1000}' >>"$SERIES/wake_starttransfer"
    awk -v s="$total" 'BEGIN{printf "%.3f\n", s*1000}' >>"$SERIES/wake_total"
    log "trial $n/$TRIALS: wake -> first byte $(tail -1 "$SERIES/wake_starttransfer") ms"
done
FIG[woken_log_lines]=$(grep -c 'woken by a request' "$WORK/berth.log")

# --- 2. engine start -----------------------------------------------------------------------
# While the session is stopped idle again and berth run keeps resyncing (the same conditions
# as the wake), on plain containers of the same image and command; never the session's own.
wait_idle
wait_exited
FIG[session_container]="\"$SESSION_ID\""
create() { # NAME NETWORK -> id
    t docker create --label "$LABEL=$INST" --name "$1" --network "$2" "$IMAGE" httpd -f -p 8080 -h /www
}
PLAIN_ID=$(create "$INST-plain" none) || die "docker create (network none) failed"
BRIDGE_ID=$(create "$INST-bridge" bridge) || die "docker create (default bridge) failed"
time_starts() { # ID SERIES
    local id=$1 s=$2 out code secs
    for ((n = 1; n <= TRIALS; n++)); do
        # stop?t=0: SIGKILL at once (httpd as PID 1 ignores SIGTERM); 304 when not running.
        code=$(docker_api POST "/containers/$id/stop?t=0" -o /dev/null -w '%{http_code}') ||
            die "stop of $id failed: $(cat "$ABORT" 2>/dev/null)"
        [[ $code == 204 || $code == 304 ]] || die "stop of $id: HTTP $code"
        out=$(docker_api POST "/containers/$id/start" -o /dev/null -w '%{http_code} %{time_total}') ||
            die "start of $id failed: $(cat "$ABORT" 2>/dev/null)"
        read -r code secs <<<"$out"
        [[ $code == 204 ]] || die "start of $id: HTTP $code"
        awk -v s="$secs" 'BEGIN{printf "%.3f\n", s*1000}' >>"$SERIES/$s"
    done
}
log "engine start: $TRIALS x POST /containers/ID/start (network none)"
time_starts "$PLAIN_ID" engine_start_network_none
log "engine start: $TRIALS x POST /containers/ID/start (default bridge, has a veth like the session)"
time_starts "$BRIDGE_ID" engine_start_default_bridge
docker_api POST "/containers/$PLAIN_ID/stop?t=0" -o /dev/null || die "stop failed"

# berth's own CPU over its life so far (informational), then stop it: the engine is quiet
# for the stats figures.
# utime+stime: fields 14 and 15 of /proc/PID/stat, 12 and 13 after the "(comm)".
proc_ticks() { [[ -n $1 && -r /proc/$1/stat ]] && cut -d')' -f2- "/proc/$1/stat" | awk '{print $12+$13}' || echo 0; }
HZ=$(getconf CLK_TCK)
FIG[berth_run_cpu_s]=$(awk -v t="$(proc_ticks "$BERTH_PID")" -v h="$HZ" 'BEGIN{printf "%.2f", t/h}')
FIG[berth_run_wall_s]=$(ps -o etimes= -p "$BERTH_PID" | tr -d ' ')
stop_pid "$BERTH_PID" "berth run"
BERTH_PID=''

# --- 3. idle watching: the stats call ------------------------------------------------------
# On the default-bridge container, running: it has an eth0 like a session on its isolated
# network, so the engine reads network counters as it does for berth's sampler.
docker_api POST "/containers/$BRIDGE_ID/start" -o /dev/null || die "start failed"
sleep 1
stats() {
    docker_api GET "/containers/$BRIDGE_ID/stats?stream=false&one-shot=true" -o "$WORK/stats.json" \
        -w '%{http_code} %{time_total}'
}
out=$(stats) || die "stats call failed: $(cat "$ABORT" 2>/dev/null)"
[[ ${out%% *} == 200 ]] && jq -e '.networks | length > 0' "$WORK/stats.json" >/dev/null ||
    die "stats: HTTP ${out%% *} or no network counters: $(head -c 200 "$WORK/stats.json")"
log "stats latency: $STATS_CALLS x GET /containers/ID/stats?stream=false&one-shot=true"
for ((n = 1; n <= STATS_CALLS; n++)); do
    out=$(stats) || die "stats call failed: $(cat "$ABORT" 2>/dev/null)"
    read -r code secs <<<"$out"
    [[ $code == 200 ]] || die "stats: HTTP $code"
    awk -v s="$secs" 'BEGIN{printf "%.3f\n", s*1000}' >>"$SERIES/stats_call"
done

# berth's sampler keeps 4 calls in flight: the wall time of 4 concurrent calls (here on the
# one container) tells how many calls a round gets through per unit of time.
log "stats throughput: 10 x 4 concurrent calls"
for ((r = 1; r <= 10; r++)); do
    w0=$(now_ms) pids=()
    for ((j = 1; j <= 4; j++)); do
        docker_api GET "/containers/$BRIDGE_ID/stats?stream=false&one-shot=true" -o /dev/null \
            -w '%{http_code}\n' >"$WORK/par.$j" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || die "concurrent stats call failed: $(cat "$ABORT" 2>/dev/null)"; done
    echo "$(($(now_ms) - w0))" >>"$SERIES/stats_4_concurrent_wall"
    [[ $(cat "$WORK"/par.* | sort -u) == 200 ]] || die "concurrent stats: not all HTTP 200"
done

DOCKERD=$(pgrep -xo dockerd) || die "no dockerd process to read CPU from"
CONTAINERD=$(pgrep -xo containerd || true)
# The engine may have other clients: alternate windows of calls with idle windows as long
# (10 chunks of CPU_CALLS/10 calls), so that background load weighs on both alike.
log "engine CPU: $CPU_CALLS stats calls in 10 chunks, each followed by an idle window as long"
dd=0 dc=0 dw=0 bd=0 bc=0 bw=0 done_calls=0
for ((k = 1; k <= 10; k++)); do
    m=$(((CPU_CALLS * k) / 10 - done_calls))
    d0=$(proc_ticks "$DOCKERD") c0=$(proc_ticks "$CONTAINERD") w0=$(now_ms)
    for ((n = 1; n <= m; n++)); do
        out=$(stats) || die "stats call failed: $(cat "$ABORT" 2>/dev/null)"
        [[ ${out%% *} == 200 ]] || die "stats: HTTP ${out%% *}"
    done
    d1=$(proc_ticks "$DOCKERD") c1=$(proc_ticks "$CONTAINERD") w1=$(now_ms)
    sleep "$(awk -v m=$((w1 - w0)) 'BEGIN{print m/1000}')"
    d2=$(proc_ticks "$DOCKERD") c2=$(proc_ticks "$CONTAINERD") w2=$(now_ms)
    done_calls=$((done_calls + m))
    dd=$((dd + d1 - d0)) dc=$((dc + c1 - c0)) dw=$((dw + w1 - w0))
    bd=$((bd + d2 - d1)) bc=$((bc + c2 - c1)) bw=$((bw + w2 - w1))
done
FIG[stats_cpu]=$(jq -n --argjson hz "$HZ" --argjson n "$CPU_CALLS" \
    --argjson bd "$bd" --argjson bc "$bc" --argjson bw "$bw" \
    --argjson dd "$dd" --argjson dc "$dc" --argjson dw "$dw" '
  def r2: (.*100|round)/100;
  ($dd*1000/$hz) as $dms | ($bd*1000/$hz*$dw/$bw) as $base | (($dms-$base)/$n) as $per
  | {calls: $n, wall_ms: $dw, clock_ticks_per_s: $hz,
     dockerd_cpu_ms: $dms, containerd_cpu_ms: ($dc*1000/$hz),
     baseline_window_ms: $bw, baseline_dockerd_cpu_ms: ($bd*1000/$hz), baseline_containerd_cpu_ms: ($bc*1000/$hz),
     dockerd_cpu_ms_per_call: ($per|r2),
     dockerd_cpu_ms_per_call_raw: ($dms/$n|r2),
     containerd_cpu_ms_per_call: (($dc*1000/$hz)/$n|r2),
     reliable: ($per > 0),
     note: "CPU from /proc/PID/stat utime+stime (10 ms ticks), summed over 10 call windows; per_call subtracts the rate of the 10 idle windows (other clients of the engine), per_call_raw does not (an upper bound)"}')
# Projection: a 15 m window -> sampled every min(15m/4, 60s) = 60 s: N calls per minute.
FIG[projection_15m_window]=$(jq -n --argjson cpu "${FIG[stats_cpu]}" \
    --argjson lat "$(summary_json "$SERIES/stats_call")" \
    --argjson par "$(summary_json "$SERIES/stats_4_concurrent_wall")" '
  def r2: (.*100|round)/100;
  [100, 1000] | map(. as $n | {
     containers: $n, sample_period_s: 60, calls_per_min: $n,
     dockerd_cpu_s_per_min: (if $cpu.reliable then ($n*$cpu.dockerd_cpu_ms_per_call/1000|r2) else null end),
     dockerd_share_of_one_core_pct: (if $cpu.reliable then ($n*$cpu.dockerd_cpu_ms_per_call/60000*100|r2) else null end),
     dockerd_cpu_s_per_min_upper_bound: ($n*$cpu.dockerd_cpu_ms_per_call_raw/1000|r2),
     dockerd_share_of_one_core_pct_upper_bound: ($n*$cpu.dockerd_cpu_ms_per_call_raw/60000*100|r2),
     round_wall_s_at_concurrency_4: ($n/4*$par.p50/1000|r2),
     keeps_up_with_60s_period: ($n/4*$par.p50/1000 <= 60),
     round_wall_s_serial: ($n*$lat.p50/1000|r2)})')

FIG[context_at_end]=$(context)
STATUS=ok
echo "" >&2
echo "berth wake bench — berth DEBUG build ($BERTH), $(nproc) cores, docker $DOCKER_VERSION, caddy $CADDY_VERSION"
print_summary "wake -> first byte (starttransfer)" "$SERIES/wake_starttransfer"
print_summary "wake total (curl time_total)" "$SERIES/wake_total"
echo "  wake failures: $(jq length <<<"${FIG[wake_failures]}") of $TRIALS trials $(jq -c 'map({trial, http_code})' <<<"${FIG[wake_failures]}")"
print_summary "engine start, network none" "$SERIES/engine_start_network_none"
print_summary "engine start, default bridge" "$SERIES/engine_start_default_bridge"
print_summary "Idle phase after last request" "$SERIES/idle_phase_after_last_request"
print_summary "Idle phase -> container exited" "$SERIES/idle_phase_to_container_exited"
print_summary "stats call (one-shot)" "$SERIES/stats_call"
print_summary "4 concurrent stats calls (wall)" "$SERIES/stats_4_concurrent_wall"
jq -r '"  dockerd CPU, \(.calls) stats calls: \(.dockerd_cpu_ms) ms in \(.wall_ms) ms wall (baseline \(.baseline_dockerd_cpu_ms) ms in \(.baseline_window_ms) ms) -> \(.dockerd_cpu_ms_per_call) ms/call net (raw \(.dockerd_cpu_ms_per_call_raw), reliable: \(.reliable)); containerd \(.containerd_cpu_ms) ms"' <<<"${FIG[stats_cpu]}"
jq -r '.[] | "  \(.containers) containers, 15 m window: \(.calls_per_min) calls/min, dockerd \(.dockerd_cpu_s_per_min // "n/a (below the noise)") s CPU/min (\(.dockerd_share_of_one_core_pct // "n/a")% of a core; at most \(.dockerd_cpu_s_per_min_upper_bound) s, \(.dockerd_share_of_one_core_pct_upper_bound)%), a round \(.round_wall_s_at_concurrency_4) s at concurrency 4 (keeps up with 60 s: \(.keeps_up_with_60s_period))"' <<<"${FIG[projection_15m_window]}"
echo "  berth run: ${FIG[berth_run_cpu_s]} s CPU over ${FIG[berth_run_wall_s]} s"
echo "  machine load at start: $(jq -c . <<<"${FIG[context_at_start]}"), at end: $(jq -c . <<<"${FIG[context_at_end]}")"
