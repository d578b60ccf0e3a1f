//! Resource metrics and alerts on the real engine: a memory hog crosses 90 % of its limit
//! and the alert fires (log, `/status`, a webhook received by a local server) and resolves
//! once it frees the memory; an OOM-killed container says `OOMKilled`; `/metrics` tracks
//! the bytes a container received; `berth top` prints each running object.

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::util::*;

/// A local HTTP server that answers 200 to every POST and keeps the JSON bodies.
struct Receiver {
    port: u16,
    bodies: Arc<Mutex<Vec<Value>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let kept = bodies.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream);
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_ok() {
                    if let Ok(v) = serde_json::from_slice(&body) {
                        kept.lock().unwrap().push(v);
                    }
                }
                let mut s = reader.into_inner();
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        Receiver { port, bodies }
    }

    fn statuses(&self) -> Vec<(String, String)> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .map(|b| {
                (
                    b["status"].as_str().unwrap_or("").to_string(),
                    b["alerts"][0]["labels"]["alertname"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                )
            })
            .collect()
    }
}

/// A metric's value: of the object's series, or (with `object` empty) the unlabelled one.
fn metric(d: &Daemon, name: &str, object: &str) -> Option<f64> {
    let (_, text) = http_get(d.port, "/metrics")?;
    let wanted = |l: &&str| match object {
        "" => l
            .strip_prefix(name)
            .is_some_and(|rest| rest.starts_with(' ')),
        _ => l.starts_with(name) && l.contains(&format!("name=\"{object}\"")),
    };
    text.lines()
        .find(wanted)
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn a_memory_hog_fires_an_alert_everywhere_and_it_resolves_when_memory_is_freed() {
    let inst = Instance::new("mon-hog");
    inst.write(
        "hog.yaml",
        "apiVersion: berth/v1\nkind: Agent\nmetadata: { name: hog, labels: { user: usr-123 } }\nspec:\n  image: berth-runtime:1\n  command: [sh, -c, \"busybox dd if=/dev/zero of=/tmp/fill bs=1M count=58 2>/dev/null; while [ ! -f /tmp/free ]; do sleep 1; done; rm /tmp/fill; sleep 3600\"]\n  resources: { memory: 64Mi }\n  tmpfs: [ { mountPath: /tmp, size: 100Mi } ]\n  stopGracePeriod: 1s\n  alerts: { memory: { above: 90%, for: 2s } }\n",
    );
    let hook = Receiver::start();
    let url = format!("http://127.0.0.1:{}/alerts", hook.port);
    let d = Daemon::start(
        &inst,
        &[
            "--stats-interval",
            "1s",
            "--metric-labels",
            "user",
            "--alert-webhook",
            &url,
        ],
    );
    let o = d.wait_object("the memory alert fires", "agent", "hog", |o| {
        o["alerts"].as_array().is_some_and(|a| !a.is_empty())
    });
    let alert = &o["alerts"][0];
    assert_eq!(alert["name"], "memory");
    let message = alert["message"].as_str().unwrap();
    assert!(message.contains("of its 64Mi"), "{message}");
    assert!(
        d.log_text().contains("alert firing: memory at"),
        "{}",
        d.log_text()
    );
    wait_for("the webhook receives it", || {
        match hook
            .statuses()
            .contains(&("firing".into(), "BerthMemoryHigh".into()))
        {
            true => Ok(()),
            false => Err(format!("{:?}", hook.statuses())),
        }
    });
    let firing = hook.bodies.lock().unwrap()[0].clone();
    assert_eq!(firing["version"], "4");
    assert_eq!(
        firing["alerts"][0]["labels"]["label_user"], "usr-123",
        "{firing:#}"
    );
    let gauge = metric(&d, "berth_alerts_firing", "hog");
    assert_eq!(gauge, Some(1.0));
    // The hog frees its memory: the alert resolves, everywhere.
    let id = inst.container("hog").id;
    assert!(docker(&["exec", &id, "touch", "/tmp/free"])
        .status
        .success());
    d.wait_object("the alert resolves", "agent", "hog", |o| {
        o["alerts"].is_null()
    });
    wait_for("the webhook hears it resolved", || {
        match hook
            .statuses()
            .contains(&("resolved".into(), "BerthMemoryHigh".into()))
        {
            true => Ok(()),
            false => Err(format!("{:?}", hook.statuses())),
        }
    });
    assert!(d.log_text().contains("alert resolved"));
}

#[test]
fn an_oom_killed_container_says_oomkilled() {
    let inst = Instance::new("mon-oom");
    inst.write(
        "oom.yaml",
        "apiVersion: berth/v1\nkind: Agent\nmetadata: { name: oom }\nspec:\n  image: berth-runtime:1\n  command: [busybox, dd, if=/dev/zero, of=/tmp/fill, bs=1M, count=64]\n  resources: { memory: 16Mi }\n  tmpfs: [ { mountPath: /tmp, size: 100Mi } ]\n  restart: { policy: Never }\n",
    );
    let d = Daemon::start(&inst, &["--stats-interval", "1s", "--resync", "1s"]);
    let o = d.wait_object("the OOM kill is reported", "agent", "oom", |o| {
        o["lastError"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("OOMKilled"))
    });
    assert_eq!(o["phase"], "Failed", "{o:#}");
    assert!(o["lastError"]["message"]
        .as_str()
        .unwrap()
        .contains("its limit is 16Mi"));
    wait_for("the OOM counter", || {
        match metric(&d, "berth_container_oom_events_total", "oom") {
            Some(n) if n >= 1.0 => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
    // Later passes (a resync a second) keep calling it an OOM kill.
    let passes = metric(&d, "berth_reconciles_total", "").unwrap_or(0.0);
    wait_for("three more passes", || {
        match metric(&d, "berth_reconciles_total", "") {
            Some(n) if n >= passes + 3.0 => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
    let o = d.object("agent", "oom").unwrap();
    assert!(
        o["lastError"]["message"]
            .as_str()
            .unwrap()
            .starts_with("OOMKilled"),
        "{o:#}"
    );
    assert!(
        !d.log_text().contains("killed: SIGKILL or out of memory"),
        "{}",
        d.log_text()
    );
    let described = inst.berth("describe", &["agent/oom"]);
    assert!(
        stdout(&described).contains("OOMKilled"),
        "{}",
        stdout(&described)
    );
}

#[test]
fn the_metrics_track_the_bytes_a_container_received_and_top_shows_it() {
    let inst = Instance::new("mon-rx");
    inst.write(
        "rx.yaml",
        "apiVersion: berth/v1\nkind: Agent\nmetadata: { name: sink, labels: { team: a } }\nspec:\n  image: berth-runtime:1\n  command: [sh, -c, \"nc -l -p 9000 > /dev/null; sleep 3600\"]\n  stopGracePeriod: 1s\n",
    );
    let d = Daemon::start(
        &inst,
        &["--stats-interval", "1s", "--metric-labels", "team"],
    );
    d.wait_object("sink runs", "agent", "sink", |o| o["phase"] == "Running");
    let before = wait_for("a first reading", || {
        metric(&d, "berth_container_network_receive_bytes_total", "sink")
            .ok_or_else(|| "none".to_string())
    });
    let id = inst.container("sink").id;
    let ip = stdout(&docker(&[
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
        &id,
    ]))
    .trim()
    .to_string();
    let payload = vec![b'x'; 300_000];
    let mut s = wait_for("nc listens", || {
        std::net::TcpStream::connect((ip.as_str(), 9000)).map_err(|e| e.to_string())
    });
    s.write_all(&payload).unwrap();
    drop(s);
    wait_for("the received bytes are counted", || {
        match metric(&d, "berth_container_network_receive_bytes_total", "sink") {
            Some(n) if n >= before + 300_000.0 => Ok(()),
            other => Err(format!("{other:?} (before {before})")),
        }
    });
    let (_, text) = http_get(d.port, "/metrics").unwrap();
    assert!(
        text.contains("berth_container_memory_working_set_bytes{kind=\"agent\",name=\"sink\",label_team=\"a\"}"),
        "{text}"
    );
    let top = inst.berth("top", &["-l", "team=a"]);
    assert_exit(&top, 0);
    let out = stdout(&top);
    assert!(out.starts_with("NAME   KIND    CPU"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("sink   agent")), "{out}");
    let none = inst.berth("top", &["-l", "team=b"]);
    assert_eq!(
        stdout(&none).lines().count(),
        1,
        "only the header: {}",
        stdout(&none)
    );
}

#[test]
fn a_crash_looping_agent_fires_the_policys_restarts_alert() {
    let inst = Instance::new("mon-restarts");
    inst.write(
        "flappy.yaml",
        "apiVersion: berth/v1\nkind: Agent\nmetadata: { name: flappy }\nspec:\n  image: berth-runtime:1\n  command: [sh, -c, \"sleep 1; exit 3\"]\n  restart: { policy: Always, backoff: { initial: 1s, max: 1s } }\n",
    );
    // The rule comes from the Policy: the agent says nothing of alerts.
    let policy = inst.write_policy("  alerts:\n    restarts: { above: 1, within: 10m }");
    let d = Daemon::start(&inst, &["--policy", &policy, "--stats-interval", "1s"]);
    let o = d.wait_object(
        "the Policy's restarts alert fires",
        "agent",
        "flappy",
        |o| {
            o["alerts"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x["name"] == "restarts"))
        },
    );
    let alert = o["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "restarts")
        .unwrap()
        .clone();
    assert!(
        alert["message"]
            .as_str()
            .unwrap()
            .ends_with("restarts within 10m (above 1)"),
        "{alert:#}"
    );
    assert!(d.log_text().contains("alert firing: "), "{}", d.log_text());
}
