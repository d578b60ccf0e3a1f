//! The rows of `berth get`: the engine says what runs; the state file (of `berth run` or
//! the last `apply`) adds restart counts, the phases the engine cannot show
//! (CrashLoopBackOff, Expired, Invalid, a failed create), the objects that have no
//! container, what they declared, and the reason; the overrides mark what `berth stop`
//! holds.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::model::{labels, Kind, ObjectKey, Observed, Overrides, Phase, Selector};
use crate::state::{Entry, StateFile};

/// One row of `berth get`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub name: String,
    pub kind: String,
    pub state: Phase,
    /// `null` without a health check (or a container).
    pub health: Option<String>,
    pub restarts: u32,
    pub age_seconds: Option<i64>,
    pub image: String,
    pub container: Option<String>,
    pub id: Option<String>,
    /// The engine's own status line.
    pub status: Option<String>,
    /// Why it is in its phase, when the phase alone does not say.
    pub message: Option<String>,
    /// `stopped` while `berth stop` holds it.
    #[serde(rename = "override")]
    pub held_by: Option<&'static str>,
    pub spec_hash: Option<String>,
    pub source: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// Where it is exposed (`expose`), as last declared.
    pub url: Option<String>,
}

impl Row {
    pub fn key(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }

    /// The STATE column: the phase, marked when `berth stop` holds it.
    pub fn state_text(&self) -> String {
        match self.held_by {
            Some(_) => format!("{} (berth stop)", self.state),
            None => self.state.to_string(),
        }
    }
}

/// What to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only these kinds (empty: all).
    pub kinds: BTreeSet<Kind>,
    /// Only these objects (empty: all).
    pub objects: BTreeSet<ObjectKey>,
    pub selector: Selector,
}

impl Filter {
    fn admits(&self, key: Option<&ObjectKey>, labels: &BTreeMap<String, String>) -> bool {
        let named = match key {
            Some(k) => {
                (self.kinds.is_empty() || self.kinds.contains(&k.kind))
                    && (self.objects.is_empty() || self.objects.contains(k))
            }
            None => self.kinds.is_empty() && self.objects.is_empty(),
        };
        named && self.selector.matches(labels)
    }
}

/// The engine's phase of a container, unless the state file's last word is one the engine
/// cannot show.
fn merged_phase(o: &Observed, recorded: Option<Phase>) -> Phase {
    let live = Phase::of_container(o.state, o.health);
    match recorded {
        Some(Phase::CrashLoopBackOff) if matches!(live, Phase::Failed | Phase::Stopped) => {
            Phase::CrashLoopBackOff
        }
        Some(p @ (Phase::Expired | Phase::Invalid | Phase::OverQuota)) => p,
        Some(Phase::Stopped) if live != Phase::Running => Phase::Stopped,
        _ => live,
    }
}

/// The labels of an object that has no container: what it declared, and berth's own.
fn declared_labels(key: &ObjectKey, e: &Entry) -> BTreeMap<String, String> {
    let mut l = e
        .declared
        .as_ref()
        .map(|d| d.labels.clone())
        .unwrap_or_default();
    l.insert(labels::KIND.into(), key.kind.to_string());
    l.insert(labels::NAME.into(), key.name.clone());
    l
}

