//! `berth run` as a child process: started on a free loopback port with a temporary state
//! directory, scraped over HTTP, stopped with SIGTERM.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

use crate::metrics::Scrape;

pub struct Daemon {
    child: Child,
    pub pid: u32,
    base: String,
    log: PathBuf,
    _state: tempfile::TempDir,
}

/// How to start one daemon.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    pub bin: &'a Path,
    pub instance: &'a str,
    pub dir: &'a Path,
    /// `--resync`, e.g. `2s`; `None` keeps berth's default.
    pub resync: Option<&'a str>,
    pub allow_empty: bool,
    pub concurrency: usize,
    /// Where the daemon's log goes (kept for errors).
    pub log: &'a Path,
}

impl Daemon {
    /// Starts the daemon and waits until /readyz answers (its first reconcile is done).
    pub async fn start(o: Options<'_>) -> Result<Daemon> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let state = tempfile::Builder::new().prefix("bench-state-").tempdir()?;
        let log = std::fs::File::create(o.log)?;
        let mut cmd = Command::new(o.bin);
        cmd.arg("run")
            .args(["--instance", o.instance])
            .arg("--state-dir")
            .arg(state.path())
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--concurrency", &o.concurrency.to_string()])
            // The reconciler's own cost: resource sampling is measured on its own
            // (`MODE=stats bench/idle-cpu.sh`), and its stats calls are not resync work.
            .args(["--stats-interval", "0s"]);
        if let Some(r) = o.resync {
            cmd.args(["--resync", r]);
        }
        if o.allow_empty {
            cmd.arg("--allow-empty");
        }
        cmd.arg(o.dir)
            .env_remove("BERTH_INSTANCE")
            .env("BERTH_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        let child = cmd.spawn().context("starting berth run")?;
        let pid = child.id().context("berth run exited at once")?;
        let mut d = Daemon {
            child,
            pid,
            base: format!("http://127.0.0.1:{port}"),
            log: o.log.to_path_buf(),
            _state: state,
        };
        d.wait_ready(Duration::from_secs(600)).await?;
        Ok(d)
    }

    async fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        let until = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("berth run exited ({status}): {}", self.log_tail());
            }
            if self.get("/readyz").await.is_ok() {
                return Ok(());
            }
            if Instant::now() > until {
                bail!("berth run not ready after {timeout:?}: {}", self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn get(&self, path: &str) -> Result<String> {
        let url = format!("{}{path}", self.base);
        tokio::task::spawn_blocking(move || -> Result<String> {
            let mut resp = ureq::get(&url).call()?;
            Ok(resp.body_mut().read_to_string()?)
        })
        .await?
    }

    pub async fn metrics(&self) -> Result<Scrape> {
        Ok(Scrape::parse(&self.get("/metrics").await?))
    }

    /// Waits until /status lists `n` objects, all Running.
    pub async fn wait_running(&self, n: usize, timeout: Duration) -> Result<()> {
        let until = Instant::now() + timeout;
        loop {
            let status: serde_json::Value = serde_json::from_str(&self.get("/status").await?)?;
            let objects = status["objects"].as_array().cloned().unwrap_or_default();
            let running = objects.iter().filter(|o| o["phase"] == "Running").count();
            if objects.len() == n && running == n {
                return Ok(());
            }
            if Instant::now() > until {
                bail!(
                    "berth run: {running} of {} objects running after {timeout:?} (want {n})",
                    objects.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits for the counter `berth_reconciles_total` to pass `above`; returns its value.
    pub async fn wait_reconcile(&self, above: f64, timeout: Duration) -> Result<f64> {
        let until = Instant::now() + timeout;
        loop {
            let n = self
                .metrics()
                .await?
                .get("berth_reconciles_total", &[])
                .unwrap_or(0.0);
            if n > above {
                return Ok(n);
            }
            if Instant::now() > until {
                bail!("no reconcile round within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM, then waits up to 20 s (SIGKILL after that).
    pub async fn stop(mut self) -> Result<()> {
        kill(Pid::from_raw(self.pid as i32), Signal::SIGTERM).ok();
        match tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await {
            Ok(status) => {
                let status = status?;
                if !status.success() {
                    bail!("berth run exited with {status}: {}", self.log_tail());
                }
                Ok(())
            }
            Err(_) => {
                self.child.kill().await.ok();
                bail!("berth run did not stop within 20 s of SIGTERM")
            }
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }
}
