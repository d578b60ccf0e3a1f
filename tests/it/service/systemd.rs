//! deploy/systemd/: `systemd-analyze verify` and `security` on both units, and their
//! command lines run the way systemd runs them — a clean environment with the units'
//! `Environment=`, `NOTIFY_SOCKET` at a datagram socket the test binds, `WATCHDOG_USEC` —
//! with the install paths swapped for the test's. No systemd runs here as PID 1, so the
//! sandboxing directives themselves are checked by `systemd-analyze`, not exercised.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::unit::Unit;
use super::Running;
use crate::util::{assert_exit, repo, stderr, stdout, wait_for, Instance};

const BERTH: &str = env!("CARGO_BIN_EXE_berth");

fn unit(name: &str) -> Unit {
    Unit::read(&repo(&format!("deploy/systemd/{name}")))
}

fn systemd_analyze(args: &[&str]) -> std::process::Output {
    Command::new("systemd-analyze").args(args).output().expect(
        "systemd-analyze (Debian package systemd): run `bash scripts/ensure-tools.sh` as root",
    )
}

#[test]
fn both_units_pass_systemd_analyze_verify_and_security() {
    let dir = tempfile::tempdir().unwrap();
    let script = repo("scripts/socket-proxy.sh").display().to_string();
    // verify wants the executables to exist: the binary under test, the repository's script.
    let units = [
        ("berth.service", ("/usr/local/bin/berth", BERTH)),
        (
            "berth-socket-proxy.service",
            ("/usr/local/lib/berth/socket-proxy.sh", script.as_str()),
        ),
    ];
    let mut paths = Vec::new();
    for (name, sub) in units {
        let p = dir.path().join(name);
        std::fs::write(&p, unit(name).substituted(&[sub]).text).unwrap();
        paths.push(p.display().to_string());
    }
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();

    let mut args = vec!["verify"];
    args.extend(&paths);
    let o = systemd_analyze(&args);
    assert_exit(&o, 0);
    // verify exits 0 on unknown keys and bad values too, and only says so.
    let said = stderr(&o);
    let ours: Vec<&str> = said.lines().filter(|l| l.contains("berth")).collect();
    assert!(ours.is_empty(), "systemd-analyze verify:\n{said}");

    // An exposure score over 2.0 (of 10) fails: loosening the sandbox shows here.
    let mut args = vec!["security", "--offline=yes", "--no-pager", "--threshold=20"];
    args.extend(&paths);
    let o = systemd_analyze(&args);
    let all = format!("{}{}", stdout(&o), stderr(&o));
    let scores: Vec<&str> = all
        .lines()
        .filter(|l| l.contains("Overall exposure level"))
        .collect();
    assert_exit(&o, 0);
    assert_eq!(scores.len(), 2, "{all}");
    eprintln!("{}", scores.join("\n"));

    let berth = unit("berth.service");
    for (key, value) in [
        ("Type", "notify"),
        ("NotifyAccess", "main"),
        ("Restart", "always"),
        ("StateDirectory", "berth"),
        ("User", "berth"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("CapabilityBoundingSet", ""),
        ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
    ] {
        assert!(
            berth.values(key).iter().any(|v| v == value),
            "berth.service: {key}={value} expected, got {:?}",
            berth.values(key)
        );
    }
    assert!(!berth.values("WatchdogSec").is_empty());
    assert!(
        berth.values("SupplementaryGroups").is_empty(),
        "berth is never in the docker group (root on the host): it talks to the proxy"
    );
}

/// The datagrams berth sends to `NOTIFY_SOCKET`.
struct NotifySocket {
    socket: UnixDatagram,
    path: PathBuf,
    got: Vec<String>,
}

impl NotifySocket {
    fn bind(path: PathBuf) -> NotifySocket {
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        NotifySocket {
            socket,
            path,
            got: Vec::new(),
        }
    }

    /// Receives until a message at index `from` or later in [`NotifySocket::got`] for
    /// which `cond` holds; returns its index.
    fn wait_for(
        &mut self,
        from: usize,
        what: &str,
        log: &Path,
        cond: impl Fn(&str) -> bool,
    ) -> usize {
        if let Some(i) = self.got.iter().skip(from).position(|m| cond(m)) {
            return from + i;
        }
        let deadline = Instant::now() + Duration::from_secs(90);
        let mut buf = vec![0u8; 4096];
        loop {
            if let Ok(n) = self.socket.recv(&mut buf) {
                self.got
                    .push(String::from_utf8_lossy(&buf[..n]).trim_end().to_string());
                if cond(self.got.last().unwrap()) {
                    return self.got.len() - 1;
                }
            }
            assert!(
                Instant::now() < deadline,
                "gave up waiting for {what}; got {:#?}\n--- berth's log\n{}",
                self.got,
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
    }
}

/// Starts a unit's `ExecStart=` as systemd would: a clean environment (PATH, the unit's
/// `Environment=`, then `extra`), output into `log`.
fn start(unit: &Unit, extra: &[(&str, &str)], log: &Path) -> Running {
    let argv = unit.exec_start();
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(unit.environment())
        .envs(extra.iter().copied())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(log).unwrap())
        .stderr(std::fs::File::create(log.with_extension("err")).unwrap());
    Running(
        cmd.spawn()
            .unwrap_or_else(|e| panic!("start {argv:?}: {e}")),
    )
}

#[test]
fn the_units_command_lines_converge_the_tree_and_notify_ready_watchdog_and_stopping() {
    let inst = Instance::new("systemd");
    let tmp = tempfile::tempdir().unwrap();
    let path = |p: &str| tmp.path().join(p).display().to_string();

    // berth-socket-proxy.service: RuntimeDirectory= is a directory of the test's, and the
    // socket's group the test's own (the unit's is the berth user's group).
    let run_dir = path("run");
    std::fs::create_dir(&run_dir).unwrap();
    let group = String::from_utf8(Command::new("id").arg("-gn").output().unwrap().stdout)
        .unwrap()
        .trim()
        .to_string();
    let script = repo("scripts/socket-proxy.sh").display().to_string();
    let proxy_unit = unit("berth-socket-proxy.service").substituted(&[
        ("/usr/local/lib/berth/socket-proxy.sh", &script),
        ("/run/berth-socket-proxy", &run_dir),
        ("--unix-group berth", &format!("--unix-group {group}")),
    ]);
    let proxy_log = tmp.path().join("proxy.log");
    let _proxy = start(&proxy_unit, &[], &proxy_log);
    let socket = Path::new(&run_dir).join("engine.sock");
    wait_for("the proxy's socket", || {
        socket.exists().then_some(()).ok_or_else(|| {
            std::fs::read_to_string(proxy_log.with_extension("err")).unwrap_or_default()
        })
    });

    // berth.service: %S is the state root (StateDirectory= creates %S/berth), the manifest
    // tree is the repository's, the status port a free one. /etc/berth/berth.env would name
    // the instance: here the test's own.
    let state_root = path("state");
    std::fs::create_dir_all(Path::new(&state_root).join("berth")).unwrap();
    let port = crate::util::free_port();
    let listen = format!("127.0.0.1:{port}");
    let manifests = repo("manifests").display().to_string();
    let berth_unit = unit("berth.service").substituted(&[
        ("/usr/local/bin/berth", BERTH),
        ("%S", &state_root),
        ("/etc/berth/manifests", &manifests),
        ("/run/berth-socket-proxy", &run_dir),
        ("127.0.0.1:9325", &listen),
    ]);
    let mut notify = NotifySocket::bind(tmp.path().join("notify.sock"));
    let notify_path = notify.path.display().to_string();
    let log = tmp.path().join("berth.log");
    let mut berth = start(
        &berth_unit,
        &[
            ("BERTH_INSTANCE", &inst.name),
            ("NOTIFY_SOCKET", &notify_path),
            ("WATCHDOG_USEC", "2000000"),
        ],
        &log,
    );
    let log = log.with_extension("err");

    let ready = notify.wait_for(0, "READY=1", &log, |m| m.starts_with("READY=1"));
    assert!(
        notify.got[..ready].iter().all(|m| m.starts_with("STATUS=")),
        "before READY=1 only STATUS= lines (no watchdog ping): {:#?}",
        notify.got
    );
    inst.wait_until("the tree's three objects running", |cs| {
        cs.len() == 3 && cs.iter().all(|c| c.running)
    });
    notify.wait_for(ready, "STATUS with every object Running", &log, |m| {
        m == "STATUS=3 object(s): 3 Running"
    });
    // WATCHDOG_USEC=2s: a ping every second while the loop turns.
    let first = notify.wait_for(ready, "a watchdog ping", &log, |m| m == "WATCHDOG=1");
    notify.wait_for(first + 1, "a second ping", &log, |m| m == "WATCHDOG=1");
    let state = Path::new(&state_root)
        .join("berth")
        .join(format!("{}.json", inst.name));
    wait_for("the state file in StateDirectory=", || {
        state.exists().then_some(()).ok_or("missing".to_string())
    });

    let kill = Command::new("kill")
        .args(["-TERM", &berth.0.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let end = notify.got.len();
    notify.wait_for(end, "STOPPING=1", &log, |m| m.starts_with("STOPPING=1"));
    let status = berth.0.wait().unwrap();
    assert!(status.success(), "berth run exited {status}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains(r#""endpoint":"unix://"#),
        "through the proxy's socket: {text}"
    );
}
