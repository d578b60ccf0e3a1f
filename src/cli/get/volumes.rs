//! `berth get volumes`.

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::print_data;
use crate::cli::output::{age, table};
use crate::cli::{CliError, Context, GetFormat};
use crate::engine::Engine;
use crate::state::Store;

/// One row of `berth get volumes`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct VolumeRow {
    name: String,
    owner: String,
    state: String,
    age_seconds: Option<i64>,
    cleanup: String,
    expires_ms: Option<u64>,
}

/// `berth get volumes`: NAME OWNER STATE (InUse / Orphaned) AGE EXPIRES. A volume is in use
/// while a container of the instance mounts it; the orphan clock comes from berth run's
/// state file (without one, EXPIRES is unknown).
pub async fn volumes(ctx: &Context, format: GetFormat) -> Result<ExitCode, CliError> {
    let instance = ctx.instance.as_str();
    let engine = ctx.connect().await?;
    let containers = engine.list(instance).await?;
    let volumes = engine.list_volumes(instance).await?;
    let dir = ctx.state_dir.clone();
    let state = Store::new(&dir, instance).peek().unwrap_or_else(|e| {
        eprintln!("warning: {e}");
        Default::default()
    });
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut rows: Vec<VolumeRow> = volumes
        .iter()
        .map(|v| {
            let in_use = containers.iter().any(|c| c.volumes.contains(&v.name));
            let memory = state.volumes.get(&v.name);
            let cleanup = memory.and_then(|m| m.cleanup).or(v.cleanup);
            let expires_ms = match (in_use, memory.and_then(|m| m.orphaned_ms), cleanup) {
                (false, Some(since), Some(crate::model::CleanupRule::RetainFor { after })) => {
                    Some(since + after.as_millis() as u64)
                }
                _ => None,
            };
            VolumeRow {
                name: v.name.clone(),
                owner: v.owner.as_ref().map_or("?".into(), ToString::to_string),
                state: if in_use { "InUse" } else { "Orphaned" }.into(),
                age_seconds: v.created.map(|c| (now - c).max(0)),
                cleanup: cleanup.map_or("default".into(), |c| c.label()),
                expires_ms,
            }
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    match format {
        GetFormat::Json | GetFormat::Yaml => return Ok(ExitCode::from(print_data(&rows, format))),
        GetFormat::Table | GetFormat::Wide => {
            if rows.is_empty() {
                eprintln!("no volumes for instance {instance:?}");
                return Ok(ExitCode::SUCCESS);
            }
            let now_ms = now as u64 * 1000;
            let mut header = vec!["NAME", "OWNER", "STATE", "AGE", "EXPIRES"];
            if format == GetFormat::Wide {
                header.push("CLEANUP");
            }
            let body: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    let mut cells = vec![
                        r.name.clone(),
                        r.owner.clone(),
                        r.state.clone(),
                        r.age_seconds.map_or("-".into(), age),
                        r.expires_ms.map_or("-".into(), |e| {
                            format!("in {}", age((e.saturating_sub(now_ms) / 1000) as i64))
                        }),
                    ];
                    if format == GetFormat::Wide {
                        cells.push(r.cleanup.clone());
                    }
                    cells
                })
                .collect();
            out!("{}", table(&header, &body));
        }
    }
    Ok(ExitCode::SUCCESS)
}
