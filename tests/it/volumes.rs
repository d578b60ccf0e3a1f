//! Volumes against the real engine: data survives a recreate, each cleanup policy on Agent
//! removal and Session expiry, RetainFor across a berth restart, the orphan budget, a volume
//! in use is never forced, foreign and other instances' volumes are untouched.

use crate::util::*;

fn with_volume(name: &str, cleanup: &str, extra: &str) -> String {
    agent(
        name,
        &format!("  volumes:\n    - {{ name: data, mountPath: /data{cleanup} }}\n{extra}"),
    )
}

fn policy(p: &str) -> String {
    format!(", cleanup: {{ {p} }}")
}

#[test]
fn data_survives_a_spec_change_recreate() {
    let inst = Instance::new("vol-keep");
    let writer = |n: &str| {
        format!(
            "apiVersion: berth/v1\nkind: Agent\nmetadata: {{ name: w }}\nspec:\n  image: {IMAGE}\n  command: [sh, -c, 'echo run{n} >> /data/log; exec sleep 3600']\n  stopGracePeriod: 1s\n  volumes: [ {{ name: data, mountPath: /data }} ]\n"
        )
    };
    inst.write("w.yaml", &writer("1"));
    assert_exit(&inst.run("apply", &["--wait", "--timeout", "60s"]), 0);
    inst.write("w.yaml", &writer("2"));
    let apply = inst.run("apply", &["--wait", "--timeout", "60s"]);
    assert_exit(&apply, 0);
    assert!(
        stdout(&apply).contains("~ agent/w: recreate"),
        "{}",
        stdout(&apply)
    );
    let vol = inst.volume("agent", "w", "data");
    let read = docker(&[
        "run",
        "--rm",
        "-v",
        &format!("{vol}:/d:ro"),
        IMAGE,
        "cat",
        "/d/log",
    ]);
    assert_eq!(
        stdout(&read),
        "run1\nrun2\n",
        "the recreated container found the old data"
    );
    assert_eq!(inst.volumes(), [vol]);
}

#[test]
fn each_policy_on_agent_removal() {
    let inst = Instance::new("vol-policy");
    inst.write("keeper.yaml", &agent("keeper", ""));
    inst.write("d.yaml", &with_volume("del", &policy("policy: Delete"), ""));
    inst.write("r.yaml", &with_volume("ret", &policy("policy: Retain"), ""));
    inst.write(
        "f.yaml",
        &with_volume("for", &policy("policy: RetainFor, after: 1h"), ""),
    );
    inst.write("x.yaml", &with_volume("dflt", "", ""));
    assert_exit(&inst.run("apply", &["--wait", "--timeout", "60s"]), 0);
    assert_eq!(inst.volumes().len(), 4);

    for f in ["d.yaml", "r.yaml", "f.yaml", "x.yaml"] {
        inst.remove(f);
    }
    let diff = inst.run("diff", &[]);
    assert!(
        stdout(&diff).contains(&format!(
            "- volume/{}: remove: owner agent/del is gone (cleanup Delete)",
            inst.volume("agent", "del", "data")
        )),
        "{}",
        stdout(&diff)
    );
    assert_exit(&inst.run("apply", &[]), 0);
    assert_eq!(
        inst.volumes(),
        [
            inst.volume("agent", "dflt", "data"),
            inst.volume("agent", "for", "data"),
            inst.volume("agent", "ret", "data"),
        ],
        "Delete goes with its owner; Retain, RetainFor (not yet due) and the default (Retain) stay"
    );
    let get = inst.berth("get", &["volumes", "-o", "json"]);
    let rows: serde_json::Value = serde_json::from_slice(&get.stdout).unwrap();
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["state"] == "Orphaned"),
        "{rows}"
    );

    // With --volume-cleanup Delete, the volume without a policy of its own goes too.
    let apply = inst.berth("apply", &["--volume-cleanup", "Delete", &inst.path_str()]);
    assert_exit(&apply, 0);
    assert_eq!(inst.volumes().len(), 2);
}

