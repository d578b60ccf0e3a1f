//! Warm pools on the real engine: a Session claims a ready member (the container is renamed,
//! never copied), the pool refills, a Session that sets env is made cold and says why,
//! kill -9 at any moment of claiming leaves one container per Session and a full pool, a
//! template change rebuilds the pool without touching a Session that keeps its own spec,
//! members count against the Policy's quota, the API's create → ready takes a member, and
//! without a pool nothing changes.

use serde_json::Value;

use crate::api_client::{call, At};
use crate::util::*;

/// A Template `box` with a pool of `size` and `memory` MiB.
fn template(size: usize, memory: u64) -> String {
    format!(
        "apiVersion: berth/v1\nkind: Template\nmetadata: {{ name: box, labels: {{ tier: warm }} }}\nspec:\n  pool: {{ size: {size} }}\n  image: {IMAGE}\n  command: [sleep, \"3600\"]\n  resources: {{ memory: {memory}Mi }}\n  stopGracePeriod: 1s\n"
    )
}

/// A Session of `box` for user `user`, with more `spec` lines.
fn session(name: &str, user: &str, extra: &str) -> String {
    format!(
        "apiVersion: berth/v1\nkind: Session\nmetadata: {{ name: {name}, labels: {{ user: {user} }} }}\nspec:\n  template: box\n  ttl: 1h\n{extra}"
    )
}

fn members(inst: &Instance) -> Vec<Container> {
    let prefix = format!("berth_{}_pool_", inst.name);
    let mut m: Vec<Container> = inst
        .containers()
        .into_iter()
        .filter(|c| c.name.starts_with(&prefix))
        .collect();
    m.sort_by(|a, b| a.name.cmp(&b.name));
    m
}

fn sessions(inst: &Instance) -> Vec<Container> {
    let prefix = format!("berth_{}_session_", inst.name);
    inst.containers()
        .into_iter()
        .filter(|c| c.name.starts_with(&prefix))
        .collect()
}

fn session_container(inst: &Instance, name: &str) -> Option<Container> {
    let want = format!("berth_{}_session_{name}", inst.name);
    inst.containers().into_iter().find(|c| c.name == want)
}

fn full_pool(inst: &Instance, size: usize) -> Vec<Container> {
    inst.wait_until(&format!("{size} members running"), |_| {
        let m = members(inst);
        m.len() == size && m.iter().all(|c| c.running)
    });
    members(inst)
}

fn label(id: &str, key: &str) -> Option<String> {
    let o = docker(&[
        "inspect",
        "-f",
        &format!("{{{{index .Config.Labels \"{key}\"}}}}"),
        id,
    ]);
    let v = stdout(&o).trim().to_string();
    (!v.is_empty() && v != "<no value>").then_some(v)
}

#[test]
fn a_session_claims_a_warm_member_and_the_pool_refills() {
    let inst = Instance::new("pool-claim");
    inst.write("t.yaml", &template(2, 32));
    let d = Daemon::start(&inst, &["--sessions", &inst.sessions_str()]);
    let warm: Vec<String> = full_pool(&inst, 2).into_iter().map(|c| c.id).collect();
    let get = inst.berth("get", &["pools"]);
    assert_exit(&get, 0);
    assert_eq!(
        stdout(&get).matches(" pool ").count(),
        2,
        "{}",
        stdout(&get)
    );

    inst.write_session("u1.yaml", &session("u1", "alice", ""));
    inst.wait_until("u1 runs", |_| {
        session_container(&inst, "u1").is_some_and(|c| c.running)
    });
    let u1 = session_container(&inst, "u1").unwrap();
    assert!(
        warm.contains(&u1.id),
        "u1 took a warm member: {u1:#?} not in {warm:?}"
    );
    assert_eq!(label(&u1.id, "berth.pool").as_deref(), Some("box"));
    let o = d.wait_object("u1 running", "session", "u1", |o| o["phase"] == "Running");
    assert_eq!(
        o["labels"]["user"], "alice",
        "its labels live in berth: {o:#}"
    );

    // The pool refills with a new container in the freed slot.
    let refilled = full_pool(&inst, 2);
    assert!(
        refilled.iter().any(|c| !warm.contains(&c.id)),
        "{refilled:#?}"
    );
    assert_eq!(sessions(&inst).len(), 1);
    let describe = inst.berth("describe", &["session/u1"]);
    let text = stdout(&describe);
    assert!(text.contains("claims from the pool of box"), "{text}");
    assert!(
        text.contains("From pool") && text.contains("(as declared)"),
        "{text}"
    );

    // Gone with its file; the pool stays.
    std::fs::remove_file(inst.sessions.path().join("u1.yaml")).unwrap();
    inst.wait_until("u1 removed", |_| session_container(&inst, "u1").is_none());
    assert_eq!(full_pool(&inst, 2).len(), 2);
}

