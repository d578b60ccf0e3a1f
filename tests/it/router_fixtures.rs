//! Private reverse proxies for the router tests: a Caddy (admin API and server srv0 on free
//! loopback ports, one foreign route `/foreign/*`, nothing written outside its temporary
//! folder) and an nginx (prefix in a temporary folder, `include ROUTES/*.conf;` in its
//! server block), each killed when dropped; and a tiny upstream that answers with its name,
//! the path it got and the `X-Berth-Wake` header.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::util::*;

/// Fails loudly (never skips) when a proxy is missing.
pub fn require(program: &str, version_flag: &str) {
    let ok = Command::new(program)
        .arg(version_flag)
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "{program} is not installed: run `make tools`");
}

/// Starts an upstream on a free port; its answers are `NAME PATH wake=HEADER` (`-` without
/// the header). The thread lives until the test binary exits.
pub fn upstream(name: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer(name, stream));
        }
    });
    address
}

fn answer(name: &str, stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(&stream);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("?").to_string();
    let mut wake = "-".to_string();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.trim().eq_ignore_ascii_case("x-berth-wake") {
                wake = v.trim().to_string();
            }
        }
    }
    let body = format!("{name} {path} wake={wake}");
    let _ = write!(
        &stream,
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// One HTTP/1.1 request with a JSON body (none when empty); the status and the body, a
/// chunked one decoded. `None` when nothing answers.
pub fn request(address: &str, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(address).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n")?;
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    Some((code, if chunked { dechunk(rest) } else { rest.into() }))
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

/// A GET through a proxy: the status and body, `(0, "")` when nothing answers.
pub fn get(address: &str, path: &str) -> (u16, String) {
    http_get_at(address, path).unwrap_or((0, String::new()))
}

pub struct Caddy {
    child: Option<Child>,
    pub admin: String,
    pub address: String,
    dir: tempfile::TempDir,
}

impl Caddy {
    pub fn start() -> Caddy {
        require("caddy", "version");
        let dir = tempfile::tempdir().unwrap();
        let (admin, address) = (
            format!("127.0.0.1:{}", free_port()),
            format!("127.0.0.1:{}", free_port()),
        );
        let config = serde_json::json!({
            "admin": {"listen": admin, "config": {"persist": false}},
            "apps": {"http": {"servers": {"srv0": {
                "listen": [address],
                "automatic_https": {"disable": true},
                "routes": [{
                    "match": [{"path": ["/foreign/*"]}],
                    "handle": [{"handler": "static_response", "status_code": 200, "body": "foreign"}]
                }]
            }}}}
        });
        std::fs::write(dir.path().join("caddy.json"), config.to_string()).unwrap();
        let mut c = Caddy {
            child: None,
            admin,
            address,
            dir,
        };
        c.spawn();
        c
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.admin)
    }

    fn spawn(&mut self) {
        let t = self.dir.path();
        let log = std::fs::File::create(t.join("caddy.log")).unwrap();
        let child = Command::new("caddy")
            .args(["run", "--config"])
            .arg(t.join("caddy.json"))
            .env("HOME", t)
            .env("XDG_CONFIG_HOME", t.join("config"))
            .env("XDG_DATA_HOME", t.join("data"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start caddy");
        self.child = Some(child);
        wait_for("caddy's admin API", || {
            match request(&self.admin, "GET", "/config/", "") {
                Some((200, _)) => Ok(()),
                other => Err(format!("{other:?}; log: {}", self.log())),
            }
        });
    }

    /// Kills Caddy and starts it again from its file: berth's routes are gone.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// The ids of the routes of srv0, in order (`-` for a route without one).
    pub fn ids(&self) -> Vec<String> {
        let (code, body) = request(
            &self.admin,
            "GET",
            "/config/apps/http/servers/srv0/routes",
            "",
        )
        .unwrap();
        assert_eq!(code, 200, "{body}");
        let routes: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
        let id = |r: &serde_json::Value| r["@id"].as_str().unwrap_or("-").to_string();
        routes.iter().map(id).collect()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("caddy.log")).unwrap_or_default()
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Caddy {
    fn drop(&mut self) {
        self.kill();
    }
}

pub struct Nginx {
    child: Child,
    stopped: bool,
    pub address: String,
    /// The folder of route files (`include ROUTES/*.conf;`).
    pub routes: PathBuf,
    /// Reloads this nginx, and counts reloads in `reloads`.
    pub reload: String,
    prefix: tempfile::TempDir,
}

impl Nginx {
    /// Starts nginx with `foreign` (a file name and its text) already in the route folder.
    pub fn start(foreign: &[(&str, &str)]) -> Nginx {
        require("nginx", "-v");
        let prefix = tempfile::tempdir().unwrap();
        let p = prefix.path();
        // The workers run as nobody (the tests run as root).
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        for d in ["logs", "tmp", "routes.d"] {
            std::fs::create_dir(p.join(d)).unwrap();
        }
        let routes = p.join("routes.d");
        for (name, text) in foreign {
            std::fs::write(routes.join(name), text).unwrap();
        }
        let address = format!("127.0.0.1:{}", free_port());
        let conf = format!(
            "worker_processes 1;\npid logs/nginx.pid;\nerror_log logs/error.log info;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n  access_log logs/access.log;\n\
             client_body_temp_path tmp/client_body;\n  proxy_temp_path tmp/proxy;\n\
             fastcgi_temp_path tmp/fastcgi;\n  uwsgi_temp_path tmp/uwsgi;\n  scgi_temp_path tmp/scgi;\n\
             map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}\n\
             server {{\n    listen {address};\n    server_name _;\n\
             location = /healthz {{ return 200 \"ok\\n\"; }}\n\
             include {}/*.conf;\n  }}\n}}\n",
            routes.display()
        );
        std::fs::write(p.join("nginx.conf"), conf).unwrap();
        let pre = format!("{}/", p.display());
        let child = Command::new("nginx")
            .args(["-p", &pre, "-c", "nginx.conf", "-e", "logs/error.log"])
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        let reload = format!(
            "nginx -p {pre} -c nginx.conf -e logs/error.log -s reload && echo . >> {pre}reloads"
        );
        let n = Nginx {
            child,
            stopped: false,
            address,
            routes,
            reload,
            prefix,
        };
        wait_for("nginx", || match get(&n.address, "/healthz") {
            (200, _) => Ok(()),
            other => Err(format!("{other:?}; log: {}", n.log())),
        });
        n
    }

    /// How often `reload` ran successfully.
    pub fn reloads(&self) -> usize {
        std::fs::read_to_string(self.prefix.path().join("reloads")).map_or(0, |s| s.lines().count())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.prefix.path().join("logs/error.log")).unwrap_or_default()
    }

    /// Stops nginx (its files stay): SIGTERM, not SIGKILL, so that the master stops its
    /// workers too.
    pub fn stop(&mut self) {
        if !std::mem::replace(&mut self.stopped, true) {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let _ = self.child.wait();
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.stop();
    }
}
