//! HAProxy-based fixtures: the socket proxy (scripts/socket-proxy.sh, the rules of
//! tecnativa/docker-socket-proxy) on a free loopback port, and a Portainer stand-in (over
//! HTTP or HTTPS). Each is stopped when dropped.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use crate::util::*;

/// Every flag the proxy knows; a test names the ones it enables, the rest are off.
const ALL_FLAGS: &[&str] = &[
    "AUTH",
    "BUILD",
    "COMMIT",
    "CONFIGS",
    "CONTAINERS",
    "DISTRIBUTION",
    "EVENTS",
    "EXEC",
    "GRPC",
    "IMAGES",
    "INFO",
    "NETWORKS",
    "NODES",
    "PING",
    "PLUGINS",
    "SECRETS",
    "SERVICES",
    "SESSION",
    "SWARM",
    "SYSTEM",
    "TASKS",
    "VERSION",
    "VOLUMES",
    "POST",
    "ALLOW_START",
    "ALLOW_STOP",
    "ALLOW_RESTARTS",
];

/// The least privilege berth needs when no isolated network is declared.
pub const MINIMAL: &[&str] = &[
    "CONTAINERS",
    "IMAGES",
    "VOLUMES",
    "POST",
    "EVENTS",
    "PING",
    "VERSION",
];

/// Fails loudly (never skips) when haproxy is missing.
pub fn require_haproxy() {
    let ok = Command::new("haproxy")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "haproxy is not installed: run `make tools` (scripts/ensure-tools.sh installs it)"
    );
}

/// A running HAProxy.
pub struct Haproxy {
    child: Option<Child>,
    pub port: u16,
    /// `http`, or `https` for a front that terminates TLS.
    scheme: &'static str,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Haproxy {
    /// The socket proxy with exactly `flags` enabled.
    /// The socket proxy with the least privilege berth needs, less `flag`: how the tests
    /// show what each refusal looks like.
    pub fn minimal_without(flag: &str) -> Haproxy {
        let flags: Vec<&str> = MINIMAL.iter().copied().filter(|f| *f != flag).collect();
        assert!(flags.len() < MINIMAL.len(), "{flag} is not in MINIMAL");
        Haproxy::socket_proxy(&flags)
    }

    pub fn socket_proxy(flags: &[&str]) -> Haproxy {
        require_haproxy();
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = dir.path().join("haproxy.log");
        let mut cmd = Command::new("bash");
        cmd.arg(repo("scripts/socket-proxy.sh"))
            .args(["--port", &port.to_string(), "--log", "--dir"])
            .arg(dir.path());
        for f in ALL_FLAGS {
            cmd.env(f, if flags.contains(f) { "1" } else { "0" });
        }
        Haproxy::spawn(cmd, port, log, dir)
    }

    /// A stand-in for Portainer: requires `X-API-Key: <key>` (else 401 with Portainer's JSON
    /// body), serves the Docker API only under `/api/endpoints/<endpoint>/docker` (else 404),
    /// strips that prefix and the key, and forwards to the engine socket.
    pub fn portainer_front(endpoint: u32, key: &str) -> Haproxy {
        Haproxy::portainer_front_on(endpoint, key, None)
    }

    /// The Portainer stand-in over HTTPS (as Portainer's port 9443), showing the certificate
    /// in `cert_and_key` (one PEM file, see [`crate::pki::Pki`]).
    pub fn portainer_front_tls(endpoint: u32, key: &str, cert_and_key: &Path) -> Haproxy {
        Haproxy::portainer_front_on(endpoint, key, Some(cert_and_key))
    }

    fn portainer_front_on(endpoint: u32, key: &str, tls: Option<&Path>) -> Haproxy {
        require_haproxy();
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let prefix = format!("/api/endpoints/{endpoint}/docker");
        let ssl = tls.map_or(String::new(), |pem| format!(" ssl crt {}", pem.display()));
        let config = format!(
            r#"global
    maxconn 256

defaults
    mode http
    log global
    option httplog
    timeout connect 10s
    timeout client 10m
    timeout server 10m
    timeout http-request 10s

backend engine
    timeout server 24d
    server engine /var/run/docker.sock

frontend portainer
    bind 127.0.0.1:{port}{ssl}
    log stderr format raw local0 info
    http-request return status 401 content-type application/json string '{{"message":"Invalid API key","details":"Unauthorized"}}' unless {{ req.hdr(X-API-Key) -m str {key} }}
    http-request return status 404 content-type application/json string '{{"message":"Unable to find an environment with the specified identifier inside the database","details":"Not found"}}' unless {{ path_beg {prefix}/ }}
    http-request del-header X-API-Key
    http-request set-path %[path,regsub(^{prefix},)]
    default_backend engine
"#
        );
        std::fs::write(dir.path().join("haproxy.cfg"), config).unwrap();
        let log = dir.path().join("haproxy.log");
        let mut cmd = Command::new("haproxy");
        cmd.arg("-db").arg("-f").arg(dir.path().join("haproxy.cfg"));
        let mut h = Haproxy::spawn(cmd, port, log, dir);
        if tls.is_some() {
            h.scheme = "https";
        }
        h
    }

    /// `http://127.0.0.1:PORT` (`https://` for a TLS front).
    pub fn url(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme, self.port)
    }

    fn spawn(
        mut cmd: Command,
        port: u16,
        log: std::path::PathBuf,
        dir: tempfile::TempDir,
    ) -> Haproxy {
        let child = cmd
            .env_remove("DOCKER_HOST")
            .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
            .stderr(Stdio::from(
                std::fs::OpenOptions::new().append(true).open(&log).unwrap(),
            ))
            .spawn()
            .expect("start haproxy");
        let mut h = Haproxy {
            child: Some(child),
            port,
            scheme: "http",
            log,
            _dir: dir,
        };
        wait_for("haproxy to listen", || {
            if let Some(Ok(Some(status))) = h.child.as_mut().map(|c| c.try_wait()) {
                panic!("haproxy exited ({status}):\n{}", h.log_text());
            }
            std::net::TcpStream::connect(("127.0.0.1", port))
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
        h
    }

    /// `tcp://127.0.0.1:PORT`.
    pub fn docker_host(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `berth <cmd> --instance <name> [flags...] <dir>` with extra environment.
pub fn berth_env(inst: &Instance, cmd: &str, flags: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = inst.path_str();
    let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
    c.arg(cmd)
        .args(["--instance", &inst.name])
        .args(flags)
        .env_remove("BERTH_INSTANCE")
        // Never the host's default state directory.
        .env("BERTH_STATE_DIR", inst.state.path());
    if !matches!(cmd, "get" | "down" | "doctor") {
        c.arg(&dir);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run berth")
}
