use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::output::{age, table};
use super::GetFormat;
use crate::model::{Health, Observed, RunState};

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

/// `berth get`.
pub async fn run(instance: &str, format: GetFormat) -> u8 {
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
    let rows: Vec<Row> = observed
        .iter()
        .map(|o| Row {
            name: o.key.as_ref().map_or(o.name.clone(), |k| k.name.clone()),
            kind: o.key.as_ref().map_or("?".into(), |k| k.kind.to_string()),
            state: state_of(o),
            health: o.health.map_or("-".into(), |h| h.to_string()),
            restarts: 0,
            age_seconds: (now - o.created).max(0),
            image: o.image.clone(),
            container: o.name.clone(),
            id: o.id.chars().take(12).collect(),
            status: o.status.clone(),
            spec_hash: o.spec_hash.clone().unwrap_or_default(),
            source: o.source.clone().unwrap_or_default(),
        })
        .collect();
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