#[test]
fn a_session_that_sets_env_is_made_cold_and_says_why() {
    let inst = Instance::new("pool-cold");
    inst.write("t.yaml", &template(1, 32));
    let _d = Daemon::start(&inst, &["--sessions", &inst.sessions_str()]);
    let warm = full_pool(&inst, 1);
    inst.write_session("u2.yaml", &session("u2", "bob", "  env: { PROJECT: p1 }\n"));
    inst.wait_until("u2 runs", |_| {
        session_container(&inst, "u2").is_some_and(|c| c.running)
    });
    let u2 = session_container(&inst, "u2").unwrap();
    assert_ne!(u2.id, warm[0].id);
    assert!(u2.env.contains(&"PROJECT=p1".to_string()), "{u2:#?}");
    assert!(
        !stdout(&inst.berth("describe", &["session/u2"])).contains("p1"),
        "no env value"
    );
    assert_eq!(label(&u2.id, "berth.pool"), None);
    assert_eq!(members(&inst)[0].id, warm[0].id, "the member is untouched");
    let text = stdout(&inst.berth("describe", &["session/u2"]));
    assert!(
        text.contains(
            "not from the pool of box: it sets what a running container cannot be given: env.PROJECT\n"
        ),
        "{text}"
    );
}

#[test]
fn without_a_pool_a_session_is_made_as_before() {
    let inst = Instance::new("pool-none");
    inst.write("t.yaml", &template(0, 32));
    let _d = Daemon::start(&inst, &["--sessions", &inst.sessions_str()]);
    inst.write_session("u3.yaml", &session("u3", "carol", ""));
    inst.wait_until("u3 runs", |_| {
        session_container(&inst, "u3").is_some_and(|c| c.running)
    });
    let all = inst.containers();
    assert_eq!(all.len(), 1, "no members: {all:#?}");
    assert_eq!(label(&all[0].id, "berth.pool"), None);
    assert_eq!(label(&all[0].id, "user").as_deref(), Some("carol"));
    let text = stdout(&inst.berth("describe", &["session/u3"]));
    assert!(!text.contains("Pool"), "{text}");
}

#[test]
fn kill_9_while_claiming_never_shares_loses_or_miscounts_a_container() {
    let inst = Instance::new("pool-kill9");
    let size = 3;
    inst.write("t.yaml", &template(size, 32));
    let flags = ["--sessions", &inst.sessions_str(), "--concurrency", "4"];
    let mut declared: Vec<String> = Vec::new();
    // Killed right after the files are written, after the first claim, after two, after all.
    for (round, kill_after) in [0usize, 1, 2, 3].into_iter().enumerate() {
        let d = Daemon::start(&inst, &flags);
        full_pool(&inst, size);
        let before = sessions(&inst).len();
        for i in 0..3 {
            let name = format!("s{round}-{i}");
            inst.write_session(&format!("{name}.yaml"), &session(&name, "dave", ""));
            declared.push(name);
        }
        inst.wait_until(&format!("round {round}: {kill_after} claimed"), |_| {
            sessions(&inst).len() >= before + kill_after
        });
        d.kill9();
        let d = Daemon::start(&inst, &flags);
        inst.wait_until("every session runs and the pool is full", |cs| {
            let s = sessions(&inst);
            let m = members(&inst);
            s.len() == declared.len()
                && s.iter().all(|c| c.running)
                && m.len() == size
                && m.iter().all(|c| c.running)
                && cs.len() == declared.len() + size
        });
        let mut names: Vec<String> = sessions(&inst).into_iter().map(|c| c.name).collect();
        names.sort();
        let mut want: Vec<String> = declared
            .iter()
            .map(|n| format!("berth_{}_session_{n}", inst.name))
            .collect();
        want.sort();
        assert_eq!(names, want, "one container per session, none lost");
        let slots: Vec<String> = members(&inst).into_iter().map(|c| c.name).collect();
        let want_slots: Vec<String> = (0..size)
            .map(|i| format!("berth_{}_pool_box-{i}", inst.name))
            .collect();
        assert_eq!(slots, want_slots, "members only in the pool's slots");
        let status = d.status();
        let count = |kind: &str| {
            status["objects"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|o| o["kind"] == kind && o["phase"] == "Running")
                .count()
        };
        assert_eq!(count("session"), declared.len(), "{status:#}");
        assert_eq!(
            count("pool"),
            size,
            "no member counted as a session: {status:#}"
        );
        d.kill9();
    }
}

#[test]
fn a_template_change_rebuilds_the_pool_and_spares_a_session_that_keeps_its_spec() {
    let inst = Instance::new("pool-change");
    inst.write("t.yaml", &template(2, 32));
    let _d = Daemon::start(&inst, &["--sessions", &inst.sessions_str()]);
    full_pool(&inst, 2);
    // `keep` states the memory it runs with; `follow` takes the template's.
    inst.write_session(
        "keep.yaml",
        &session("keep", "erin", "  resources: { memory: 32Mi }\n"),
    );
    inst.write_session("follow.yaml", &session("follow", "erin", ""));
    inst.wait_until("both claimed and the pool full", |_| {
        sessions(&inst).iter().filter(|c| c.running).count() == 2 && members(&inst).len() == 2
    });
    let keep = session_container(&inst, "keep").unwrap();
    let follow = session_container(&inst, "follow").unwrap();
    assert_eq!(label(&keep.id, "berth.pool").as_deref(), Some("box"));

    inst.write("t.yaml", &template(2, 48));
    inst.wait_until("the pool rebuilt at 48Mi", |_| {
        let m = members(&inst);
        m.len() == 2 && m.iter().all(|c| c.running && c.memory == 48 << 20)
    });
    inst.wait_until("follow recreated at 48Mi", |_| {
        session_container(&inst, "follow")
            .is_some_and(|c| c.id != follow.id && c.running && c.memory == 48 << 20)
    });
    assert_eq!(
        session_container(&inst, "keep").unwrap().id,
        keep.id,
        "keep untouched"
    );
    let text = stdout(&inst.berth("describe", &["session/keep"]));
    assert!(
        text.contains("not from the pool of box") && text.contains("memory"),
        "{text}"
    );
    assert!(text.contains("(as declared)"), "{text}");
}

