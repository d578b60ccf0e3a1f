//! apply / diff / get / down against the real engine.

use crate::util::*;

#[test]
fn apply_diff_get_down_round_trip() {
    let inst = Instance::new("roundtrip");
    inst.write(
        "agents.yaml",
        &format!(
            "{}---\n{}",
            agent("alpha", "  env: { ROLE: a }\n"),
            agent("beta", "")
        ),
    );

    let diff = inst.run("diff", &[]);
    assert_exit(&diff, 1);
    assert_eq!(
        stdout(&diff),
        "+ agent/alpha: create: not on the engine\n+ agent/beta: create: not on the engine\n"
    );

    let apply = inst.run("apply", &["--wait", "--timeout", "60s"]);
    assert_exit(&apply, 0);
    assert!(
        stdout(&apply).contains("ready: 2 object(s) running"),
        "{}",
        stdout(&apply)
    );

    let cs = inst.containers();
    assert_eq!(cs.len(), 2);
    let alpha = inst.container("alpha");
    assert!(alpha.running);
    assert_eq!(alpha.name, format!("berth_{}_agent_alpha", inst.name));
    assert!(alpha.env.contains(&"ROLE=a".to_string()));
    assert_eq!(
        alpha.memory,
        512 << 20,
        "the restricted default memory limit applies"
    );

    assert_exit(&inst.run("diff", &[]), 0);

    let get = inst.berth("get", &["-o", "json"]);
    assert_exit(&get, 0);
    let rows: serde_json::Value = serde_json::from_slice(&get.stdout).unwrap();
    let names: Vec<_> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alpha", "beta"]);
    assert!(rows
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["state"] == "Running" && r["kind"] == "agent"));

    let table = inst.berth("get", &[]);
    assert_exit(&table, 0);
    let header = stdout(&table)
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(header, "NAME KIND STATE HEALTH RESTARTS AGE IMAGE");

    let down = inst.berth("down", &[]);
    assert_exit(&down, 0);
    assert!(inst.containers().is_empty());
}

#[test]
fn second_apply_with_nothing_changed_writes_nothing() {
    let inst = Instance::new("noop");
    inst.write("a.yaml", &agent("one", ""));
    inst.write("b.yaml", &agent("two", ""));
    assert_exit(&inst.run("apply", &["--wait", "--timeout", "60s"]), 0);
    let before = inst.containers();

    let since = now();
    let again = inst.run("apply", &[]);
    let until = now() + 0.5;
    assert_exit(&again, 0);
    assert_eq!(stdout(&again), "nothing to do: 2 object(s) up to date\n");
    std::thread::sleep(std::time::Duration::from_millis(600));
    assert_eq!(
        events_between(&inst.name, since, until),
        Vec::<String>::new(),
        "a no-op apply must not create, start, stop or remove anything"
    );
    assert_eq!(
        inst.containers(),
        before,
        "ids and creation times are unchanged"
    );
}

#[test]
fn changing_one_field_recreates_only_that_container() {
    let inst = Instance::new("recreate");
    inst.write("a.yaml", &agent("keep", "  resources: { memory: 64Mi }\n"));
    inst.write(
        "b.yaml",
        &agent("change", "  resources: { memory: 64Mi }\n"),
    );
    assert_exit(&inst.run("apply", &["--wait", "--timeout", "60s"]), 0);
    let keep = inst.container("keep");
    let old = inst.container("change");

    inst.write(
        "b.yaml",
        &agent("change", "  resources: { memory: 96Mi }\n"),
    );
    let diff = inst.run("diff", &[]);
    assert_exit(&diff, 1);
    assert_eq!(
        stdout(&diff),
        "~ agent/change: recreate: memory 64Mi → 96Mi\n"
    );

    let apply = inst.run("apply", &["--wait", "--timeout", "60s"]);
    assert_exit(&apply, 0);
    assert!(stdout(&apply).contains("~ agent/change: recreate: memory 64Mi → 96Mi ... recreated"));
    let new = inst.container("change");
    assert_ne!(new.id, old.id);
    assert_eq!(new.memory, 96 << 20);
    assert_eq!(
        inst.container("keep"),
        keep,
        "the unchanged container is untouched"
    );
}

#[test]
fn template_override_change_is_explained() {
    let inst = Instance::new("template");
    let template = format!(
        "apiVersion: berth/v1\nkind: Template\nmetadata: {{ name: base }}\nspec:\n  image: {IMAGE}\n  command: [sleep, \"3600\"]\n  env: {{ LOG_LEVEL: info, A: x }}\n  stopGracePeriod: 1s\n"
    );
    inst.write("t.yaml", &template);
    let agent = |level: &str| {
        format!("apiVersion: berth/v1\nkind: Agent\nmetadata: {{ name: ag }}\nspec:\n  template: base\n  env: {{ LOG_LEVEL: {level} }}\n")
    };
    inst.write("a.yaml", &agent("info"));
    assert_exit(&inst.run("apply", &["--wait", "--timeout", "60s"]), 0);
    let c = inst.container("ag");
    assert!(c.env.contains(&"A=x".to_string()) && c.env.contains(&"LOG_LEVEL=info".to_string()));

    inst.write("a.yaml", &agent("debug"));
    let diff = inst.run("diff", &[]);
    assert_exit(&diff, 1);
    assert_eq!(
        stdout(&diff),
        "~ agent/ag: recreate: env.LOG_LEVEL info → debug\n"
    );
}

