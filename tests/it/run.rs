//! `berth run` against the real engine: the loop reacts to files and to the engine, restarts
//! with backoff, caps unhealthy restarts, reaps sessions, survives kill -9 and a cut event
//! stream, and never deletes on doubt. Every wait is a wait-until with a generous bound.

use std::time::Duration;

use crate::util::*;

fn fast(extra: &str) -> String {
    format!("  restart: {{ backoff: {{ initial: 200ms, max: 2s }} }}\n{extra}")
}

#[test]
fn files_created_edited_and_deleted_converge_one_object_at_a_time() {
    let inst = Instance::new("run-files");
    let d = Daemon::start(&inst, &[]);
    inst.write("a.yaml", &agent("a", ""));
    inst.wait_until("a runs", |cs| {
        cs.iter().any(|c| c.object == "a" && c.running)
    });
    inst.write("b.yaml", &agent("b", ""));
    inst.wait_until("b runs", |cs| cs.iter().filter(|c| c.running).count() == 2);
    let a = inst.container("a");
    let b = inst.container("b");

    inst.write("a.yaml", &agent("a", "  env: { V: \"2\" }\n"));
    inst.wait_until("a is recreated", |cs| {
        cs.iter()
            .any(|c| c.object == "a" && c.id != a.id && c.running)
    });
    assert_eq!(
        inst.container("b"),
        b,
        "only the edited object is recreated"
    );
    let last = d.wait_object("a's last action recorded", "agent", "a", |o| {
        o["lastAction"]["action"] == "recreate"
    });
    assert_eq!(last["lastAction"]["reason"], "env.V added (2)");

    inst.remove("a.yaml");
    inst.wait_until("a is reaped", |cs| cs.iter().all(|c| c.object != "a"));
    assert_eq!(inst.container("b"), b);
    assert!(
        d.log_text().contains("\"reason\":\"manifest gone\""),
        "one log line per action with its reason"
    );
}

#[test]
fn a_killed_container_is_restarted_and_counted() {
    let inst = Instance::new("run-kill");
    inst.write("a.yaml", &agent("k", &fast("")));
    // No periodic resync: the restart must come from the engine's `die` event.
    let d = Daemon::start(&inst, &["--resync", "1h"]);
    inst.wait_until("k runs", |cs| cs.iter().any(|c| c.running));
    let before = inst.container("k");
    assert_exit(&docker(&["kill", &before.id]), 0);
    let o = d.wait_object("one restart", "agent", "k", |o| {
        o["restarts"] == 1 && o["phase"] == "Running"
    });
    assert_eq!(o["lastAction"]["action"], "start");
    assert_eq!(
        inst.container("k").id,
        before.id,
        "restarted, not recreated"
    );

    let get = inst.berth("get", &["-o", "json"]);
    let rows: serde_json::Value = serde_json::from_slice(&get.stdout).unwrap();
    assert_eq!(
        rows[0]["restarts"], 1,
        "berth get reads restart counts from the state file"
    );
    let metrics = http_get(d.port, "/metrics").unwrap().1;
    assert!(
        metrics.contains("berth_restarts_total{cause=\"crash\"} 1"),
        "{metrics}"
    );
    // The reaction time from the `die` event to the start call (its 200 ms backoff
    // excluded) was measured once. On Podman no `die` arrives before the listing shows the
    // exit (docs/proxy.md), so there is nothing to measure there.
    if test_engine_host().is_none() {
        assert_eq!(
            metric(&metrics, "berth_event_to_action_seconds_count"),
            1.0,
            "{metrics}\n{}",
            d.log_text()
        );
    }
}

