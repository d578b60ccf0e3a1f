//! Headless Chromium driven over the Chrome DevTools Protocol (a WebSocket per page), for
//! the browser test of the dashboard (`ui.rs`). [`Browser`] kills the browser and removes
//! its profile when dropped, pass or fail.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// The browser the test drives: Debian's package (`scripts/ensure-tools.sh chromium`), or
/// the binary `BERTH_TEST_CHROMIUM` names.
fn chromium() -> String {
    std::env::var("BERTH_TEST_CHROMIUM").unwrap_or_else(|_| "chromium".to_string())
}

/// A headless Chromium in its own process group, with a throw-away profile.
pub struct Browser {
    child: Child,
    /// `ws://127.0.0.1:PORT/devtools/browser/ID`.
    ws: String,
    stderr: Arc<Mutex<String>>,
    profile: Option<tempfile::TempDir>,
}

impl Browser {
    /// Starts Chromium and waits for its DevTools endpoint. Fails (never skips) when
    /// Chromium is not installed.
    pub fn launch() -> Browser {
        use std::os::unix::process::CommandExt;
        let bin = chromium();
        let profile = tempfile::tempdir().expect("temp dir");
        // Its temporary files (the singleton socket), crash reports and dconf cache go into
        // the profile too, not into /tmp or the user's home.
        let home = profile.path().join("home");
        let tmp = profile.path().join("tmp");
        std::fs::create_dir(&home).unwrap();
        std::fs::create_dir(&tmp).unwrap();
        let spawned = Command::new(&bin)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .env("TMPDIR", &tmp)
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            // Its own group: the renderer and helper processes go with it on drop.
            .process_group(0)
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "{bin} is not installed, and the dashboard's browser test needs it: run \
                 `bash scripts/ensure-tools.sh chromium` as root (or `make tools`)"
            ),
            Err(e) => panic!("cannot start {bin}: {e}"),
        };
        // Read stderr to the end in a thread (a full pipe would stall the browser); the
        // DevTools address is on one of its first lines.
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let pipe = child.stderr.take().unwrap();
        let log = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Some(at) = line.find("ws://") {
                    let _ = tx.send(line[at..].trim().to_string());
                }
                let mut log = log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut browser = Browser {
            child,
            ws: String::new(),
            stderr,
            profile: Some(profile),
        };
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(ws) => browser.ws = ws,
            Err(_) => panic!(
                "{bin} printed no \"DevTools listening on ws://...\"; its stderr:\n{}",
                browser.stderr()
            ),
        }
        browser
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// A new tab, and a connection to it.
    pub fn page(&self) -> Cdp {
        let mut b = Cdp::connect(&self.ws);
        let created = b
            .call("Target.createTarget", json!({ "url": "about:blank" }))
            .unwrap_or_else(|e| panic!("Target.createTarget: {e}\n{}", self.stderr()));
        let id = created["targetId"].as_str().expect("a target id");
        // ws://HOST:PORT/devtools/browser/ID → ws://HOST:PORT/devtools/page/TARGET
        let base = &self.ws[..self.ws.find("/devtools/").expect("a DevTools URL")];
        Cdp::connect(&format!("{base}/devtools/page/{id}"))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let group = self.child.id() as libc::pid_t;
        // SAFETY: signals only the process group this test started (its leader is our child).
        unsafe { libc::kill(-group, libc::SIGKILL) };
        let _ = self.child.wait();
        // Wait for the rest of the group, so that nothing writes to the profile while it
        // is removed.
        let deadline = Instant::now() + Duration::from_secs(10);
        // SAFETY: signal 0 only asks whether the group still has a member.
        while unsafe { libc::kill(-group, 0) } == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Some(profile) = self.profile.take() {
            let path = profile.path().to_path_buf();
            if profile.close().is_err() {
                let _ = std::fs::remove_dir_all(&path);
            }
        }
    }
}

/// One DevTools connection: commands with their answers, events skipped.
pub struct Cdp {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next: u64,
}

impl Cdp {
    fn connect(url: &str) -> Cdp {
        let (ws, _) =
            tungstenite::connect(url).unwrap_or_else(|e| panic!("DevTools at {url}: {e}"));
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            // A browser that stops answering fails the test instead of hanging it.
            s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        }
        Cdp { ws, next: 0 }
    }

    /// Sends `method` and returns its `result`, or the protocol's error.
    pub fn call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.next += 1;
        let id = self.next;
        let msg = json!({ "id": id, "method": method, "params": params });
        self.ws
            .send(Message::text(msg.to_string()))
            .map_err(|e| format!("{method}: send: {e}"))?;
        loop {
            let text = match self.ws.read().map_err(|e| format!("{method}: read: {e}"))? {
                Message::Text(t) => t.to_string(),
                Message::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
                _ => continue,
            };
            let v: Value = serde_json::from_str(&text).map_err(|e| format!("{method}: {e}"))?;
            if v["id"].as_u64() != Some(id) {
                continue; // an event, or the answer to another command
            }
            if let Some(e) = v.get("error") {
                return Err(format!("{method}: {e}"));
            }
            return Ok(v["result"].clone());
        }
    }

    /// Evaluates `expression` in the page and returns its value (JSON-serializable).
    pub fn eval(&mut self, expression: &str) -> Result<Value, String> {
        let r = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        )?;
        if let Some(ex) = r.get("exceptionDetails") {
            return Err(format!("{expression}: {ex}"));
        }
        Ok(r["result"]["value"].clone())
    }
}
