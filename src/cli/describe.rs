//! `berth describe KIND/NAME`: one object in full, as `kubectl describe` shows one: what
//! its manifest declared against what runs (in sync or not), its phase and why, an
//! operator's override, restarts and the last error, its ports and volumes, and its last
//! actions and failures from the history in the state file.

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::output::age;
use super::report::print_json;
use super::{CliError, Context, PlanFormat};
use crate::engine::Engine;
use crate::model::{unix_ms, Declared, LastError, ObjectKey, Observed, Phase, Record, RunState};
use crate::state::OverrideStore;

/// How many history records `describe` shows.
pub const LAST_RECORDS: usize = 10;

/// The object as `-o json` prints it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Description<'a> {
    object: String,
    instance: &'a str,
    phase: Option<Phase>,
    message: Option<&'a str>,
    /// Firing alerts, as `rule: message`.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    alerts: &'a [String],
    /// `berth stop` holds it since (Unix milliseconds).
    stopped_by_operator_since_ms: Option<u64>,
    declared: Option<&'a Declared>,
    container: Option<Container<'a>>,
    /// Declared and running specs agree (`null` when one side is missing).
    in_sync: Option<bool>,
    restarts: u32,
    last_error: Option<&'a LastError>,
    ports: Vec<String>,
    volumes: Vec<String>,
    events: Vec<&'a Record>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Container<'a> {
    name: &'a str,
    id: String,
    image: &'a str,
    state: String,
    health: Option<String>,
    status: &'a str,
    created: i64,
    spec_hash: Option<&'a str>,
    /// The template whose pool made it.
    pool: Option<&'a str>,
}

