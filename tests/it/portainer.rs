//! Portainer mode against a stand-in front (HAProxy) that requires the API key and serves the
//! Docker API under `/api/endpoints/{id}/docker`: every request must carry both.

use std::process::{Command, Output};

use crate::haproxy::*;
use crate::util::*;

const KEY: &str = "ptr_berth-test-key";

/// `berth <args> --portainer-url ... --portainer-endpoint 7` with the key in the environment.
fn berth_portainer(front: &Haproxy, args: &[&str], key: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
    c.args(args)
        .args(["--portainer-url", &front.url(), "--portainer-endpoint", "7"])
        .env_remove("BERTH_INSTANCE")
        .env_remove("PORTAINER_API_KEY")
        // Portainer mode must not fall back to DOCKER_HOST.
        .env("DOCKER_HOST", "tcp://127.0.0.1:1")
        // Never the host's default state directory.
        .env("BERTH_STATE_DIR", test_state_dir());
    if let Some(k) = key {
        c.env("PORTAINER_API_KEY", k);
    }
    c.output().expect("run berth")
}

#[test]
fn apply_get_run_and_down_through_portainer() {
    let front = Haproxy::portainer_front(7, KEY);
    let inst = Instance::new("ptr");
    inst.write("a.yaml", &agent("a", ""));
    let dir = inst.path_str();

    let apply = berth_portainer(
        &front,
        &[
            "apply",
            "--instance",
            &inst.name,
            "--wait",
            "--timeout",
            "60s",
            &dir,
        ],
        Some(KEY),
    );
    assert_exit(&apply, 0);
    assert!(inst.container("a").running);
    let get = berth_portainer(&front, &["get", "--instance", &inst.name], Some(KEY));
    assert_exit(&get, 0);
    assert!(
        stderr(&get).contains(&format!("at {}/api/endpoints/7/docker", front.url())),
        "{}",
        stderr(&get)
    );
    let doctor = berth_portainer(&front, &["doctor", "--instance", &inst.name], Some(KEY));
    assert_exit(&doctor, 0);

    // berth run, with the key in a file; the event stream goes through the prefix too.
    let key_file = inst.state.path().join("portainer.key");
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    let url = front.url();
    let key_path = key_file.display().to_string();
    let d = Daemon::start_with_env(
        &inst,
        &[
            "--portainer-url",
            &url,
            "--portainer-endpoint",
            "7",
            "--portainer-api-key-file",
            &key_path,
        ],
        &[
            ("DOCKER_HOST", "tcp://127.0.0.1:1"),
            ("PORTAINER_API_KEY", ""),
        ],
    );
    let before = inst.container("a");
    assert_exit(&docker(&["kill", &before.id]), 0);
    d.wait_object("a restarted", "agent", "a", |o| {
        o["restarts"] == 1 && o["phase"] == "Running"
    });
    assert!(
        !d.log_text().contains("no engine events"),
        "{}",
        d.log_text()
    );
    drop(d);

    let down = berth_portainer(&front, &["down", "--instance", &inst.name], Some(KEY));
    assert_exit(&down, 0);
    assert!(inst.containers().is_empty());
    let log = front.log_text();
    assert!(
        log.contains("POST /api/endpoints/7/docker/containers/create"),
        "{log}"
    );
    assert!(
        !log.contains(" 401 "),
        "no request went without the key:\n{log}"
    );
}

#[test]
fn a_wrong_or_missing_key_is_a_clear_error() {
    let front = Haproxy::portainer_front(7, KEY);
    let inst = Instance::new("ptr-401");
    let wrong = berth_portainer(&front, &["get", "--instance", &inst.name], Some("nope"));
    assert_exit(&wrong, 2);
    assert_eq!(
        stderr(&wrong),
        format!(
            "error: GET /version: {}/api/endpoints/7/docker refused the API key (401 Unauthorized: Invalid API key): check PORTAINER_API_KEY or --portainer-api-key-file\n",
            front.url()
        )
    );
    let doctor = berth_portainer(&front, &["doctor", "--instance", &inst.name], Some("nope"));
    assert_exit(&doctor, 1);

    let missing = berth_portainer(&front, &["get", "--instance", &inst.name], None);
    assert_exit(&missing, 2);
    assert_eq!(
        stderr(&missing),
        "error: Portainer mode needs an API key: set PORTAINER_API_KEY or --portainer-api-key-file\n"
    );

    // A wrong environment id: the front knows no such prefix.
    let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
    let other = c
        .args(["get", "--instance", &inst.name])
        .args(["--portainer-url", &front.url(), "--portainer-endpoint", "8"])
        .env("PORTAINER_API_KEY", KEY)
        .output()
        .unwrap();
    assert_exit(&other, 2);
    assert!(
        stderr(&other).contains("Unable to find an environment with the specified identifier"),
        "{}",
        stderr(&other)
    );
}