#[test]
fn members_count_against_the_quota_after_every_session() {
    let inst = Instance::new("pool-quota");
    inst.write("t.yaml", &template(2, 32));
    let policy = inst.write_policy("  allowedImages: [\"berth-runtime:*\"]\n  maxSessions: 3\n");
    let d = Daemon::start(
        &inst,
        &["--sessions", &inst.sessions_str(), "--policy", &policy],
    );
    full_pool(&inst, 2);
    inst.write_session("q1.yaml", &session("q1", "frank", ""));
    inst.write_session("q2.yaml", &session("q2", "frank", ""));
    d.wait_object("q2 running", "session", "q2", |o| o["phase"] == "Running");
    d.wait_object("q1 running", "session", "q1", |o| o["phase"] == "Running");
    inst.wait_until("two sessions and one member: three in all", |cs| {
        cs.len() == 3 && sessions(&inst).len() == 2 && members(&inst).len() == 1
    });
}

#[test]
fn the_api_creates_a_ready_session_from_the_pool() {
    let inst = Instance::new("pool-api");
    inst.write("t.yaml", &template(1, 32));
    let tokens = inst.state.path().join("tokens");
    let token = "w-0123456789abcdef0123";
    std::fs::write(&tokens, format!("writer write {token}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600)).unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let _d = Daemon::start(
        &inst,
        &[
            "--sessions",
            &inst.sessions_str(),
            "--api",
            &addr,
            "--api-tokens",
            &tokens.display().to_string(),
        ],
    );
    let warm = full_pool(&inst, 1);
    let a = call(
        &At::Tcp(addr),
        "POST",
        "/v1/sessions?wait=ready&timeout=60s",
        Some(token),
        Some(r#"{"template": "box", "name": "api1", "ttl": "1h", "labels": {"user": "gina"}}"#),
    );
    assert_eq!(a.status, 201, "{:#}", a.body);
    assert_eq!(a.body["ready"], Value::Bool(true), "{:#}", a.body);
    assert_eq!(session_container(&inst, "api1").unwrap().id, warm[0].id);
}

#[test]
fn a_pool_the_policy_comes_to_refuse_keeps_its_members_and_lends_none() {
    let inst = Instance::new("pool-refused");
    inst.write("t.yaml", &template(1, 32));
    let policy = inst.write_policy("  allowedImages: [\"berth-runtime:*\"]\n");
    let d = Daemon::start(
        &inst,
        &["--sessions", &inst.sessions_str(), "--policy", &policy],
    );
    let warm = full_pool(&inst, 1);
    // The Policy tightens: the member is no longer admitted.
    inst.write_policy("  allowedImages: [\"berth-runtime:*\"]\n  maxResources: { memory: 16Mi }\n");
    wait_for("the pool refused", || {
        let diags = d.status()["diagnostics"].to_string();
        match diags.contains("spec.pool: the pool's members are not admitted") {
            true => Ok(()),
            false => Err(diags),
        }
    });
    inst.write_session(
        "r1.yaml",
        &session("r1", "hank", "  resources: { memory: 16Mi }\n"),
    );
    inst.wait_until("r1 runs, made cold", |_| {
        session_container(&inst, "r1").is_some_and(|c| c.running)
    });
    assert_ne!(session_container(&inst, "r1").unwrap().id, warm[0].id);
    assert_eq!(
        members(&inst)[0].id,
        warm[0].id,
        "the member is kept as it runs"
    );
}

#[test]
fn a_session_file_renamed_into_the_sessions_directory_skips_the_debounce() {
    let inst = Instance::new("pool-rename");
    inst.write("t.yaml", &template(0, 32));
    // Neither the debounce nor a resync comes within the test: only the rename can wake
    // the loop.
    let _d = Daemon::start(
        &inst,
        &[
            "--sessions",
            &inst.sessions_str(),
            "--debounce",
            "10m",
            "--resync",
            "10m",
        ],
    );
    let tmp = inst.sessions.path().join(".q.yaml.tmp");
    std::fs::write(&tmp, session("q", "ivy", "")).unwrap();
    std::fs::rename(&tmp, inst.sessions.path().join("q.yaml")).unwrap();
    inst.wait_until("q runs", |_| {
        session_container(&inst, "q").is_some_and(|c| c.running)
    });
}
