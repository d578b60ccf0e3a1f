//! `berth logs KIND/NAME`: the container's stdout and stderr on berth's own, `--tail`,
//! `--since`, `--timestamps`, and `-f` until the container stops.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use crate::util::*;

/// An Agent whose command is `script` (run by `sh -c`).
fn shell_agent(name: &str, script: &str) -> String {
    format!(
        "apiVersion: berth/v1\nkind: Agent\nmetadata: {{ name: {name} }}\nspec:\n  image: {IMAGE}\n  command: [sh, -c, {script:?}]\n  stopGracePeriod: 1s\n  restart: {{ policy: Never }}\n"
    )
}

/// `berth logs` once `want` shows in its stdout.
fn logs_showing(inst: &Instance, args: &[&str], want: &str) -> std::process::Output {
    wait_for(&format!("{want:?} in berth logs {args:?}"), || {
        let o = inst.berth("logs", args);
        if stdout(&o).contains(want) {
            Ok(o)
        } else {
            Err(format!("{}{}", stdout(&o), stderr(&o)))
        }
    })
}

#[test]
fn logs_show_stdout_and_stderr_apart_with_tail_and_timestamps() {
    let inst = Instance::new("logs-tail");
    // stderr first, then a pause, so the engine's log holds them in this order.
    inst.write(
        "a.yaml",
        &shell_agent(
            "echo",
            "echo to-stderr >&2; sleep 1; echo line-1; echo line-2; echo line-3; exec sleep 3600",
        ),
    );
    assert_exit(&inst.run("apply", &["--wait", "--timeout", "60s"]), 0);
    let all = logs_showing(&inst, &["agent/echo"], "line-3");
    assert_exit(&all, 0);
    assert_eq!(stdout(&all), "line-1\nline-2\nline-3\n");
    assert_eq!(stderr(&all), "to-stderr\n");

    let tail = inst.berth("logs", &["agents/echo", "--tail", "2"]);
    assert_exit(&tail, 0);
    assert_eq!(stdout(&tail), "line-2\nline-3\n");
    assert_eq!(stderr(&tail), "");

    let stamped = inst.berth("logs", &["agent/echo", "-n", "1", "--timestamps"]);
    assert_exit(&stamped, 0);
    let line = stdout(&stamped);
    let (time, text) = line.trim_end().split_once(' ').unwrap();
    assert_eq!(text, "line-3");
    assert!(
        humantime::parse_rfc3339(time).is_ok(),
        "an RFC 3339 timestamp: {line:?}"
    );

    let none = inst.berth("logs", &["agent/nobody"]);
    assert_exit(&none, 1);
    assert_eq!(
        stderr(&none),
        format!(
            "agent/nobody has no container in instance {:?} (not created yet, removed, or not declared: see berth get)\n",
            inst.name
        )
    );
    let volume = inst.berth("logs", &["volume/x"]);
    assert_exit(&volume, 64);
}

#[test]
fn logs_since_a_duration_or_a_time() {
    let inst = Instance::new("logs-since");
    inst.write(
        "a.yaml",
        &shell_agent(
            "tick",
            "while true; do echo tick-$(date +%s); sleep 1; done",
        ),
    );
    assert_exit(&inst.run("apply", &["--wait", "--timeout", "60s"]), 0);
    let ticks = |o: &std::process::Output| -> Vec<u64> {
        stdout(o)
            .lines()
            .filter_map(|l| l.strip_prefix("tick-")?.parse().ok())
            .collect()
    };
    // Until the first tick is more than four seconds old (the container's own clock is the
    // host's).
    let all = wait_for("ticks four seconds apart", || {
        let o = inst.berth("logs", &["agent/tick"]);
        let t = ticks(&o);
        match (t.first(), t.last()) {
            (Some(first), Some(last)) if last - first >= 4 => Ok(t),
            _ => Err(stdout(&o)),
        }
    });
    let first = all[0];
    let hour = ticks(&inst.berth("logs", &["agent/tick", "--since", "1h"]));
    assert_eq!(hour[0], first, "an hour back reaches the first tick");
    let recent = ticks(&inst.berth("logs", &["agent/tick", "--since", "2s"]));
    assert!(
        !recent.is_empty() && recent[0] > first,
        "two seconds back leaves the first tick out: {recent:?}"
    );
    let at = humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(first + 2),
    )
    .to_string();
    let since_time = ticks(&inst.berth("logs", &["agent/tick", "--since", &at]));
    assert!(
        since_time
            .first()
            .is_some_and(|t| *t > first && *t <= first + 3),
        "since {at}: {since_time:?} (first tick {first})"
    );
    let bad = inst.berth("logs", &["agent/tick", "--since", "yesterday"]);
    assert_exit(&bad, 64);
}

#[test]
fn logs_follow_until_the_container_stops() {
    let inst = Instance::new("logs-follow");
    inst.write(
        "a.yaml",
        &shell_agent(
            "once",
            "echo started; while [ ! -e /tmp/stop ]; do sleep 0.1; done; echo stopping",
        ),
    );
    assert_exit(&inst.run("apply", &["--wait", "--timeout", "60s"]), 0);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
    cmd.args(["logs", "--instance", &inst.name, "-f", "agent/once"])
        .env_remove("BERTH_INSTANCE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    via_test_engine(&mut cmd);
    let mut child = cmd.spawn().unwrap();
    let seen = Arc::new(Mutex::new(String::new()));
    let reader = {
        let seen = seen.clone();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let mut s = seen.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        })
    };
    wait_for("the first line, followed", || {
        let s = seen.lock().unwrap().clone();
        if s.contains("started") {
            Ok(())
        } else {
            Err(s)
        }
    });
    assert!(
        child.try_wait().unwrap().is_none(),
        "berth logs -f still follows a running container"
    );
    let id = inst.container("once").id;
    assert!(docker(&["exec", &id, "touch", "/tmp/stop"])
        .status
        .success());
    let status = wait_for("berth logs -f to end with the container", || {
        child
            .try_wait()
            .unwrap()
            .ok_or_else(|| seen.lock().unwrap().clone())
    });
    reader.join().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(*seen.lock().unwrap(), "started\nstopping\n");
}
