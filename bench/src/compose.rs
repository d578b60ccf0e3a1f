//! Docker Compose v2: a compose file whose services are equivalent to berth's containers
//! (derived from the same inspected container as the floor), and the `up` calls, timed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};
use tokio::process::Command;

use crate::floor::Template;

#[derive(Debug, Clone)]
pub struct Compose {
    /// The Go binary (site-packages/compose/docker-compose), not the wrapper script.
    pub bin: PathBuf,
}

/// The service of agent `name`, equivalent to what berth creates for it.
fn service(t: &Template, project: &str, name: &str, generation: u32) -> Value {
    let b = t.body();
    let h = t.host();
    let mut s = Map::new();
    s.insert("image".into(), json!(b.image));
    if let Some(e) = &b.entrypoint {
        s.insert("entrypoint".into(), json!(e));
    }
    if let Some(c) = &b.cmd {
        s.insert("command".into(), json!(c));
    }
    let env: Vec<String> = b
        .env
        .iter()
        .flatten()
        .map(|kv| match kv.split_once('=') {
            Some(("BENCH_GEN", _)) => format!("BENCH_GEN={generation}"),
            _ => kv.clone(),
        })
        .collect();
    s.insert("environment".into(), json!(env));
    for (key, v) in [("working_dir", &b.working_dir), ("user", &b.user)] {
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            s.insert(key.into(), json!(v));
        }
    }
    s.insert("labels".into(), json!(t.labels(project, name)));
    // berth's `NONE` (the image's own check switched off) is left out rather than written
    // as `disable: true`: `up --wait` refuses a container whose check is disabled, and the
    // bench image has none of its own, so the container runs the same.
    if let Some(secs) = b.stop_timeout {
        s.insert("stop_grace_period".into(), json!(format!("{secs}s")));
    }
    if let Some(m) = h.memory {
        s.insert("mem_limit".into(), json!(m));
    }
    if let Some(m) = h.memory_swap {
        s.insert("memswap_limit".into(), json!(m));
    }
    if let Some(p) = h.pids_limit {
        s.insert("pids_limit".into(), json!(p));
    }
    if let Some(c) = h.nano_cpus.filter(|c| *c > 0) {
        s.insert("cpus".into(), json!(c as f64 / 1e9));
    }
    s.insert(
        "read_only".into(),
        json!(h.readonly_rootfs.unwrap_or(false)),
    );
    for (key, v) in [
        ("cap_drop", &h.cap_drop),
        ("cap_add", &h.cap_add),
        ("security_opt", &h.security_opt),
    ] {
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            s.insert(key.into(), json!(v));
        }
    }
    if let Some(tmpfs) = h.tmpfs.as_ref().filter(|t| !t.is_empty()) {
        let list: Vec<String> = tmpfs.iter().map(|(p, o)| format!("{p}:{o}")).collect();
        s.insert("tmpfs".into(), json!(list));
    }
    s.insert("init".into(), json!(h.init.unwrap_or(false)));
    s.insert("restart".into(), json!("no"));
    // berth puts agents on the engine's default bridge; so does this (no project network).
    s.insert("network_mode".into(), json!("bridge"));
    Value::Object(s)
}

/// Writes `compose.yaml` (JSON, which is YAML) with services `a-0000`.. for `n` agents;
/// agent 0 gets `generation0`, the others 0.
pub fn write_file(
    path: &Path,
    t: &Template,
    project: &str,
    n: usize,
    generation0: u32,
) -> Result<()> {
    let services: Map<String, Value> = (0..n)
        .map(|i| {
            let name = crate::manifests::name(i);
            let generation = if i == 0 { generation0 } else { 0 };
            let s = service(t, project, &name, generation);
            (name, s)
        })
        .collect();
    let doc = json!({ "name": project, "services": services });
    std::fs::write(path, serde_json::to_string_pretty(&doc)?)
        .with_context(|| format!("writing {}", path.display()))
}

impl Compose {
    /// `up -d` (with `-t 0` when `zero_grace`, `--wait` when `wait`: until every container
    /// runs, like `berth apply --wait`), timed from spawn to exit.
    pub async fn up(
        &self,
        project: &str,
        file: &Path,
        zero_grace: bool,
        wait: bool,
    ) -> Result<Duration> {
        let mut args = vec!["up", "-d"];
        if zero_grace {
            args.extend(["-t", "0"]);
        }
        if wait {
            args.push("--wait");
        }
        self.timed(project, file, &args).await
    }

    async fn timed(&self, project: &str, file: &Path, args: &[&str]) -> Result<Duration> {
        let started = Instant::now();
        let out = Command::new(&self.bin)
            .args([
                "--ansi",
                "never",
                "--progress",
                "quiet",
                "-p",
                project,
                "-f",
            ])
            .arg(file)
            .args(args)
            .kill_on_drop(true)
            .output()
            .await
            .with_context(|| format!("running {}", self.bin.display()))?;
        let took = started.elapsed();
        if !out.status.success() {
            bail!(
                "compose {} failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(took)
    }
}
