//! The scenario sections of docs/benchmarks.md: cold converge, the quiet resync, recreate,
//! reaction and footprint, each a table from the results.

use std::fmt::Write as _;

use super::{cell, dur, mb, median, ratio};
use crate::results::{is_write, Results, Round};
use crate::stats::{percentile, Summary};

pub(super) fn op(r: &Round, name: &str) -> f64 {
    r.requests.get(name).copied().unwrap_or(0.0)
}

pub(super) fn writes(r: &Round) -> f64 {
    r.requests
        .iter()
        .filter(|(k, _)| is_write(k))
        .map(|(_, v)| v)
        .sum::<f64>()
        + r.actions
}

pub(super) fn cold(w: &mut String, r: &Results) {
    if r.cold.is_empty() {
        return;
    }
    let _ = writeln!(
        w,
        "## 1. Cold converge\n\n\
         N agents that do not exist yet, each `sleep 86400` from `berth-runtime:1` with a \
         32Mi memory limit, a read-only root, every capability dropped, no-new-privileges, pids \
         limit 256, `--init`, no health check, grace period 0s. Timed from process start to \
         exit: `berth apply --wait` (returns once every container runs) and `compose up -d \
         --wait` (the same); \
         the floor is timed in-process from the first create to the last start. Before each \
         measurement nothing of the bench exists; cleanup is not timed.\n\n\
         | N | berth | floor | Compose | berth / floor | berth / Compose |\n|---|---|---|---|---|---|"
    );
    for c in &r.cold {
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {:.2} × | {:.2} × |",
            c.n,
            cell(&c.berth_s),
            cell(&c.floor_s),
            cell(&c.compose_s),
            ratio(&c.berth_s, &c.floor_s),
            ratio(&c.berth_s, &c.compose_s)
        );
    }
    let _ = writeln!(
        w,
        "\nRatios are of the medians. The floor sends the create body read back from a \
         container berth created (labels included, with its own instance and name); the \
         compose file is generated from the same container. Compose runs its services with its \
         own parallelism (its default) on the default bridge (`network_mode: bridge`, as \
         berth's containers; so no project network is created).\n"
    );
    if r.fairness.is_empty() {
        let _ = writeln!(
            w,
            "Checked on one container of each: the three agree on image, entrypoint, command, \
             env, user, health check, stop timeout, memory and swap, CPUs, pids limit, read-only \
             root, capabilities, security options, tmpfs, init, privileges, restart policy, \
             network mode, log driver and mounts. They differ only in names and labels (Compose \
             adds its `com.docker.compose.*` labels).\n"
        );
    } else {
        let _ = writeln!(
            w,
            "Differences found between the containers (one of each compared):\n"
        );
        for d in &r.fairness {
            let _ = writeln!(w, "- {d}");
        }
        let _ = writeln!(w);
    }
}

pub(super) fn noop(w: &mut String, r: &Results) {
    if let Some(n) = &r.noop {
        let _ = writeln!(
            w,
            "## 2. No-op\n\n\
             {} agents converged by berth and {} services by Compose (both present). Timed: \
             `berth apply DIR` (whole process, without `--wait`) and `compose up -d`, nothing \
             changed; one untimed no-op of each first.\n\n\
             | | berth `apply` | Compose `up -d` | berth / Compose |\n|---|---|---|---|\n\
             | no-op of {} | {} | {} | {:.2} × |\n",
            n.n,
            n.n,
            n.n,
            cell(&n.berth_s),
            cell(&n.compose_s),
            ratio(&n.berth_s, &n.compose_s)
        );
    }
    if r.resync.is_empty() {
        return;
    }
    let _ = writeln!(
        w,
        "### The daemon's quiet resync\n\n\
         `berth run --resync {} --stats-interval 0s` over M converged agents (resource \
         sampling off: it is measured on its own, see the explanations). Each round is \
         measured between two \
         scrapes of `/metrics` taken half a period away from it: deltas of \
         `berth_engine_requests_total` by operation (every engine call, reads and writes, the \
         event stream excluded), of `berth_actions_total`, and the round's CPU from \
         `berth_reconcile_cpu_seconds` (user+sys of the process during the round, manifest \
         re-read included). \"process CPU\" is the daemon's whole CPU between the two scrapes \
         from /proc (one scrape included; 10 ms resolution). {} daemon starts × {} rounds per M.\n\n\
         | M | rounds | engine calls per round (median) | writes + actions (max) | CPU per round | process CPU between scrapes |\n|---|---|---|---|---|---|",
        r.settings.resync_period, r.settings.repetitions, r.settings.resync_rounds_per_start
    );
    for rs in &r.resync {
        let mut ops: Vec<String> = rs
            .rounds
            .iter()
            .flat_map(|x| x.requests.keys().cloned())
            .collect();
        ops.sort();
        ops.dedup();
        let calls: Vec<String> = ops
            .iter()
            .map(|o| {
                let v: Vec<f64> = rs.rounds.iter().map(|x| op(x, o)).collect();
                format!("{o} {}", median(&v))
            })
            .collect();
        let max_w = rs.rounds.iter().map(writes).fold(f64::NAN, f64::max);
        let cpu: Vec<f64> = rs.rounds.iter().filter_map(|x| x.cpu_s).collect();
        let pcpu: Vec<f64> = rs.rounds.iter().map(|x| x.process_cpu_s).collect();
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} |",
            rs.manifests,
            rs.rounds.len(),
            if calls.is_empty() {
                "none counted".into()
            } else {
                calls.join(", ")
            },
            max_w,
            if cpu.is_empty() {
                "not exported".into()
            } else {
                cell(&cpu)
            },
            cell(&pcpu)
        );
    }
    let _ = writeln!(w);
}

