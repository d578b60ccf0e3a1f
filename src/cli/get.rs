use crate::engine::Engine;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::output::{age, table};
use super::{CliError, Context, GetFormat};
use crate::model::{Observed, Phase};
use crate::state::Store;

/// One row of `berth get`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    name: String,
    kind: String,
    state: String,
    health: String,
    restarts: u32,
    age_seconds: i64,
    image: String,
    container: String,
    id: String,
    status: String,
    spec_hash: String,
    source: String,
}

/// The engine's phase of a container, unless berth run's last word is one the engine
/// cannot show.
fn merged_phase(o: &Observed, recorded: Option<Phase>) -> Phase {
    let live = Phase::of_container(o.state, o.health);
    match recorded {
        Some(Phase::CrashLoopBackOff) if matches!(live, Phase::Failed | Phase::Stopped) => {
            Phase::CrashLoopBackOff
        }
        Some(p @ (Phase::Expired | Phase::Invalid)) => p,
        Some(Phase::Stopped) if live != Phase::Running => Phase::Stopped,
        _ => live,
    }
}

/// `berth get`. The engine says what runs; the state file of `berth run` (when there is
/// one) adds restart counts and the phases the engine cannot show (CrashLoopBackOff,
/// Expired, Invalid), and lists expired sessions that no longer have a container.
pub async fn run(ctx: &Context, format: GetFormat) -> Result<ExitCode, CliError> {
    let instance = ctx.instance.as_str();
    let engine = ctx.connect().await?;
    let mut observed = engine.list(instance).await?;
    observed.sort_by(|a, b| (&a.key, &a.name).cmp(&(&b.key, &b.name)));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let dir = ctx.state_dir.clone();
    let state = match Store::new(&dir, instance).peek() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("warning: {e}");
            Default::default()
        }
    };
    let entry = |o: &Observed| o.key.as_ref().and_then(|k| state.entry(k));
    let mut rows: Vec<Row> = observed
        .iter()
        .map(|o| Row {
            name: o.key.as_ref().map_or(o.name.clone(), |k| k.name.clone()),
            kind: o.key.as_ref().map_or("?".into(), |k| k.kind.to_string()),
            state: merged_phase(o, entry(o).and_then(|e| e.phase)).to_string(),
            health: o.health.map_or("-".into(), |h| h.to_string()),
            restarts: entry(o).map_or(0, |e| e.runtime.restarts),
            age_seconds: (now - o.created).max(0),
            image: o.image.clone(),
            container: o.name.clone(),
            id: o.id.chars().take(12).collect(),
            status: o.status.clone(),
            spec_hash: o.spec_hash.clone().unwrap_or_default(),
            source: o.source.clone().unwrap_or_default(),
        })
        .collect();
    for (key, e) in &state.objects {
        let listed = rows
            .iter()
            .any(|r| format!("{}/{}", r.kind, r.name) == *key);
        if e.runtime.expired && !listed {
            let (kind, name) = key.split_once('/').unwrap_or(("?", key));
            rows.push(Row {
                name: name.into(),
                kind: kind.into(),
                state: Phase::Expired.to_string(),
                health: "-".into(),
                restarts: e.runtime.restarts,
                age_seconds: e
                    .runtime
                    .first_started
                    .and_then(|t| t.elapsed().ok())
                    .map_or(0, |d| d.as_secs() as i64),
                image: "-".into(),
                container: "-".into(),
                id: "-".into(),
                status: "session ttl expired; container removed".into(),
                spec_hash: String::new(),
                source: String::new(),
            });
        }
    }
    match format {
        GetFormat::Json | GetFormat::Yaml => return Ok(ExitCode::from(print_data(&rows, format))),
        GetFormat::Table | GetFormat::Wide => {
            let info = engine.info();
            eprintln!(
                "engine: {} {} (API {}) at {}",
                info.kind,
                info.version,
                engine.api_version(),
                engine.endpoint()
            );
            if rows.is_empty() {
                eprintln!("no containers for instance {instance:?}");
                return Ok(ExitCode::SUCCESS);
            }
            let wide = format == GetFormat::Wide;
            let mut header = vec![
                "NAME", "KIND", "STATE", "HEALTH", "RESTARTS", "AGE", "IMAGE",
            ];
            if wide {
                header.extend(["CONTAINER", "ID", "STATUS"]);
            }
            let body: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    let mut cells = vec![
                        r.name.clone(),
                        r.kind.clone(),
                        r.state.clone(),
                        r.health.clone(),
                        r.restarts.to_string(),
                        age(r.age_seconds),
                        r.image.clone(),
                    ];
                    if wide {
                        cells.extend([r.container.clone(), r.id.clone(), r.status.clone()]);
                    }
                    cells
                })
                .collect();
            print!("{}", table(&header, &body));
        }
    }
    Ok(ExitCode::SUCCESS)
}

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
            print!("{}", table(&header, &body));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints rows as JSON or YAML; the exit code.
fn print_data<T: Serialize>(rows: &[T], format: GetFormat) -> u8 {
    if format == GetFormat::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(rows).expect("rows serialize")
        );
        return 0;
    }
    let value = serde_json::to_value(rows).expect("rows serialize");
    match crate::manifest::yaml::to_text(&value) {
        Ok(s) => {
            print!("{s}");
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}