/// The value of the first sample named exactly `name` (with its labels, if any).
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn a_resync_with_nothing_to_do_lists_once_writes_nothing_and_reads_no_manifest() {
    let inst = Instance::new("run-noop");
    inst.write("a.yaml", &agent("a", ""));
    inst.write("b.yaml", &agent("b", ""));
    let d = Daemon::start(&inst, &["--resync", "200ms"]);
    inst.wait_until("both run", |cs| {
        cs.iter().filter(|c| c.running).count() == 2
    });
    // Files modified in the last 2 s are read again on every pass; wait until they are
    // older and one more pass has run.
    std::thread::sleep(Duration::from_millis(2500));
    let reads = |d: &Daemon| d.log_text().matches("manifests read").count();
    let first = http_get(d.port, "/metrics").unwrap().1;
    let reads_before = reads(&d);
    let passes = |m: &str| metric(m, "berth_reconciles_total");
    let last = wait_for("five more resyncs", || {
        let m = http_get(d.port, "/metrics").unwrap().1;
        if passes(&m) >= passes(&first) + 5.0 {
            Ok(m)
        } else {
            Err(m)
        }
    });
    let calls = |m: &str| -> Vec<(String, f64)> {
        m.lines()
            .filter(|l| l.starts_with("berth_engine_requests_total{"))
            .filter_map(|l| {
                let (k, v) = l.rsplit_once(' ')?;
                Some((k.to_string(), v.parse().ok()?))
            })
            .collect()
    };
    let before = calls(&first);
    let grew: Vec<(String, f64)> = calls(&last)
        .into_iter()
        .map(|(k, v)| {
            let was = before.iter().find(|(b, _)| *b == k).map_or(0.0, |b| b.1);
            (k, v - was)
        })
        .filter(|(_, d)| *d > 0.0)
        .collect();
    let rounds = passes(&last) - passes(&first);
    // A scrape may fall between a pass's listing and its count: one listing either way.
    let listings = "berth_engine_requests_total{operation=\"list_containers\"}";
    assert!(
        grew.len() == 1 && grew[0].0 == listings && (grew[0].1 - rounds).abs() <= 1.0,
        "one listing per pass ({rounds} passes) and no other engine call: {grew:?}\n{last}"
    );
    assert_eq!(reads(&d), reads_before, "no manifest was parsed again");
    assert!(metric(&last, "berth_reconcile_cpu_seconds_count") >= rounds);

    // A changed file is read again.
    inst.write("b.yaml", &agent("b", "  env: { X: \"1\" }\n"));
    wait_for("b recreated", || {
        if reads(&d) > reads_before {
            Ok(())
        } else {
            Err(d.log_text())
        }
    });
}

#[test]
fn a_crash_loop_backs_off_with_growing_delays_and_resets_after_a_stable_run() {
    let inst = Instance::new("run-loop");
    // Crashes three times, then stays up. Each start appends the host's uptime to /starts
    // in the container's own layer, which survives restarts of the same container: the
    // start times come from the workload itself, not from the engine's event history
    // (which keeps only the last 256 events and loses them on a busy engine). Writing to its
    // own layer needs the root filesystem writable, which this manifest asks for.
    let script = "cut -d\\  -f1 /proc/uptime >> /starts; n=$(wc -l < /starts); [ $n -ge 4 ] && exec sleep 3600; exit 1";
    inst.write(
        "a.yaml",
        &format!(
            "apiVersion: berth/v1\nkind: Agent\nmetadata: {{ name: loop }}\nspec:\n  image: {IMAGE}\n  command: [sh, -c, '{script}']\n  stopGracePeriod: 1s\n  security: {{ readOnlyRootFilesystem: false }}\n  restart: {{ backoff: {{ initial: 400ms, max: 10s, resetAfter: 2s }} }}\n"
        ),
    );
    let d = Daemon::start(&inst, &[]);
    d.wait_object("three restarts, then running", "agent", "loop", |o| {
        o["restarts"] == 3 && o["phase"] == "Running"
    });
    let starts = container_starts(&inst.container("loop").id, "/starts");
    assert_eq!(starts.len(), 4, "{starts:?}");
    let gaps: Vec<f64> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps[0] >= 0.4 && gaps[1] >= 0.8 && gaps[2] >= 1.6,
        "delays follow the backoff (400ms doubling): {gaps:?}"
    );
    assert!(
        gaps[0] < gaps[1] && gaps[1] < gaps[2],
        "delays grow: {gaps:?}"
    );

    d.wait_object("backoff reset after a stable run", "agent", "loop", |o| {
        o["backoffMs"] == 400
    });
}

