//! What berth absorbs on Podman. These run only against `podman system service` (they are
//! ignored otherwise): `make test-podman` runs them with a subset of the whole suite.

use crate::util::*;

fn require_podman() {
    let host = test_engine_host().unwrap_or_default();
    let v = docker(&[
        "version",
        "--format",
        "{{.Server.Platform.Name}} {{range .Server.Components}}{{.Name}} {{end}}",
    ]);
    assert!(
        stdout(&v).contains("Podman"),
        "BERTH_TEST_ENGINE={host:?} is not Podman: run these with `make test-podman`\n{}",
        stderr(&v)
    );
}

#[test]
#[ignore = "needs Podman: make test-podman"]
fn doctor_and_get_name_podman_and_images_read_as_written() {
    require_podman();
    let inst = Instance::new("pm-get");
    inst.write("a.yaml", &agent("a", ""));
    assert_exit(&inst.run("apply", &["--wait", "--timeout", "60s"]), 0);
    let doctor = inst.berth("doctor", &[]);
    assert_exit(&doctor, 0);
    assert!(
        stdout(&doctor).contains("engine     Podman 4."),
        "{}",
        stdout(&doctor)
    );
    let get = inst.berth("get", &["-o", "json"]);
    let table = inst.berth("get", &[]);
    assert!(
        stderr(&table).starts_with("engine: Podman "),
        "{}",
        stderr(&table)
    );
    let rows: serde_json::Value = serde_json::from_slice(&get.stdout).unwrap();
    assert_eq!(
        rows[0]["image"], IMAGE,
        "Podman's localhost/ prefix is not shown for a name the manifest wrote without it"
    );
}

#[test]
#[ignore = "needs Podman: make test-podman"]
fn a_name_conflict_is_a_conflict_and_the_stranger_is_untouched() {
    require_podman();
    let mut inst = Instance::new("pm-conflict");
    let name = format!("berth_{}_agent_a", inst.name);
    assert_exit(
        &docker(&["run", "-d", "--name", &name, IMAGE, "sleep", "3600"]),
        0,
    );
    inst.foreign.push(name.clone());
    let before = inspect(&name).unwrap();
    inst.write("a.yaml", &agent("a", ""));
    let apply = inst.run("apply", &[]);
    assert_exit(&apply, 1);
    assert!(
        stdout(&apply).contains("FAILED [infrastructure]: POST /containers/create: conflict:"),
        "Podman's 500 for a name in use reads as a conflict: {}",
        stdout(&apply)
    );
    assert_eq!(inspect(&name).unwrap(), before);
}

#[test]
#[ignore = "needs Podman: make test-podman"]
fn a_crash_is_seen_with_its_exit_code_and_restarted() {
    require_podman();
    let inst = Instance::new("pm-crash");
    inst.write(
        "a.yaml",
        &format!(
            "apiVersion: berth/v1\nkind: Agent\nmetadata: {{ name: c }}\nspec:\n  image: {IMAGE}\n  command: [sh, -c, \"sleep 1; exit 7\"]\n  restart: {{ policy: OnFailure, backoff: {{ initial: 30s }} }}\n"
        ),
    );
    let d = Daemon::start(&inst, &[]);
    // The die event carries the exit code as containerExitCode on Podman.
    let o = d.wait_object("the exit is recorded", "agent", "c", |o| {
        o["lastError"]["message"] == "exited with code 7"
    });
    assert_eq!(o["lastError"]["class"], "workload");
    assert_eq!(o["phase"], "CrashLoopBackOff");
}

#[test]
#[ignore = "needs Podman: make test-podman"]
fn an_isolated_network_on_podman() {
    require_podman();
    let inst = Instance::new("pm-net");
    inst.write("a.yaml", &agent("a", "  network: internal\n"));
    assert_exit(&inst.run("apply", &["--wait", "--timeout", "60s"]), 0);
    let net = format!("berth_{}_agent_a", inst.name);
    let o = docker(&["network", "inspect", "--format", "{{.Internal}}", &net]);
    assert_eq!(stdout(&o).trim(), "true");
    assert_exit(&inst.berth("down", &[]), 0);
    assert!(!docker(&["network", "inspect", &net]).status.success());
}
