//! `berth exec KIND/NAME [-i] [-t] -- CMD...`: the command's output and exit code, stdin
//! with -i, a terminal in raw mode with -it (and restored), 125 for berth's own failures,
//! and what a socket proxy lets through (EXEC=1, and an upgraded connection).

use std::io::Write;
use std::process::{Command, Stdio};

use crate::haproxy::*;
use crate::util::*;

/// berth exec for `inst` (through the suite's engine, so through the proxy in the proxy
/// run), with `input` on stdin.
fn exec(inst: &Instance, args: &[&str], input: Option<&[u8]>) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
    cmd.args(["exec", "--instance", &inst.name])
        .args(args)
        .env_remove("BERTH_INSTANCE")
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    via_test_engine(&mut cmd);
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = input {
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input).unwrap();
    }
    child.wait_with_output().unwrap()
}

/// Whether the suite runs through a socket proxy without EXEC=1 (`make test-proxy`).
fn proxy_without_exec() -> bool {
    std::env::var_os("BERTH_TEST_DOCKER_HOST").is_some()
        && std::env::var("EXEC").ok().as_deref() != Some("1")
}

/// HAProxy 2.4 to 3.0 drop the upgrade of a request with a body (haproxy issue 2684), which
/// an attached exec start needs.
fn haproxy_drops_upgrades() -> bool {
    let v = Command::new("haproxy").arg("-v").output().unwrap();
    let text = stdout(&v);
    let version = text.split_whitespace().nth(2).unwrap_or_default();
    let mut parts = version
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (2, 4) <= (major, minor) && (major, minor) < (3, 1)
}

const NOT_UPGRADED: &str = "the connection was not switched to a stream (101 Switching Protocols): a proxy in front of the engine dropped the upgrade";

#[test]
fn exec_passes_output_and_the_exit_code_through() {
    let inst = Instance::new("exec-codes");
    inst.write("a.yaml", &agent("box", ""));
    assert_exit(&inst.run("apply", &["--wait", "--timeout", "60s"]), 0);
    let o = exec(
        &inst,
        &[
            "agent/box",
            "--",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ],
        None,
    );
    if proxy_without_exec() {
        assert_exit(&o, 125);
        assert_eq!(
            stderr(&o),
            "error: POST /exec/{id}/start was refused by the socket proxy: enable POST=1 and EXEC=1\n"
        );
        return;
    }
    assert_exit(&o, 3);
    assert_eq!(stdout(&o), "out\n");
    assert_eq!(stderr(&o), "err\n");

    // No `--` is needed when the command's flags cannot be taken for berth's.
    let o = exec(&inst, &["agents/box", "echo", "-n", "x"], None);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "x");

    // The engine's own code for a command that cannot start (Docker: 126, Podman: 127).
    let o = exec(&inst, &["agent/box", "--", "no-such-command"], None);
    assert!(matches!(o.status.code(), Some(126 | 127)), "{o:?}");
    assert!(
        format!("{}{}", stdout(&o), stderr(&o)).contains("no-such-command"),
        "{o:?}"
    );

    // -i: stdin goes to the command, and its end closes the command's stdin.
    let o = exec(
        &inst,
        &["-i", "agent/box", "--", "wc", "-l"],
        Some(b"a\nb\nc\n"),
    );
    assert_exit(&o, 0);
    assert_eq!(stdout(&o).trim(), "3");

    // -it without a terminal on stdin is refused before anything runs.
    let o = exec(&inst, &["-it", "agent/box", "--", "sh"], Some(b""));
    assert_exit(&o, 125);
    assert!(
        stderr(&o).contains("-it needs a terminal on stdin"),
        "{o:?}"
    );
}