#[test]
fn retain_for_expires_in_the_daemon_across_a_restart() {
    let inst = Instance::new("vol-for");
    inst.write("keeper.yaml", &agent("keeper", ""));
    inst.write(
        "f.yaml",
        &with_volume("f", &policy("policy: RetainFor, after: 6s"), ""),
    );
    let d = Daemon::start(&inst, &[]);
    let name = inst.volume("agent", "f", "data");
    wait_for("the volume exists", || {
        inst.volumes().contains(&name).then_some(()).ok_or_default()
    });
    inst.remove("f.yaml");
    let expires = wait_for("an orphan clock", || {
        d.status()["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name.as_str() && v["state"] == "Orphaned")
            .map(|v| v["expiresMs"].clone())
            .ok_or_else(|| d.status()["volumes"].to_string())
    });
    assert!(d.stop().success());
    assert!(inst.volumes().contains(&name), "kept while RetainFor runs");

    let d = Daemon::start(&inst, &[]);
    let after_restart = d.status()["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name.as_str())
        .map(|v| v["expiresMs"].clone());
    assert_eq!(
        after_restart,
        Some(expires),
        "the orphan clock survived the restart"
    );
    wait_for("the volume is removed when RetainFor ends", || {
        (!inst.volumes().contains(&name))
            .then_some(())
            .ok_or_default()
    });
    let _ = d;
}

#[test]
fn a_session_volume_with_delete_goes_when_the_session_expires() {
    let inst = Instance::new("vol-ttl");
    inst.write("keeper.yaml", &agent("keeper", ""));
    inst.write(
        "s.yaml",
        &format!(
            "apiVersion: berth/v1\nkind: Session\nmetadata: {{ name: s }}\nspec:\n  image: {IMAGE}\n  command: [sleep, \"3600\"]\n  stopGracePeriod: 1s\n  ttl: 3s\n  volumes: [ {{ name: work, mountPath: /work, cleanup: {{ policy: Delete }} }} ]\n"
        ),
    );
    let d = Daemon::start(&inst, &[]);
    let name = inst.volume("session", "s", "work");
    wait_for("the session's volume exists", || {
        inst.volumes().contains(&name).then_some(()).ok_or_default()
    });
    d.wait_object("expired", "session", "s", |o| o["phase"] == "Expired");
    wait_for("the volume goes after the session", || {
        (!inst.volumes().contains(&name))
            .then_some(())
            .ok_or_default()
    });
}

#[test]
fn two_sessions_from_one_template_get_their_own_volume_unless_shared() {
    let inst = Instance::new("vol-share");
    inst.write(
        "t.yaml",
        &format!(
            "apiVersion: berth/v1\nkind: Template\nmetadata: {{ name: t }}\nspec:\n  image: {IMAGE}\n  command: [sleep, \"3600\"]\n  stopGracePeriod: 1s\n  volumes:\n    - {{ name: work, mountPath: /work }}\n    - {{ name: cache, mountPath: /cache, shared: true }}\n"
        ),
    );
    for s in ["s1", "s2"] {
        inst.write(
            &format!("{s}.yaml"),
            &format!("apiVersion: berth/v1\nkind: Session\nmetadata: {{ name: {s} }}\nspec: {{ template: t, ttl: 1h }}\n"),
        );
    }
    assert_exit(&inst.run("apply", &["--wait", "--timeout", "60s"]), 0);
    assert_eq!(
        inst.volumes(),
        [
            inst.volume("session", "s1", "work"),
            inst.volume("session", "s2", "work"),
            format!("berth_{}_shared_cache", inst.name),
        ]
    );
}

#[test]
fn the_budget_evicts_the_oldest_orphans() {
    let inst = Instance::new("vol-budget");
    inst.write("keeper.yaml", &agent("keeper", ""));
    for n in ["a", "b", "c"] {
        inst.write(
            &format!("{n}.yaml"),
            &with_volume(n, &policy("policy: RetainFor, after: 1h"), ""),
        );
    }
    let d = Daemon::start(&inst, &["--max-orphaned-volumes", "1"]);
    wait_for("three volumes", || {
        (inst.volumes().len() == 3).then_some(()).ok_or_default()
    });
    for n in ["a", "b", "c"] {
        inst.remove(&format!("{n}.yaml"));
        let name = inst.volume("agent", n, "data");
        wait_for("orphaned", || {
            d.status()["volumes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v["name"] == name.as_str() && v["state"] == "Orphaned")
                .then_some(())
                .ok_or_default()
        });
        std::thread::sleep(std::time::Duration::from_millis(20)); // distinct orphan times
    }
    wait_for("only the newest orphan is left", || {
        (inst.volumes() == [inst.volume("agent", "c", "data")])
            .then_some(())
            .ok_or_else(|| format!("{:?}", inst.volumes()))
    });
}

#[test]
fn a_volume_in_use_is_not_forced_and_foreign_volumes_are_untouched() {
    let mut inst = Instance::new("vol-safe");
    let other = Instance::new("vol-other");
    inst.write("keeper.yaml", &agent("keeper", ""));
    inst.write("d.yaml", &with_volume("d", &policy("policy: Delete"), ""));
    other.write("d.yaml", &with_volume("d", &policy("policy: Delete"), ""));
    assert_exit(&inst.run("apply", &["--wait", "--timeout", "60s"]), 0);
    assert_exit(&other.run("apply", &["--wait", "--timeout", "60s"]), 0);
    let foreign = format!("berth-foreign-{}", inst.name);
    assert_exit(&docker(&["volume", "create", &foreign]), 0);
    inst.foreign_volumes.push(foreign.clone());

    // A container berth does not own mounts the instance's volume.
    let name = inst.volume("agent", "d", "data");
    let squatter = format!("berth-squatter-{}", inst.name);
    assert_exit(
        &docker(&[
            "run",
            "-d",
            "--name",
            &squatter,
            "-v",
            &format!("{name}:/x"),
            IMAGE,
            "sleep",
            "3600",
        ]),
        0,
    );
    inst.foreign.push(squatter.clone());

    inst.remove("d.yaml");
    let apply = inst.run("apply", &[]);
    assert_exit(&apply, 1);
    assert!(
        stdout(&apply).contains("conflict"),
        "the engine's 409 is reported: {}",
        stdout(&apply)
    );
    assert!(
        inst.volumes().contains(&name),
        "a volume in use is not forced"
    );
    assert!(inspect(&squatter).unwrap().running);

    let _ = docker(&["rm", "-f", &squatter]);
    assert_exit(&inst.run("apply", &[]), 0);
    assert!(!inst.volumes().contains(&name), "removed once free");
    assert_eq!(
        other.volumes(),
        [other.volume("agent", "d", "data")],
        "another instance's volume is untouched"
    );
    assert_exit(&docker(&["volume", "inspect", &foreign]), 0);
}

trait OkOrDefault<T> {
    fn ok_or_default(self) -> Result<T, String>;
}

impl<T> OkOrDefault<T> for Option<T> {
    fn ok_or_default(self) -> Result<T, String> {
        self.ok_or_else(|| "not yet".to_string())
    }
}

#[test]
fn host_mounts_work_only_where_the_policy_allows_them() {
    let inst = Instance::new("vol-host");
    let shared = tempfile::tempdir().unwrap();
    std::fs::write(shared.path().join("hello"), "from the host\n").unwrap();
    let host = shared.path().canonicalize().unwrap().display().to_string();
    let reader = format!(
        "apiVersion: berth/v1\nkind: Agent\nmetadata: {{ name: r }}\nspec:\n  image: {IMAGE}\n  command: [sh, -c, 'cat /host/hello; exec sleep 3600']\n  stopGracePeriod: 1s\n  hostMounts: [ {{ hostPath: \"{host}\", mountPath: /host }} ]\n"
    );
    inst.write("r.yaml", &reader);

    // The built-in restricted profile allows no host path: refused before any engine call.
    let refused = inst.run("apply", &[]);
    assert_exit(&refused, 1);
    assert!(
        stderr(&refused).contains("spec.hostMounts[0].hostPath: policy: allowedHostPaths"),
        "{}",
        stderr(&refused)
    );
    assert!(inst.containers().is_empty());

    // A Policy that lists the directory admits it; the mount is read-only by default.
    let policy = inst.write_policy(&format!("  allowedHostPaths: [\"{host}\"]\n"));
    assert_exit(
        &inst.run(
            "apply",
            &["--policy", &policy, "--wait", "--timeout", "60s"],
        ),
        0,
    );
    let id = inst.container("r").id;
    assert_eq!(stdout(&docker(&["logs", &id])), "from the host\n");
    let write = docker(&["exec", &id, "sh", "-c", "echo x > /host/new"]);
    assert!(
        !write.status.success(),
        "host mounts are read-only unless readOnly: false"
    );
}
