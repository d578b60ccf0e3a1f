//! The command line itself: usage errors, messages for an engine that cannot be reached,
//! `NO_COLOR`, shell completions, the man page, `berth version`, and what `berth run` refuses
//! at startup.

use std::process::Command;

use crate::util::*;

/// berth with only `env` set (no DOCKER_HOST from the suite).
fn berth_env(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
    cmd.args(args).env_remove("BERTH_INSTANCE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run berth")
}

/// A `tcp://` address where nothing listens printed hyper's layers ("Error in the hyper
/// legacy client: client error (Connect): tcp connect error: ...").
#[test]
fn an_engine_that_refuses_the_connection_is_one_clear_line() {
    let port = free_port();
    let host = format!("tcp://127.0.0.1:{port}");
    let o = berth_env(&["get", "--instance", "it-cli-tcp"], &[("DOCKER_HOST", &host)]);
    assert_exit(&o, 2);
    assert_eq!(
        stderr(&o),
        format!("error: cannot connect to the engine at {host}: connection refused\n")
    );
}

/// A socket berth's user may not open said only "Permission denied (os error 13)".
#[test]
fn a_socket_berth_may_not_open_says_what_to_do() {
    let o = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_berth"))
        .args(["get", "--instance", "it-cli-perm"])
        .env("DOCKER_HOST", "unix:///var/run/docker.sock")
        .output()
        .expect("setpriv (util-linux)");
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(
        err.starts_with(
            "error: cannot connect to the engine at unix:///var/run/docker.sock: permission denied: "
        ) && err.contains("root-equivalent")
            && err.contains("socket proxy")
            && err.contains("docs/proxy.md"),
        "{err}"
    );
    let missing = berth_env(
        &["get", "--instance", "it-cli-perm"],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert_exit(&missing, 2);
    assert_eq!(
        stderr(&missing),
        "error: cannot connect to the engine at unix:///nonexistent/docker.sock: no such socket: is the engine running? DOCKER_HOST says where berth looks\n"
    );
}
