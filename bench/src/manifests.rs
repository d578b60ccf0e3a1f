//! The agent every scenario uses, as a berth manifest: the container of the FACTS anchors
//! (`sleep`, a memory limit, a read-only root, every capability dropped by default).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The label every object the bench creates carries (containers of berth, the floor and
/// Compose alike); cleanup removes exactly what carries it.
pub const OWNER_LABEL: &str = "bench.owner";
pub const OWNER_VALUE: &str = "berth-bench";
/// Image and command of the agent.
pub const IMAGE: &str = "berth-runtime:1";
pub const COMMAND: [&str; 2] = ["sleep", "86400"];
pub const MEMORY: &str = "32Mi";

/// What varies between scenarios.
#[derive(Debug, Clone, Copy, Default)]
pub struct Agent {
    /// The value of env `BENCH_GEN`: changing it recreates the container.
    pub generation: u32,
    /// `restart.backoff.initial: 0s` (reaction latency without configured backoff).
    pub no_backoff: bool,
}

/// The name of agent `i`.
pub fn name(i: usize) -> String {
    format!("a-{i:04}")
}

/// One manifest document.
pub fn render(name: &str, a: Agent) -> String {
    let backoff = if a.no_backoff {
        "  restart: { backoff: { initial: 0s } }\n"
    } else {
        ""
    };
    format!(
        "apiVersion: berth/v1\n\
         kind: Agent\n\
         metadata:\n  name: {name}\n  labels: {{ {OWNER_LABEL}: {OWNER_VALUE} }}\n\
         spec:\n  image: {IMAGE}\n  command: [\"{}\", \"{}\"]\n\
         \x20 env: {{ BENCH_GEN: \"{}\" }}\n\
         \x20 resources: {{ memory: {MEMORY} }}\n\
         \x20 security: {{ readOnlyRootFilesystem: true }}\n\
         \x20 stopGracePeriod: 0s\n{backoff}",
        COMMAND[0], COMMAND[1], a.generation
    )
}

/// The file of agent `name` in `dir`.
pub fn path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.yaml"))
}

/// Writes agents `range` into `dir`, one file each.
pub fn write_range(dir: &Path, range: std::ops::Range<usize>, a: Agent) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for i in range {
        let n = name(i);
        std::fs::write(path(dir, &n), render(&n, a))
            .with_context(|| format!("writing {}", path(dir, &n).display()))?;
    }
    Ok(())
}

/// Writes the manifest of `name` next to `dir` and renames it in, so a watcher sees one
/// complete file appear. Returns the moment just before the rename.
pub fn write_atomically(dir: &Path, name: &str, a: Agent) -> Result<std::time::SystemTime> {
    let parent = dir.parent().context("manifest dir has no parent")?;
    let tmp = parent.join(format!(".{name}.yaml.tmp"));
    std::fs::write(&tmp, render(name, a))?;
    let t0 = std::time::SystemTime::now();
    std::fs::rename(&tmp, path(dir, name))?;
    Ok(t0)
}
