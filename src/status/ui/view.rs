//! What the dashboard shows, every value formatted: read from the `/status` document as
//! JSON (see [`super`]), each rule as `app.js` has it too.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use serde::Serialize;
use serde_json::Value;

use crate::model::Selector;

/// The points a sparkline keeps (the newest).
const SPARK_POINTS: usize = 60;

/// What the template shows, every value already formatted.
#[derive(Debug, Serialize)]
pub struct Page {
    instance: String,
    ready: bool,
    last_reconcile: String,
    engine_error: Option<String>,
    diagnostics: Vec<String>,
    diagnostics_count: usize,
    selector: String,
    selector_error: Option<String>,
    objects: Vec<Row>,
    shown: usize,
    total: usize,
    volumes: Vec<VolumeRow>,
}

#[derive(Debug, Serialize)]
struct Row {
    key: String,
    kind: String,
    name: String,
    /// `user=u1,tier=free`, as a selector would name them.
    labels: String,
    phase: String,
    health: String,
    restarts: u64,
    age: String,
    cpu: String,
    cpu_spark: Option<String>,
    memory: String,
    memory_spark: Option<String>,
    url: String,
    /// Whether `url` is a link: only a full `http(s)://` URL. A bare path is on the router's
    /// address, not on this server's.
    link: bool,
    action: String,
    reason: String,
    action_title: String,
    action_failed: bool,
    alerts: Vec<Alert>,
    message: String,
    hidden: bool,
}

#[derive(Debug, Serialize)]
struct Alert {
    name: String,
    message: String,
}

#[derive(Debug, Serialize)]
struct VolumeRow {
    name: String,
    owner: String,
    state: String,
    cleanup: String,
}

const NONE: &str = "-";