/// Exit 0; 1 when the instance has no such object; 2 error.
pub async fn run(ctx: &Context, key: &ObjectKey, format: PlanFormat) -> Result<ExitCode, CliError> {
    let engine = ctx.connect().await?;
    let mut observed = engine.list(&ctx.instance).await?;
    engine.fill_health(&mut observed).await;
    let mut mine: Vec<&Observed> = observed
        .iter()
        .filter(|o| o.key.as_ref() == Some(key))
        .collect();
    mine.sort_by_key(|o| (o.state == RunState::Running, o.created));
    let have = mine.last().copied();
    let state = ctx.store().peek()?;
    let entry = state.entry(key);
    let overrides = OverrideStore::new(&ctx.state_dir, &ctx.instance).read()?;
    if have.is_none() && entry.is_none() {
        eprintln!(
            "error: {key}: no such object in instance {:?}",
            ctx.instance
        );
        return Ok(ExitCode::from(1));
    }
    let volumes: Vec<String> = engine
        .list_volumes(&ctx.instance)
        .await?
        .into_iter()
        .filter(|v| v.owner.as_ref().is_some_and(|o| o.is(key)))
        .map(|v| v.name)
        .collect();
    let declared = entry.and_then(|e| e.declared.as_deref());
    let d = Description {
        object: key.to_string(),
        instance: &ctx.instance,
        phase: match (have, entry.and_then(|e| e.phase)) {
            (_, Some(p)) => Some(p),
            (Some(o), None) => Some(Phase::of_container(o.state, o.health)),
            (None, None) => None,
        },
        message: entry.and_then(|e| e.message.as_deref()),
        alerts: entry.map(|e| e.alerts.as_slice()).unwrap_or_default(),
        stopped_by_operator_since_ms: overrides.stopped.get(key).map(unix_ms),
        declared,
        container: have.map(|o| Container {
            name: &o.name,
            id: o.id.chars().take(12).collect(),
            image: &o.image,
            state: o.state.to_string(),
            health: o.health.map(|h| h.to_string()),
            status: &o.status,
            created: o.created,
            spec_hash: o.spec_hash.as_deref(),
            pool: o.pool.as_deref(),
        }),
        in_sync: match (declared, have) {
            (Some(d), Some(o)) => Some(
                o.spec_hash.as_deref() == Some(d.spec_hash.as_str())
                    || (o.pool.is_some() && o.spec_hash.is_some() && o.spec_hash == d.claimed_hash),
            ),
            _ => None,
        },
        restarts: entry.map_or(0, |e| e.runtime.restarts),
        last_error: entry.and_then(|e| e.runtime.last_error.as_ref()),
        ports: have
            .and_then(Observed::spec)
            .map(|s| s.ports.iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
        volumes,
        events: state.history.last_of(key, LAST_RECORDS),
    };
    match format {
        PlanFormat::Json => print_json(&d),
        PlanFormat::Text => out!("{}", text(&d)),
    }
    Ok(ExitCode::SUCCESS)
}

fn ago(ms: u64) -> String {
    let now = unix_ms(&SystemTime::now());
    format!("{} ago", age((now.saturating_sub(ms) / 1000) as i64))
}

fn line(out: &mut String, label: &str, value: impl std::fmt::Display) {
    out.push_str(&format!("{:<14}{value}\n", format!("{label}:")));
}

fn text(d: &Description) -> String {
    let mut out = String::new();
    line(&mut out, "Object", &d.object);
    line(&mut out, "Instance", d.instance);
    let phase = d.phase.map_or("-".to_string(), |p| p.to_string());
    line(&mut out, "Phase", &phase);
    if let Some(m) = d.message {
        line(&mut out, "Reason", m);
    }
    for a in d.alerts {
        line(&mut out, "Alert", format!("firing: {a}"));
    }
    if let Some(since) = d.stopped_by_operator_since_ms {
        line(
            &mut out,
            "Override",
            format!("stopped by berth stop {}", ago(since)),
        );
    }
    match d.declared {
        Some(decl) => {
            out.push_str("Declared:\n");
            line(&mut out, "  Image", &decl.image);
            line(
                &mut out,
                "  State",
                if decl.stopped { "Stopped" } else { "Running" },
            );
            line(&mut out, "  Spec hash", short(&decl.spec_hash));
            line(&mut out, "  Source", &decl.source);
            if let Some(url) = &decl.url {
                line(&mut out, "  URL", url);
            }
            if let Some(pool) = &decl.pool {
                line(&mut out, "  Pool", pool);
            }
            if let Some(ttl) = decl.ttl_ms {
                let ttl = std::time::Duration::from_millis(ttl);
                line(&mut out, "  TTL", humantime::format_duration(ttl));
            }
            if !decl.labels.is_empty() {
                let labels: Vec<String> = decl
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                line(&mut out, "  Labels", labels.join(","));
            }
        }
        None => out.push_str("Declared:     - (no manifest read yet by berth run or apply)\n"),
    }
    match &d.container {
        Some(c) => {
            out.push_str("Container:\n");
            line(&mut out, "  Name", c.name);
            line(&mut out, "  ID", &c.id);
            line(&mut out, "  Image", c.image);
            line(&mut out, "  State", format!("{} ({})", c.state, c.status));
            line(&mut out, "  Health", c.health.as_deref().unwrap_or("-"));
            if let Some(t) = c.pool {
                line(&mut out, "  From pool", t);
            }
            let created = UNIX_EPOCH + std::time::Duration::from_secs(c.created.max(0) as u64);
            line(
                &mut out,
                "  Created",
                format!(
                    "{} ({})",
                    humantime::format_rfc3339_seconds(created),
                    ago(unix_ms(&created))
                ),
            );
            let sync = match d.in_sync {
                Some(true) => " (as declared)",
                Some(false) => " (differs from the declared spec: a recreate is due)",
                None => "",
            };
            line(
                &mut out,
                "  Spec hash",
                format!("{}{sync}", c.spec_hash.map_or("-", short)),
            );
        }
        None => out.push_str("Container:    - (none on the engine)\n"),
    }
    line(&mut out, "Restarts", d.restarts);
    if let Some(e) = d.last_error {
        line(
            &mut out,
            "Last error",
            format!(
                "{} ({}, {})",
                e.message,
                e.class.as_str(),
                ago(unix_ms(&e.at))
            ),
        );
    }
    line(&mut out, "Ports", list(&d.ports));
    line(&mut out, "Volumes", list(&d.volumes));
    out.push_str("Events:\n");
    if d.events.is_empty() {
        out.push_str("  <none>\n");
    }
    for r in &d.events {
        out.push_str(&format!("  {}\n", super::events::line(r, false)));
    }
    out
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "<none>".into()
    } else {
        items.join(", ")
    }
}
