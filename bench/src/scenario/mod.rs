//! The scenarios. Each creates its objects under its own `bench-` names, and the caller
//! cleans up after it, on success and on error.

pub mod calibrate;
pub mod cold;
pub mod footprint;
pub mod noop;
pub mod reaction;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{ensure, Result};
use bollard::Docker;

use crate::berth::Berth;
use crate::compose::Compose;
use crate::floor::Template;

/// What every scenario gets.
pub struct Ctx {
    pub docker: Docker,
    pub berth: Berth,
    pub compose: Compose,
    /// Scratch space for manifests, compose files and daemon logs.
    pub work: PathBuf,
    pub repetitions: usize,
    pub trials: usize,
    pub concurrency: usize,
    /// The container berth creates for an agent, read back (set by `calibrate`).
    pub template: Option<Template>,
}

impl Ctx {
    pub fn template(&self) -> Result<&Template> {
        self.template
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("calibration did not run"))
    }

    /// A fresh directory under the scratch space.
    pub fn dir(&self, name: &str) -> Result<PathBuf> {
        let d = self.work.join(name);
        if d.exists() {
            std::fs::remove_dir_all(&d)?;
        }
        std::fs::create_dir_all(&d)?;
        Ok(d)
    }

    /// Checks that `want` containers with `label=value` run.
    pub async fn expect_running(&self, label: &str, value: &str, want: usize) -> Result<()> {
        let got = crate::engine::running(&self.docker, label, value).await?;
        ensure!(
            got == want,
            "{value}: {got} containers running, {want} expected"
        );
        Ok(())
    }

    /// Removes everything the bench created (not timed).
    pub async fn cleanup(&self) -> Result<()> {
        crate::engine::cleanup(&self.docker).await?;
        // Let the engine finish its own bookkeeping before the next timed step.
        tokio::time::sleep(Duration::from_millis(500)).await;
        Ok(())
    }
}

/// `berth_<instance>_agent_<name>`: the container berth creates for an agent.
pub fn berth_container(instance: &str, name: &str) -> String {
    format!("berth_{instance}_agent_{name}")
}

pub fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// The three contenders, in the order of repetition `rep` (rotated so that no tool always
/// runs first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Berth,
    Floor,
    Compose,
}

pub fn rotation(rep: usize, tools: &[Tool]) -> Vec<Tool> {
    let k = rep % tools.len();
    tools[k..].iter().chain(&tools[..k]).copied().collect()
}

pub fn compose_file(dir: &Path) -> PathBuf {
    dir.join("compose.yaml")
}