/// The rows, sorted by kind and name; `now` in Unix seconds.
pub fn rows(
    observed: &[Observed],
    state: &StateFile,
    overrides: &Overrides,
    filter: &Filter,
    now: i64,
) -> Vec<Row> {
    let held_by = |k: Option<&ObjectKey>| {
        k.filter(|k| overrides.stopped.contains_key(k))
            .map(|_| "stopped")
    };
    let mut rows: Vec<Row> = Vec::new();
    let mut listed: BTreeSet<ObjectKey> = BTreeSet::new();
    for o in observed {
        if !filter.admits(o.key.as_ref(), &o.labels) {
            continue;
        }
        let entry = o.key.as_ref().and_then(|k| state.entry(k));
        if let Some(k) = &o.key {
            listed.insert(k.clone());
        }
        let mut state = merged_phase(o, entry.and_then(|e| e.phase));
        let by_berth =
            held_by(o.key.as_ref()).is_some() || entry.is_some_and(|e| e.runtime.stopped_by_berth);
        if by_berth && state == Phase::Failed {
            state = Phase::Stopped; // berth stopped it: its exit code says nothing
        }
        let idle = o
            .key
            .as_ref()
            .is_some_and(|k| overrides.idle.contains_key(k));
        if idle && matches!(state, Phase::Stopped | Phase::Failed | Phase::Pending) {
            state = Phase::Idle;
        }
        rows.push(Row {
            name: o.key.as_ref().map_or(o.name.clone(), |k| k.name.clone()),
            kind: o.key.as_ref().map_or("?".into(), |k| k.kind.to_string()),
            state,
            health: o.health.map(|h| h.to_string()),
            restarts: entry.map_or(0, |e| e.runtime.restarts),
            age_seconds: Some((now - o.created).max(0)),
            image: o.image.clone(),
            container: Some(o.name.clone()),
            id: Some(o.id.chars().take(12).collect()),
            status: Some(o.status.clone()),
            message: entry
                .filter(|e| e.phase == Some(state))
                .and_then(|e| e.message.clone()),
            held_by: held_by(o.key.as_ref()),
            url: entry
                .and_then(|e| e.declared.as_ref())
                .and_then(|d| d.url.clone()),
            spec_hash: o.spec_hash.clone(),
            source: o.source.clone(),
            labels: o
                .labels
                .iter()
                .filter(|(k, _)| !k.starts_with(labels::RESERVED_PREFIX))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        });
    }
    for (key, e) in state.entries() {
        let known = e.declared.is_some() || e.phase.is_some() || e.runtime.expired;
        if listed.contains(&key) || !known || key.kind == Kind::Volume {
            continue;
        }
        if !filter.admits(Some(&key), &declared_labels(&key, e)) {
            continue;
        }
        let phase = match e.phase {
            _ if e.runtime.expired => Phase::Expired,
            _ if overrides.idle.contains_key(&key) => Phase::Idle,
            Some(Phase::Running | Phase::Starting | Phase::Unhealthy) | None => Phase::Pending,
            Some(p) => p,
        };
        let message = match phase {
            Phase::Expired => Some("session ttl expired; container removed".to_string()),
            _ => e.message.clone(),
        };
        rows.push(Row {
            name: key.name.clone(),
            kind: key.kind.to_string(),
            state: phase,
            health: None,
            restarts: e.runtime.restarts,
            age_seconds: e
                .runtime
                .first_started
                .and_then(|t| t.elapsed().ok())
                .map(|d| d.as_secs() as i64),
            image: e.declared.as_ref().map_or("-".into(), |d| d.image.clone()),
            container: None,
            id: None,
            status: None,
            message,
            held_by: held_by(Some(&key)),
            url: e.declared.as_ref().and_then(|d| d.url.clone()),
            spec_hash: e.declared.as_ref().map(|d| d.spec_hash.clone()),
            source: e.declared.as_ref().map(|d| d.source.clone()),
            labels: e
                .declared
                .as_ref()
                .map(|d| d.labels.clone())
                .unwrap_or_default(),
        });
    }
    rows.sort_by(|a, b| (&a.kind, &a.name, &a.container).cmp(&(&b.kind, &b.name, &b.container)));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Declared, ObjectRuntime};

    fn entry(phase: Option<Phase>, message: Option<&str>, labels: &[(&str, &str)]) -> Entry {
        Entry {
            runtime: ObjectRuntime::default(),
            phase,
            message: message.map(String::from),
            next_retry_ms: None,
            alerts: Vec::new(),
            declared: Some(std::sync::Arc::new(Declared {
                image: "img:1".into(),
                spec_hash: "h".into(),
                stopped: false,
                labels: labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                source: "/m/a.yaml".into(),
                ttl_ms: None,
                url: None,
                pool: None,
                claimed_hash: None,
            })),
        }
    }

    #[test]
    fn objects_without_a_container_show_their_phase_and_reason_and_filter_by_label() {
        let mut state = StateFile::default();
        state.objects.insert(
            "agent/broken".into(),
            entry(Some(Phase::Failed), Some("image missing"), &[("team", "a")]),
        );
        state
            .objects
            .insert("session/s1".into(), entry(None, None, &[("user", "alice")]));
        let mut overrides = Overrides::default();
        overrides
            .stopped
            .insert(ObjectKey::new(Kind::Session, "s1"), std::time::UNIX_EPOCH);
        let all = rows(&[], &state, &overrides, &Filter::default(), 0);
        let shown: Vec<(String, Phase, Option<String>, Option<&str>)> = all
            .iter()
            .map(|r| (r.key(), r.state, r.message.clone(), r.held_by))
            .collect();
        assert_eq!(
            shown,
            [
                (
                    "agent/broken".into(),
                    Phase::Failed,
                    Some("image missing".into()),
                    None
                ),
                ("session/s1".into(), Phase::Pending, None, Some("stopped")),
            ]
        );
        assert_eq!(all[1].state_text(), "Pending (berth stop)");
        let alice = Filter {
            selector: "user=alice".parse().unwrap(),
            ..Default::default()
        };
        let only: Vec<String> = rows(&[], &state, &overrides, &alice, 0)
            .iter()
            .map(Row::key)
            .collect();
        assert_eq!(only, ["session/s1"]);
        let agents = Filter {
            kinds: [Kind::Agent].into(),
            selector: "berth.kind=agent".parse().unwrap(),
            ..Default::default()
        };
        assert_eq!(rows(&[], &state, &overrides, &agents, 0).len(), 1);
    }
}
