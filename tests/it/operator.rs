//! The operator's verbs on the real engine: `restart` is not counted as a crash, `stop`
//! and `start` are honoured by a running daemon and kept across its restart, a `docker
//! stop` from outside has its own reason, `get` filters by selector and shows objects
//! without a container, `describe` and `events` show the last actions, `down` forgets what
//! it removed, and `apply` expires `RetainFor` volumes.

use crate::util::*;

fn labelled(name: &str, labels: &str) -> String {
    agent(name, "").replace(
        &format!("metadata: {{ name: {name} }}"),
        &format!("metadata: {{ name: {name}, labels: {{ {labels} }} }}"),
    )
}

fn started_at(id: &str) -> String {
    stdout(&docker(&["inspect", "-f", "{{.State.StartedAt}}", id]))
        .trim()
        .to_string()
}

fn get_json(inst: &Instance, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["-o", "json"];
    all.extend_from_slice(args);
    let o = inst.berth("get", &all);
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&o)))
}

#[test]
fn restart_by_a_running_daemon_is_not_counted_as_a_crash_and_describe_shows_it() {
    let inst = Instance::new("op-restart");
    inst.write("a.yaml", &agent("web", ""));
    let d = Daemon::start(&inst, &[]);
    d.wait_object("web running", "agent", "web", |o| o["phase"] == "Running");
    let before = inst.container("web");
    let first_start = started_at(&before.id);

    let o = inst.berth("restart", &["agent/web"]);
    assert_exit(&o, 0);
    assert!(
        stdout(&o).contains("agent/web: restarted (by berth run)"),
        "{}",
        stdout(&o)
    );
    let after = inst.container("web");
    assert_eq!(after.id, before.id, "in place, not recreated");
    assert!(after.running);
    assert_ne!(started_at(&after.id), first_start, "a fresh process");
    let row = &get_json(&inst, &["agent/web"])[0];
    assert_eq!(
        row["restarts"], 0,
        "an operator's restart is not a crash: {row}"
    );

    let o = inst.berth("describe", &["agent/web"]);
    assert_exit(&o, 0);
    let text = stdout(&o);
    assert!(
        text.contains("restart (by run): berth restart -> ok"),
        "{text}"
    );
    assert!(text.contains("(as declared)"), "{text}");
    let json = inst.berth("describe", &["agent/web", "-o", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["inSync"], true);
    assert_eq!(
        doc["events"].as_array().unwrap().last().unwrap()["cause"],
        "operator"
    );
    d.stop();
}

#[test]
fn stop_is_honoured_at_once_kept_across_a_daemon_restart_and_start_clears_it() {
    let inst = Instance::new("op-stop");
    inst.write("a.yaml", &agent("web", ""));
    let d = Daemon::start(&inst, &["--resync", "1s"]);
    d.wait_object("web running", "agent", "web", |o| o["phase"] == "Running");

    let o = inst.berth("stop", &["agent/web"]);
    assert_exit(&o, 0);
    assert!(
        stdout(&o).contains("stopped (by berth run)"),
        "{}",
        stdout(&o)
    );
    assert!(!inst.container("web").running);
    let row = &get_json(&inst, &["agent/web"])[0];
    assert_eq!(row["override"], "stopped");
    assert_eq!(row["state"], "Stopped");
    let table = stdout(&inst.berth("get", &[]));
    assert!(table.contains("Stopped (berth stop)"), "{table}");

    // A new daemon keeps it stopped through its first passes and resyncs.
    d.stop();
    let d = Daemon::start(&inst, &["--resync", "1s"]);
    let passes = |d: &Daemon| d.status()["lastReconcileMs"].as_u64().unwrap_or(0);
    let first = passes(&d);
    wait_for("two resyncs of the new daemon", || {
        if passes(&d) > first + 1000 {
            Ok(())
        } else {
            Err(format!("{}", d.status()))
        }
    });
    assert!(
        !inst.container("web").running,
        "kept stopped across the restart"
    );

    let o = inst.berth("start", &["agent/web"]);
    assert_exit(&o, 0);
    assert!(
        stdout(&o).contains("started (by berth run)"),
        "{}",
        stdout(&o)
    );
    assert!(inst.container("web").running);
    assert!(get_json(&inst, &["agent/web"])[0]["override"].is_null());
    d.stop();
}

#[test]
fn stop_start_and_restart_act_themselves_without_a_daemon() {
    let inst = Instance::new("op-nodaemon");
    inst.write("a.yaml", &agent("web", ""));
    assert_exit(&inst.run("apply", &[]), 0);
    assert_exit(&inst.berth("stop", &["agent/web"]), 0);
    assert!(!inst.container("web").running);
    // apply honours the override: nothing to start.
    let o = inst.run("apply", &[]);
    assert_exit(&o, 0);
    assert!(stdout(&o).contains("nothing to do"), "{}", stdout(&o));
    let o = inst.berth("restart", &["agent/web"]);
    assert_exit(&o, 1);
    assert!(
        stdout(&o).contains("stopped by berth stop"),
        "{}",
        stdout(&o)
    );
    assert_exit(&inst.berth("start", &["agent/web"]), 0);
    assert!(inst.container("web").running);
    assert_exit(&inst.berth("restart", &["agent/web"]), 0);
    let o = inst.berth("stop", &["agent/nope"]);
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("no such object"), "{}", stderr(&o));

    let events = inst.berth("events", &["-o", "json"]);
    assert_exit(&events, 0);
    let records: Vec<serde_json::Value> = stdout(&events)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let what: Vec<(String, String)> = records
        .iter()
        .map(|r| {
            (
                r["by"].as_str().unwrap().into(),
                r["verb"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("apply", "create"),
        ("operator", "stop"),
        ("operator", "start"),
        ("operator", "restart"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(what, expected);
    let text = stdout(&inst.berth("events", &[]));
    assert!(
        text.contains("agent/web  stop (by operator): berth stop -> ok"),
        "{text}"
    );
}

#[test]
fn a_docker_stop_from_outside_is_reported_as_such_and_restarted_by_policy() {
    let inst = Instance::new("op-outside");
    inst.write("a.yaml", &agent("web", ""));
    let d = Daemon::start(&inst, &[]);
    d.wait_object("web running", "agent", "web", |o| o["phase"] == "Running");
    let id = inst.container("web").id;
    assert!(docker(&["stop", "-t", "1", &id]).status.success());
    d.wait_object("restarted", "agent", "web", |o| {
        o["lastAction"]["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("stopped outside berth"))
    });
    inst.wait_until("running again", |cs| cs.iter().any(|c| c.running));
    let o = d.object("agent", "web").unwrap();
    assert!(o["lastError"].is_null(), "not a workload failure: {o}");
    d.stop();
}

#[test]
fn get_filters_by_selector_and_shows_objects_without_a_container() {
    let inst = Instance::new("op-get");
    inst.write("a.yaml", &labelled("alpha", "team: red, tier: gold"));
    inst.write("b.yaml", &labelled("beta", "team: blue"));
    inst.write(
        "c.yaml",
        &labelled("ghost", "team: red").replace(IMAGE, "berth-runtime:missing"),
    );
    assert_exit(&inst.run("apply", &[]), 1);

    let names = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&get_json(&inst, &[])), ["alpha", "beta", "ghost"]);
    assert_eq!(
        names(&get_json(&inst, &["-l", "team=red"])),
        ["alpha", "ghost"]
    );
    assert_eq!(names(&get_json(&inst, &["-l", "team!=red"])), ["beta"]);
    assert_eq!(names(&get_json(&inst, &["-l", "tier"])), ["alpha"]);
    assert_eq!(
        names(&get_json(&inst, &["-l", "team in (blue,green),!tier"])),
        ["beta"]
    );
    assert_eq!(names(&get_json(&inst, &["agent/beta"])), ["beta"]);

    let ghost = &get_json(&inst, &["agent/ghost"])[0];
    assert_eq!(ghost["state"], "Failed");
    assert!(ghost["container"].is_null());
    assert!(ghost["health"].is_null(), "null, not \"-\"");
    assert!(
        ghost["message"]
            .as_str()
            .unwrap()
            .contains("berth-runtime:missing"),
        "{ghost}"
    );
    let table = stdout(&inst.berth("get", &["--show-labels", "-l", "team=red"]));
    assert!(
        table.contains("REASON") && table.contains("LABELS"),
        "{table}"
    );
    assert!(table.contains("team=red,tier=gold"), "{table}");

    let o = inst.berth("get", &["-l", "team in (red"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("selector"), "{}", stderr(&o));
    let o = inst.berth("get", &["agent/nobody"]);
    assert_exit(&o, 1);
}

#[test]
fn down_forgets_what_it_removed() {
    let inst = Instance::new("op-down");
    inst.write("a.yaml", &agent("web", ""));
    let d = Daemon::start(&inst, &[]);
    d.wait_object("web running", "agent", "web", |o| o["phase"] == "Running");
    let id = inst.container("web").id;
    assert!(docker(&["kill", &id]).status.success());
    d.wait_object("restarted once", "agent", "web", |o| o["restarts"] == 1);
    d.stop();

    assert_exit(&inst.berth("down", &[]), 0);
    assert_exit(&inst.run("apply", &[]), 0);
    let row = &get_json(&inst, &["agent/web"])[0];
    assert_eq!(
        row["restarts"], 0,
        "the old container's restarts are forgotten: {row}"
    );
}

#[test]
fn apply_and_down_speak_json() {
    let inst = Instance::new("op-json");
    inst.write("a.yaml", &agent("web", ""));
    let o = inst.run("apply", &["-o", "json"]);
    assert_exit(&o, 0);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["actions"][0]["object"], "agent/web");
    assert_eq!(doc["actions"][0]["verb"], "create");
    assert_eq!(doc["actions"][0]["result"], "ok");
    assert_eq!(doc["failed"], 0);
    let o = inst.berth("down", &["-o", "json"]);
    assert_exit(&o, 0);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["actions"][0]["verb"], "remove");
    assert_eq!(doc["failed"], 0);
}

#[test]
fn apply_expires_retain_for_volumes_once_their_time_is_up() {
    let inst = Instance::new("op-retain");
    let volume = "  volumes:\n    - { name: data, mountPath: /data, cleanup: { policy: RetainFor, after: 2s } }\n";
    inst.write("a.yaml", &agent("web", volume));
    assert_exit(&inst.run("apply", &[]), 0);
    let name = inst.volume("agent", "web", "data");
    assert_eq!(inst.volumes(), vec![name.clone()]);

    // The agent goes: its volume is orphaned, its clock starts in the state file.
    inst.remove("a.yaml");
    inst.write("other.yaml", &agent("other", ""));
    assert_exit(&inst.run("apply", &[]), 0);
    assert_eq!(inst.volumes(), vec![name.clone()], "kept for now");
    wait_for("the retention to run out", || {
        let o = inst.run("diff", &["-o", "json"]);
        let plan: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let removes = plan["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["verb"] == "remove" && a["key"].to_string().contains("data"));
        if removes {
            Ok(())
        } else {
            Err(format!("{plan}"))
        }
    });
    assert_exit(&inst.run("apply", &[]), 0);
    assert!(inst.volumes().is_empty(), "expired under apply");
}

#[test]
fn get_watch_prints_an_object_again_when_it_changes() {
    use std::io::BufRead;
    let inst = Instance::new("op-watch");
    inst.write("a.yaml", &agent("web", ""));
    assert_exit(&inst.run("apply", &[]), 0);
    let state = inst.state.path().display().to_string();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_berth"));
    cmd.args([
        "get",
        "-w",
        "-o",
        "json",
        "--instance",
        &inst.name,
        "--state-dir",
        &state,
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::null());
    via_test_engine(&mut cmd);
    let mut child = cmd.spawn().unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    // The first document lists it running; then stop it and wait for the row that says so
    // (a generous guard against a watch that never prints, not a timing assertion).
    let mut doc = String::new();
    let mut saw = Vec::new();
    let mut stopped = false;
    loop {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("gave up waiting for get -w to print; saw {saw:?}"));
        doc.push_str(&line);
        doc.push('\n');
        if line != "]" {
            continue;
        }
        let rows: serde_json::Value = serde_json::from_str(&doc).unwrap();
        doc.clear();
        let state = rows[0]["state"].as_str().unwrap().to_string();
        saw.push(state.clone());
        if state == "Running" && !stopped {
            assert_exit(&inst.berth("stop", &["agent/web"]), 0);
            stopped = true;
        } else if state == "Stopped" {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(saw.first().map(String::as_str), Some("Running"), "{saw:?}");
    assert_eq!(saw.last().map(String::as_str), Some("Stopped"), "{saw:?}");
}