#[test]
fn exec_without_a_running_container_is_125() {
    let inst = Instance::new("exec-none");
    inst.write("a.yaml", &agent("idle", "  state: Stopped\n"));
    assert_exit(&inst.run("apply", &[]), 0);
    let o = exec(&inst, &["agent/idle", "--", "true"], None);
    assert_exit(&o, 125);
    assert!(
        stderr(&o).starts_with(
            "error: agent/idle is not running (Created): berth exec needs a running container"
        ),
        "{}",
        stderr(&o)
    );
    let o = exec(&inst, &["session/none", "--", "true"], None);
    assert_exit(&o, 125);
    assert!(stderr(&o).contains("session/none has no container in instance"));
}

#[test]
fn exec_it_runs_on_a_raw_terminal_and_restores_it() {
    let inst = Instance::new("exec-tty");
    inst.write("a.yaml", &agent("box", ""));
    assert_exit(&inst.run("apply", &["--wait", "--timeout", "60s"]), 0);
    if proxy_without_exec() {
        return; // refused as in exec_passes_output_and_the_exit_code_through
    }
    let berth_it = |cmd: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
        c.args(["exec", "-it", "--instance", &inst.name, "agent/box", "--"])
            .args(cmd)
            .env_remove("BERTH_INSTANCE");
        via_test_engine(&mut c);
        crate::pty::Pty::spawn(c)
    };
    let mut shell = berth_it(&["sh"]);
    assert!(shell.is_cooked());
    shell.wait_for_output("# ");
    assert!(!shell.is_cooked(), "raw while the command runs");
    // A carriage return, as a terminal in raw mode sends Enter.
    shell.type_in(b"tty; echo $((6 * 7)); exit 5\r");
    let status = shell.wait();
    assert_eq!(status.code(), Some(5), "{}", shell.output());
    let out = shell.output();
    assert!(
        out.contains("/dev/pts/"),
        "the command has a terminal: {out:?}"
    );
    assert!(out.contains("42"), "{out:?}");
    assert!(
        shell.is_cooked(),
        "the terminal is restored after the command"
    );

    // Restored when berth is told to stop (exit 128 + SIGTERM).
    let mut stopped = berth_it(&["sh"]);
    stopped.wait_for_output("# ");
    assert!(!stopped.is_cooked());
    stopped.signal("TERM");
    assert_eq!(stopped.wait().code(), Some(143), "{}", stopped.output());
    assert!(
        stopped.is_cooked(),
        "the terminal is restored after SIGTERM"
    );

    // Restored on a failure too.
    let mut failing = berth_it(&["no-such-command"]);
    let status = failing.wait();
    assert!(
        matches!(status.code(), Some(126 | 127)),
        "{}",
        failing.output()
    );
    assert!(
        failing.is_cooked(),
        "the terminal is restored after a failure"
    );
}

#[test]
fn exec_through_a_socket_proxy_needs_exec_and_an_upgraded_connection() {
    let inst = Instance::new("exec-proxy");
    inst.write("a.yaml", &agent("box", ""));
    assert_exit(&inst.run("apply", &["--wait", "--timeout", "60s"]), 0);
    let via = |proxy: &Haproxy| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
        cmd.args([
            "exec",
            "--instance",
            &inst.name,
            "agent/box",
            "--",
            "echo",
            "hi",
        ])
        .env_remove("BERTH_INSTANCE")
        .env("DOCKER_HOST", proxy.docker_host());
        cmd.output().unwrap()
    };
    let minimal = Haproxy::socket_proxy(MINIMAL);
    let o = via(&minimal);
    assert_exit(&o, 125);
    assert!(
        stderr(&o).contains("enable POST=1 and EXEC=1"),
        "{}",
        stderr(&o)
    );

    let mut flags = MINIMAL.to_vec();
    flags.push("EXEC");
    let with_exec = Haproxy::socket_proxy(&flags);
    let o = via(&with_exec);
    if haproxy_drops_upgrades() {
        assert_exit(&o, 125);
        assert!(stderr(&o).contains(NOT_UPGRADED), "{}", stderr(&o));
    } else {
        assert_exit(&o, 0);
        assert_eq!(stdout(&o), "hi\n");
    }
}