#[test]
fn exited_containers_are_started_per_restart_policy() {
    let inst = Instance::new("exited");
    inst.write("a.yaml", &agent("always", ""));
    inst.write("n.yaml", &agent("never", "  restart: { policy: Never }\n"));
    assert_exit(&inst.run("apply", &["--wait", "--timeout", "60s"]), 0);
    let always = inst.container("always");
    let never = inst.container("never");
    assert_eq!(docker(&["kill", &always.id]).status.code(), Some(0));
    assert_eq!(docker(&["kill", &never.id]).status.code(), Some(0));
    inst.wait_until("both containers stopped", |cs| {
        cs.iter().all(|c| !c.running)
    });

    let diff = inst.run("diff", &[]);
    assert_exit(&diff, 1);
    assert_eq!(
        stdout(&diff),
        "> agent/always: start: exited with code 137 (restart policy Always)\n"
    );
    assert_exit(
        &inst.run("apply", &["--wait", "--timeout", "60s"]).clone(),
        1,
    );
    let after = inst.container("always");
    assert_eq!(after.id, always.id, "started again, not recreated");
    assert!(after.running);
    assert!(!inst.container("never").running);
}

#[test]
fn wait_reports_a_crashing_container() {
    let inst = Instance::new("crash");
    inst.write(
        "a.yaml",
        &format!(
            "apiVersion: berth/v1\nkind: Agent\nmetadata: {{ name: crasher }}\nspec:\n  image: {IMAGE}\n  command: [sh, -c, \"exit 3\"]\n  restart: {{ policy: Never }}\n"
        ),
    );
    // A window far beyond the exit's few milliseconds, so that a loaded machine cannot
    // make it pass for running (the default is measured in docs/loop.md).
    let apply = inst.run("apply", &["--wait", "--timeout", "60s", "--settle", "2s"]);
    assert_exit(&apply, 1);
    assert!(
        stdout(&apply).contains("agent/crasher: exited with code 3"),
        "{}",
        stdout(&apply)
    );
}

#[test]
fn a_container_that_dies_inside_the_settle_window_is_not_ready() {
    let inst = Instance::new("settle-die");
    inst.write(
        "a.yaml",
        &format!(
            "apiVersion: berth/v1\nkind: Agent\nmetadata: {{ name: late }}\nspec:\n  image: {IMAGE}\n  command: [sh, -c, \"sleep 1; exit 4\"]\n  restart: {{ policy: Never }}\n  stopGracePeriod: 0s\n"
        ),
    );
    let apply = inst.run("apply", &["--wait", "--timeout", "60s", "--settle", "20s"]);
    assert_exit(&apply, 1);
    assert!(
        stdout(&apply).contains("agent/late: exited with code 4"),
        "{}",
        stdout(&apply)
    );
}

#[test]
fn a_container_that_runs_is_ready_once_it_has_run_the_settle_window() {
    let inst = Instance::new("settle-run");
    inst.write("a.yaml", &agent("steady", ""));
    let apply = inst.run(
        "apply",
        &["--wait", "--timeout", "60s", "--settle", "1s", "-o", "json"],
    );
    assert_exit(&apply, 0);
    let report: serde_json::Value = serde_json::from_str(&stdout(&apply)).unwrap();
    assert_eq!(report["notReady"], serde_json::json!([]), "{report:#}");
    // Up to date and running for longer than the window: ready at once on the next apply.
    let again = inst.run("apply", &["--wait", "--timeout", "60s", "--settle", "1s"]);
    assert_exit(&again, 0);
    assert!(
        stdout(&again).contains("ready: 1 object(s) running"),
        "{}",
        stdout(&again)
    );
}

#[test]
fn a_missing_image_is_a_clear_error() {
    let inst = Instance::new("noimage");
    inst.write(
        "a.yaml",
        "apiVersion: berth/v1\nkind: Agent\nmetadata: { name: ghost }\nspec: { image: \"berth-no-such-image:0\" }\n",
    );
    let apply = inst.run("apply", &[]);
    assert_exit(&apply, 1);
    assert!(
        stdout(&apply).contains("FAILED [workload]: image \"berth-no-such-image:0\" is not on the engine (berth never pulls)"),
        "{}",
        stdout(&apply)
    );
    assert!(inst.containers().is_empty());

    // With --wait, a failed action ends the wait at once instead of sitting out the
    // timeout, and the other objects are still reported.
    inst.write("b.yaml", &agent("fine", ""));
    let apply = inst.run("apply", &["--wait", "--timeout", "30m"]);
    assert_exit(&apply, 1);
    let out = stdout(&apply);
    assert!(
        out.contains("agent/ghost: its action failed (no container)"),
        "{out}"
    );
}

#[test]
fn health_checked_template_becomes_healthy() {
    let inst = Instance::new("health");
    let policy = repo("examples/policy.yaml");
    // Every example but the shared network's (which needs NETWORKS=1, and `make
    // test-proxy` runs this behind the minimal proxy) and the Policy (given as such).
    let mut args = vec![
        "--policy".to_string(),
        policy.display().to_string(),
        "--wait".into(),
        "--timeout".into(),
        "90s".into(),
    ];
    let mut paths: Vec<_> = std::fs::read_dir(repo("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            !p.ends_with("networks.yaml")
                && !p.ends_with("policy.yaml")
                && (p.is_dir() || p.extension().is_some_and(|x| x == "yaml"))
        })
        .collect();
    paths.sort();
    args.extend(paths.iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let apply = inst.berth("apply", &args);
    assert_exit(&apply, 0);
    assert!(
        stdout(&apply).contains("ready: 10 object(s) running and healthy"),
        "{}",
        stdout(&apply)
    );
    let get = inst.berth("get", &["-o", "json"]);
    let rows: serde_json::Value = serde_json::from_slice(&get.stdout).unwrap();
    let reviewer = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "reviewer")
        .unwrap();
    assert_eq!(reviewer["health"], "healthy");
    assert_eq!(reviewer["state"], "Running");
}