pub(super) fn recreate(w: &mut String, r: &Results) {
    let Some(n) = &r.recreate else { return };
    let _ = writeln!(
        w,
        "## 3. One change among {}\n\n\
         On the same {} agents and services: the env of agent 0 changes, which recreates its \
         container. Timed: `berth apply --wait DIR` and `compose up -d --wait -t 0`; the grace period \
         is zero on both sides (`stopGracePeriod: 0s`; `sleep` as PID 1 would otherwise wait \
         it out). Both are checked to have recreated the container.\n\n\
         | | berth | Compose | berth / Compose |\n|---|---|---|---|\n\
         | recreate 1 of {} | {} | {} | {:.2} × |\n",
        n.n,
        n.n,
        n.n,
        cell(&n.berth_s),
        cell(&n.compose_s),
        ratio(&n.berth_s, &n.compose_s)
    );
}

fn pcts(samples: &[f64]) -> (String, String) {
    let p = |q| percentile(samples, q).map_or("n/a".into(), dur);
    (p(50.0), p(95.0))
}

pub(super) fn reaction(w: &mut String, r: &Results) {
    let Some(re) = &r.reaction else { return };
    let _ = writeln!(
        w,
        "## 4. Reaction latency\n\n\
         `berth run` (debounce {}, resync 30s, the default) over {} agents with \
         `restart.backoff.initial: 0s`, so no configured backoff is included. Times are the \
         engine's event timestamps (`timeNano`, same clock as the bench).\n\n\
         - **file → running**: a manifest for a new agent is written beside the watched \
         directory and renamed into it; from just before the rename to the container's `start` \
         event. The file is then removed and its container's `destroy` awaited.\n\
         - **kill → running**: `POST /containers/{{id}}/kill` with SIGKILL on agent 0; `kill → die` \
         is the engine's part before berth can know; the reaction runs from the `die` event to \
         the next `start` event. berth's own part is `berth_event_to_action_seconds` for the \
         trial (the `die` event received → the start call issued); the engine's part is the \
         rest (event delivery, the start call, the container start).\n\
         - **floor reactor**: the same kill on a container the floor created, started again by \
         the bench itself (bollard) the moment its `die` event arrives: what any reactor pays \
         the engine.\n\n\
         | | trials | p50 | p95 |\n|---|---|---|---|",
        re.debounce, re.agents
    );
    let mut row = |name: &str, s: &[f64]| {
        let (a, b) = pcts(s);
        let _ = writeln!(w, "| {name} | {} | {a} | {b} |", s.len());
    };
    row("file → running", &re.file_to_running_s);
    let k =
        |f: fn(&crate::results::KillTrial) -> f64| -> Vec<f64> { re.kill.iter().map(f).collect() };
    row("kill sent → `die`", &k(|t| t.kill_to_die_s));
    row("`die` → running (total)", &k(|t| t.die_to_start_s));
    let part: Vec<f64> = re.kill.iter().filter_map(|t| t.berth_part_s).collect();
    let engine: Vec<f64> = re
        .kill
        .iter()
        .filter_map(|t| Some(t.die_to_start_s - t.berth_part_s?))
        .collect();
    row("… berth's part (event → start call)", &part);
    row("… the engine's part (total − berth's)", &engine);
    row("floor reactor: `die` → running", &re.floor_die_to_start_s);
    let odd = re
        .kill
        .iter()
        .filter(|t| t.berth_part_s.is_some() && t.metric_count != 1.0)
        .count();
    if odd > 0 {
        let _ = writeln!(
            w,
            "\nIn {odd} kill trial(s) `berth_event_to_action_seconds_count` did not grow by \
             exactly 1 (the mean over the trial's observations is used)."
        );
    }
    let _ = writeln!(w);
}

pub(super) fn footprint(w: &mut String, r: &Results) {
    if r.rss.is_empty() && r.idle.is_none() {
        return;
    }
    let _ = writeln!(
        w,
        "## 5. Footprint\n\n\
         Resident memory (VmRSS) of `berth run --stats-interval 0s` over M converged agents, \
         3 s after every object ran, once per daemon start. MB = 10^6 bytes.\n\n| M | RSS |\n|---|---|"
    );
    for x in &r.rss {
        let mbs: Vec<f64> = x.kib.iter().map(|&k| mb(k as f64)).collect();
        let s = Summary::of(&mbs);
        let _ = writeln!(
            w,
            "| {} | {} |",
            x.manifests,
            s.map_or("n/a".into(), |s| if s.n == 1 {
                format!("{:.1} MB", s.median)
            } else {
                format!("{:.1} MB ({:.1}–{:.1})", s.median, s.min, s.max)
            })
        );
    }
    if let Some(i) = &r.idle {
        let pct: Vec<f64> = i
            .cpu_s
            .iter()
            .map(|c| c / i.window_s as f64 * 100.0)
            .collect();
        let s = Summary::of(&pct);
        let _ = writeln!(
            w,
            "\nIdle CPU at {} agents, resync {}: user+sys from /proc over {} window(s) of {} s: \
             {} per window, {} of one core.",
            i.manifests,
            i.resync,
            i.cpu_s.len(),
            i.window_s,
            cell(&i.cpu_s),
            s.map_or("n/a".into(), |s| format!("{:.3} %", s.median))
        );
    }
    let _ = writeln!(w);
}
