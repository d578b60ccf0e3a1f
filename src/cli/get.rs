use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::output::{age, table};
use super::GetFormat;
use crate::model::{Health, Observed, RunState};
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

/// The state a person wants to read: health folded in, exit codes judged.
pub(crate) fn state_of(o: &Observed) -> String {
    match (o.state, o.health) {
        (RunState::Running, Some(Health::Starting)) => "Starting".into(),
        (RunState::Running, Some(Health::Unhealthy)) => "Unhealthy".into(),
        (RunState::Running, _) => "Running".into(),
        (RunState::Exited { code: Some(0) }, _) => "Stopped".into(),
        (RunState::Exited { .. }, _) => "Failed".into(),
        (other, _) => other.to_string(),
    }
}

/// The engine's state, unless berth run's last word is one the engine cannot show.
fn merged_phase(o: &Observed, recorded: Option<&str>) -> String {
    let live = state_of(o);
    match recorded {
        Some("CrashLoopBackOff") if live == "Failed" || live == "Stopped" => {
            "CrashLoopBackOff".into()
        }
        Some(p @ ("Expired" | "Invalid")) => p.into(),
        _ => live,
    }
}

/// `berth get`. The engine says what runs; the state file of `berth run` (when there is
/// one) adds restart counts and the phases the engine cannot show (CrashLoopBackOff,
/// Expired, Invalid), and lists expired sessions that no longer have a container.
pub async fn run(instance: &str, format: GetFormat, state_dir: Option<PathBuf>) -> u8 {
    let Some(engine) = super::connect().await else {
        return 2;
    };
    let mut observed = match engine.list(instance).await {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    observed.sort_by(|a, b| (&a.key, &a.name).cmp(&(&b.key, &b.name)));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let dir = state_dir.unwrap_or_else(Store::default_dir);
    let state = match Store::new(&dir, instance).load() {
        Ok((s, _)) => s,
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
            state: merged_phase(o, entry(o).map(|e| e.phase.as_str())),
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
                state: "Expired".into(),
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
        GetFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&rows).expect("rows serialize")
        ),
        GetFormat::Yaml => match serde_saphyr::to_string(&rows) {
            Ok(s) => print!("{s}"),
            Err(e) => {
                eprintln!("error: {e}");
                return 1;
            }
        },
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
                return 0;
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
    0
}