#[test]
fn an_unhealthy_container_is_restarted_and_the_restarts_are_capped() {
    let inst = Instance::new("run-health");
    inst.write(
        "a.yaml",
        &format!(
            "apiVersion: berth/v1\nkind: Agent\nmetadata: {{ name: sick }}\nspec:\n  image: {IMAGE}\n  command: [sh, -c, 'cut -d\\  -f1 /proc/uptime >> /data/starts; exec sleep 3600']\n  stopGracePeriod: 1s\n  volumes: [ {{ name: data, mountPath: /data }} ]\n  health: {{ exec: [\"false\"], interval: 300ms, timeout: 1s, retries: 1, maxRestarts: 2, restartWindow: 10m }}\n  restart: {{ backoff: {{ initial: 100ms, max: 200ms }} }}\n"
        ),
    );
    let d = Daemon::start(&inst, &[]);
    let o = d.wait_object("restart limit reached", "agent", "sick", |o| {
        o["waiting"]
            .as_str()
            .is_some_and(|w| w.contains("restart limit reached"))
    });
    assert_eq!(o["restarts"], 2);
    assert_eq!(o["phase"], "Unhealthy");
    assert_eq!(o["lastError"]["class"], "workload");
    // The limit holds: the container stays unhealthy and is not restarted again.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(d.object("agent", "sick").unwrap()["restarts"], 2);
    let id = inst.container("sick").id;
    assert_eq!(
        container_starts(&id, "/data/starts").len(),
        3,
        "the first start and two restarts"
    );
    let metrics = http_get(d.port, "/metrics").unwrap().1;
    assert!(
        metrics.contains("berth_restarts_total{cause=\"unhealthy\"} 2"),
        "{metrics}"
    );
}

#[test]
fn a_session_is_reaped_at_its_ttl_and_not_resurrected_across_a_restart() {
    let inst = Instance::new("run-ttl");
    let session = |name: &str, ttl: &str| {
        format!("apiVersion: berth/v1\nkind: Session\nmetadata: {{ name: {name} }}\nspec:\n  image: {IMAGE}\n  command: [sleep, \"3600\"]\n  stopGracePeriod: 1s\n  ttl: {ttl}\n")
    };
    inst.write("short.yaml", &session("short", "3s"));
    inst.write("long.yaml", &session("long", "1h"));
    // A drop-in directory that may run empty needs --allow-empty; here an agent stays.
    inst.write("keeper.yaml", &agent("keeper", ""));
    let d = Daemon::start(&inst, &[]);
    let long = d.wait_object("long has an expiry", "session", "long", |o| {
        o["expiresAtMs"].is_u64()
    });
    let expires = long["expiresAtMs"].clone();
    d.wait_object("short expired", "session", "short", |o| {
        o["phase"] == "Expired"
    });
    inst.wait_until("short's container is gone", |cs| {
        cs.iter().all(|c| c.object != "short")
    });
    assert!(d.stop().success(), "SIGTERM exits cleanly");

    let d = Daemon::start(&inst, &[]);
    let o = d.wait_object("short still expired", "session", "short", |o| {
        o["phase"] == "Expired"
    });
    assert!(o["observed"].is_null());
    assert_eq!(
        d.wait_object("long listed", "session", "long", |o| o["phase"]
            == "Running")["expiresAtMs"],
        expires,
        "the TTL clock survives a restart of berth"
    );
    assert!(
        inst.containers().iter().all(|c| c.object != "short"),
        "not resurrected"
    );

    // Deleting the file forgets the session; a new file with that name is a new session.
    inst.remove("short.yaml");
    wait_for("short forgotten", || match d.object("session", "short") {
        None => Ok(()),
        Some(o) => Err(o.to_string()),
    });
    inst.remove("long.yaml");
    inst.wait_until("a live session is reaped when its file goes", |cs| {
        cs.iter().all(|c| c.object != "long")
    });
}