fn text(v: &Value, pointer: &str) -> Option<String> {
    match v.pointer(pointer)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn text_or_none(v: &Value, pointer: &str) -> String {
    text(v, pointer).unwrap_or_else(|| NONE.to_string())
}

fn num(v: &Value, pointer: &str) -> Option<f64> {
    v.pointer(pointer).and_then(Value::as_f64)
}

/// The page for the document `doc`, its rows filtered by `selector` (kubectl syntax; one
/// that does not parse filters nothing and says why).
pub fn page(doc: &Value, selector: &str, now_ms: u64) -> Page {
    let (parsed, selector_error) = match selector.parse::<Selector>() {
        Ok(s) => (s, None),
        Err(e) => (Selector::default(), Some(e.to_string())),
    };
    let list = |p: &str| doc.pointer(p).and_then(Value::as_array).cloned();
    let objects: Vec<Row> = list("/objects")
        .unwrap_or_default()
        .iter()
        .map(|o| row(o, &parsed, now_ms))
        .collect();
    let diagnostics: Vec<String> = list("/diagnostics")
        .unwrap_or_default()
        .iter()
        .filter_map(|d| d.as_str().map(String::from))
        .collect();
    Page {
        instance: text_or_none(doc, "/instance"),
        ready: doc.pointer("/ready").and_then(Value::as_bool) == Some(true),
        last_reconcile: num(doc, "/lastReconcileMs")
            .map_or_else(|| NONE.to_string(), |ms| timestamp(ms as u64)),
        engine_error: text(doc, "/engineError"),
        diagnostics_count: diagnostics.len(),
        diagnostics,
        selector: selector.to_string(),
        selector_error,
        shown: objects.iter().filter(|r| !r.hidden).count(),
        total: objects.len(),
        objects,
        volumes: list("/volumes")
            .unwrap_or_default()
            .iter()
            .map(|v| VolumeRow {
                name: text_or_none(v, "/name"),
                owner: text_or_none(v, "/owner"),
                state: text_or_none(v, "/state"),
                cleanup: text_or_none(v, "/cleanup"),
            })
            .collect(),
    }
}

fn row(o: &Value, selector: &Selector, now_ms: u64) -> Row {
    let labels: BTreeMap<String, String> = o
        .get("labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect();
    let (kind, name) = (text_or_none(o, "/kind"), text_or_none(o, "/name"));
    let phase = text_or_none(o, "/phase");
    let history: Vec<&Value> = o
        .pointer("/usage/history")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let series = |field: &str| -> Vec<f64> {
        history
            .iter()
            .filter_map(|h| h.get(field).and_then(Value::as_f64))
            .collect()
    };
    let url = text(o, "/url").unwrap_or_default();
    let result = text(o, "/lastAction/result").unwrap_or_default();
    Row {
        key: format!("{kind}/{name}"),
        labels: labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
        hidden: !selector.matches(&labels),
        kind,
        name,
        health: text_or_none(o, "/observed/health"),
        restarts: num(o, "/restarts").map_or(0, |r| r as u64),
        age: num(o, "/observed/createdAtMs").map_or_else(
            || NONE.to_string(),
            |c| age(now_ms.saturating_sub(c as u64)),
        ),
        cpu: num(o, "/usage/cpuPercent").map_or_else(|| NONE.to_string(), |c| format!("{c:.1}%")),
        cpu_spark: spark(&series("cpuPercent"), 1.0),
        memory: memory(o),
        memory_spark: spark(&series("memoryBytes"), 1024.0 * 1024.0),
        link: url.starts_with("http://") || url.starts_with("https://"),
        url: if url.is_empty() { NONE.into() } else { url },
        action: text(o, "/lastAction/action").unwrap_or_default(),
        reason: text(o, "/lastAction/reason").unwrap_or_default(),
        action_title: match num(o, "/lastAction/atMs") {
            Some(at) => format!("{result} at {}", timestamp(at as u64)),
            None => result.clone(),
        },
        action_failed: !result.is_empty() && result != "ok",
        alerts: o
            .get("alerts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|a| a.get("state").and_then(Value::as_str) == Some("firing"))
            .map(|a| Alert {
                name: text_or_none(a, "/name"),
                message: text(a, "/message").unwrap_or_default(),
            })
            .collect(),
        message: message(o, &phase),
        phase,
    }
}

/// As [`super::ObjectStatus::message`] says it.
fn message(o: &Value, phase: &str) -> String {
    if phase == "Invalid" {
        return "its manifest has errors; what runs is left as it is".into();
    }
    text(o, "/waiting")
        .or_else(|| text(o, "/lastError/message"))
        .unwrap_or_else(|| NONE.to_string())
}

/// `12.0 MiB / 64.0 MiB` (used / limit), or only the used when there is no limit.
fn memory(o: &Value) -> String {
    let Some(used) = num(o, "/usage/memoryBytes") else {
        return NONE.to_string();
    };
    match num(o, "/usage/memoryLimitBytes").filter(|l| *l > 0.0) {
        Some(limit) => format!("{} / {}", bytes(used), bytes(limit)),
        None => bytes(used),
    }
}

/// `512 B`, `1.5 KiB`, `12.0 MiB`, `2.0 GiB`.
fn bytes(n: f64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024.0 {
        return format!("{n:.0} B");
    }
    let mut v = n / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// kubectl's way: `45s`, `12m`, `5h`, `3d`.
fn age(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..120 => format!("{s}s"),
        120..7200 => format!("{}m", s / 60),
        7200..172_800 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// `2024-05-01T12:00:00Z`.
fn timestamp(ms: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

/// The points of a 60×16 polyline over the newest [`SPARK_POINTS`] values, scaled to
/// their maximum (at least `floor`); none for fewer than two values. `app.js` draws the
/// same.
fn spark(values: &[f64], floor: f64) -> Option<String> {
    let values = &values[values.len().saturating_sub(SPARK_POINTS)..];
    if values.len() < 2 {
        return None;
    }
    let max = values.iter().copied().fold(floor, f64::max);
    let step = 60.0 / (values.len() - 1) as f64;
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let y = 15.0 - v.max(0.0) / max * 14.0;
            format!("{:.1},{y:.1}", i as f64 * step)
        })
        .collect();
    Some(points.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(1536.0), "1.5 KiB");
        assert_eq!(bytes(3.0 * 1024.0 * 1024.0 * 1024.0), "3.0 GiB");
        assert_eq!(age(119_999), "119s");
        assert_eq!(age(120_000), "2m");
        assert_eq!(age(7_200_000), "2h");
        assert_eq!(age(172_800_000), "2d");
        assert_eq!(spark(&[1.0], 1.0), None);
        assert_eq!(spark(&[0.0, 0.5], 1.0).unwrap(), "0.0,15.0 60.0,8.0");
        let long: Vec<f64> = (0..100).map(f64::from).collect();
        assert_eq!(spark(&long, 1.0).unwrap().split(' ').count(), SPARK_POINTS);
    }
}
