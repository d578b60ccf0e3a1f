//! Runs the berth CLI (one-shot commands) and times whole processes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::process::Command;

#[derive(Debug, Clone)]
pub struct Berth {
    pub bin: PathBuf,
    pub concurrency: usize,
}

impl Berth {
    /// `berth apply [--wait] DIR`, timed from spawn to exit.
    pub async fn apply(
        &self,
        instance: &str,
        dir: &Path,
        wait: bool,
        timeout: Duration,
    ) -> Result<Duration> {
        let mut args = vec![
            "apply".to_string(),
            "--instance".into(),
            instance.into(),
            "--concurrency".into(),
            self.concurrency.to_string(),
        ];
        if wait {
            args.push("--wait".into());
            args.push("--timeout".into());
            args.push(format!("{}s", timeout.as_secs().max(1)));
        }
        args.push(dir.to_string_lossy().into_owned());
        self.timed(&args).await
    }

    /// `berth down --volumes` (not timed by callers).
    pub async fn down(&self, instance: &str) -> Result<()> {
        self.timed(&["down", "--instance", instance, "--volumes"])
            .await
            .map(|_| ())
    }

    /// `berth validate DIR`.
    pub async fn validate(&self, dir: &Path) -> Result<()> {
        self.timed(&["validate", &dir.to_string_lossy()])
            .await
            .map(|_| ())
    }

    async fn timed<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Result<Duration> {
        let started = Instant::now();
        let out = Command::new(&self.bin)
            .args(args)
            .env_remove("BERTH_INSTANCE")
            .kill_on_drop(true)
            .output()
            .await
            .with_context(|| format!("running {}", self.bin.display()))?;
        let took = started.elapsed();
        if !out.status.success() {
            let shown: Vec<String> = args
                .iter()
                .map(|a| a.as_ref().to_string_lossy().into_owned())
                .collect();
            let tail = |b: &[u8]| {
                let text = String::from_utf8_lossy(b);
                let lines: Vec<&str> = text.lines().collect();
                lines[lines.len().saturating_sub(8)..].join(" | ")
            };
            bail!(
                "berth {} failed ({}): stdout: {} stderr: {}",
                shown.join(" "),
                out.status,
                tail(&out.stdout),
                tail(&out.stderr)
            );
        }
        Ok(took)
    }
}