#[test]
fn an_agent_declared_stopped_is_stopped_and_started_without_recreating() {
    let inst = Instance::new("run-stop");
    inst.write("a.yaml", &agent("s", ""));
    let d = Daemon::start(&inst, &[]);
    inst.wait_until("s runs", |cs| cs.iter().any(|c| c.running));
    let id = inst.container("s").id;
    inst.write("a.yaml", &agent("s", "  state: Stopped\n"));
    inst.wait_until("s stopped", |cs| cs.iter().all(|c| !c.running));
    d.wait_object("phase Stopped", "agent", "s", |o| o["phase"] == "Stopped");
    inst.write("a.yaml", &agent("s", "  state: Running\n"));
    inst.wait_until("s runs again", |cs| cs.iter().any(|c| c.running));
    assert_eq!(inst.container("s").id, id, "same container");
    assert_eq!(
        d.object("agent", "s").unwrap()["restarts"],
        0,
        "a declared stop is no crash"
    );
}

#[test]
fn an_invalid_file_keeps_its_container_and_an_emptied_directory_reaps_nothing() {
    let inst = Instance::new("run-doubt");
    inst.write("a.yaml", &agent("a", ""));
    inst.write("b.yaml", &agent("b", ""));
    let d = Daemon::start(&inst, &[]);
    inst.wait_until("both run", |cs| {
        cs.iter().filter(|c| c.running).count() == 2
    });
    let before = inst.containers();

    inst.write(
        "a.yaml",
        "apiVersion: berth/v1\nkind: Agent\nmetadata: { name: a\n",
    );
    d.wait_object("a is Invalid", "agent", "a", |o| o["phase"] == "Invalid");
    assert!(d.status()["diagnostics"][0]
        .as_str()
        .unwrap()
        .contains("a.yaml:"));
    assert_eq!(inst.containers(), before, "nothing touched");

    inst.remove("a.yaml");
    inst.remove("b.yaml");
    d.wait_object("b kept as orphan", "agent", "b", |o| {
        o["phase"] == "Orphaned"
    });
    d.wait_object("a kept as orphan", "agent", "a", |o| {
        o["phase"] == "Orphaned"
    });
    assert_eq!(
        inst.containers(),
        before,
        "an emptied directory reaps nothing"
    );
    let _ = d;
}

#[test]
fn sigterm_leaves_containers_running() {
    let inst = Instance::new("run-term");
    inst.write("a.yaml", &agent("t", ""));
    let d = Daemon::start(&inst, &[]);
    inst.wait_until("t runs", |cs| cs.iter().any(|c| c.running));
    let before = inst.containers();
    let status = d.stop();
    assert!(status.success(), "{status:?}");
    assert_eq!(inst.containers(), before);
    let state =
        std::fs::read_to_string(inst.state.path().join(format!("{}.json", inst.name))).unwrap();
    assert!(state.contains("\"agent/t\""), "{state}");
}

#[test]
fn kill_9_in_the_middle_of_converging_leaves_no_duplicate_and_no_leak() {
    let inst = Instance::new("run-kill9");
    for i in 0..20 {
        inst.write(&format!("a{i:02}.yaml"), &agent(&format!("a{i:02}"), ""));
    }
    for (round, kill_at) in [1usize, 7, 14].into_iter().enumerate() {
        let d = Daemon::start(&inst, &["--concurrency", "4"]);
        inst.wait_until(
            &format!("round {round}: {kill_at} containers exist"),
            |cs| cs.len() >= kill_at,
        );
        d.kill9();
        let d = Daemon::start(&inst, &["--concurrency", "4"]);
        inst.wait_until("20 running", |cs| {
            cs.len() == 20 && cs.iter().all(|c| c.running)
        });
        let mut names: Vec<_> = inst.containers().into_iter().map(|c| c.object).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 20, "one container per object");
        d.kill9();
        assert_exit(&inst.berth("down", &[]), 0);
    }
}

#[test]
fn a_cut_event_stream_is_recovered() {
    let inst = Instance::new("run-cut");
    inst.write("a.yaml", &agent("c", &fast("")));
    let proxy = Forwarder::start();
    let host = format!("tcp://127.0.0.1:{}", proxy.port);
    let d = Daemon::start_with_env(&inst, &["--resync", "2s"], &[("DOCKER_HOST", &host)]);
    inst.wait_until("c runs", |cs| cs.iter().any(|c| c.running));
    let id = inst.container("c").id;
    proxy.cut();
    assert_exit(&docker(&["kill", &id]), 0);
    d.wait_object("restarted after the cut", "agent", "c", |o| {
        o["restarts"] == 1 && o["phase"] == "Running"
    });
    assert!(
        d.log_text().contains("engine event stream broken"),
        "{}",
        d.log_text()
    );
}

/// A TCP → unix socket forwarder to the engine whose connections a test can cut, as a
/// proxy restart or a network blip would.
struct Forwarder {
    port: u16,
    conns: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Forwarder {
    fn start() -> Forwarder {
        use std::os::unix::net::UnixStream;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let conns = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = conns.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(engine) = UnixStream::connect("/var/run/docker.sock") else {
                    continue;
                };
                kept.lock().unwrap().push(client.try_clone().unwrap());
                let (mut c1, mut e1) = (client.try_clone().unwrap(), engine.try_clone().unwrap());
                let (mut c2, mut e2) = (client, engine);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c1, &mut e1);
                    let _ = e1.shutdown(std::net::Shutdown::Both);
                });
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut e2, &mut c2);
                    let _ = c2.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        Forwarder { port, conns }
    }

    fn cut(&self) {
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
    }
}

#[test]
fn a_burst_of_file_changes_settles_into_a_few_reconciles_not_hundreds() {
    let inst = Instance::new("run-burst");
    inst.write("keeper.yaml", &agent("keeper", ""));
    let d = Daemon::start(&inst, &["--resync", "1h"]);
    inst.wait_until("keeper runs", |cs| cs.iter().any(|c| c.running));
    let passes = |d: &Daemon| -> u64 {
        let m = http_get(d.port, "/metrics").unwrap().1;
        m.lines()
            .find_map(|l| l.strip_prefix("berth_reconciles_total "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    // Let the passes of the start settle, then swap in 300 files as a checkout would.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let before = passes(&d);
    let staging = tempfile::tempdir().unwrap();
    for i in 0..300 {
        let text = format!(
            "apiVersion: berth/v1\nkind: Template\nmetadata: {{ name: t{i} }}\nspec: {{ image: {IMAGE} }}\n"
        );
        std::fs::write(staging.path().join(format!("t{i}.yaml")), text).unwrap();
    }
    for i in 0..300 {
        let name = format!("t{i}.yaml");
        std::fs::rename(staging.path().join(&name), inst.dir.path().join(&name)).unwrap();
    }
    wait_for("the templates are loaded", || {
        let s = d.status();
        (s["diagnostics"].as_array().unwrap().is_empty() && passes(&d) > before)
            .then_some(())
            .ok_or_else(|| s.to_string())
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    let used = passes(&d) - before;
    eprintln!("300 file renames took {used} reconcile pass(es)");
    assert!(used <= 20, "300 file events took {used} reconcile passes");
}

/// The start times a test container recorded itself (host uptime, seconds) in `file`.
fn container_starts(id: &str, file: &str) -> Vec<f64> {
    let o = docker(&["exec", id, "cat", file]);
    stdout(&o)
        .lines()
        .filter_map(|l| l.trim().parse::<f64>().ok())
        .collect()
}
