//! What berth reports: the phase of each object (the STATE column of `berth get`), the
//! `/status` document, the metrics, and the HTTP endpoints of `berth run`.

pub mod http;
pub mod liveness;
pub mod metrics;
pub mod resources;
mod shared;
pub mod ui;
pub mod wake;

use std::time::SystemTime;

use serde::Serialize;

pub use crate::model::Phase;
use crate::model::{
    unix_ms, DesiredContainer, LastError, ObjectKey, ObjectRuntime, Observed, RunState,
};
use crate::plan::{Wait, WaitKind};

/// The phase of one object. Pure. `removing` says whether the plan removes it.
pub fn phase(
    want: Option<&DesiredContainer>,
    held: bool,
    have: Option<&Observed>,
    rt: Option<&ObjectRuntime>,
    waits: &[&Wait],
    removing: bool,
) -> Phase {
    if held {
        return Phase::Invalid;
    }
    let Some(want) = want else {
        return if removing {
            Phase::Terminating
        } else {
            Phase::Orphaned
        };
    };
    if rt.is_some_and(|r| r.expired) {
        return Phase::Expired;
    }
    let retrying = waits.iter().any(|w| w.kind == WaitKind::Retry);
    let idle = want.operator.idle && !want.stopped && !want.operator.stopped;
    let Some(have) = have else {
        return if retrying {
            Phase::Failed
        } else if idle {
            Phase::Idle
        } else if want.keep_stopped() {
            Phase::Stopped
        } else {
            Phase::Pending
        };
    };
    match (have.state, have.health) {
        (RunState::Created | RunState::Exited { .. }, _) if idle => Phase::Idle,
        (RunState::Created | RunState::Exited { .. }, _) if want.keep_stopped() => Phase::Stopped,
        (RunState::Exited { code }, _) => {
            if waits.iter().any(|w| w.kind == WaitKind::Backoff) {
                return Phase::CrashLoopBackOff;
            }
            match (want.restart.policy.restarts(code), code) {
                (true, _) => Phase::Pending, // a start is on its way
                (false, Some(0)) => Phase::Stopped,
                (false, _) => Phase::Failed,
            }
        }
        (state, health) => Phase::of_container(state, health),
    }
}

/// The last action on an object and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LastAction {
    pub action: String,
    pub reason: String,
    pub result: String,
    pub at_ms: u64,
}

/// One object in `/status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectStatus {
    pub kind: String,
    pub name: String,
    pub phase: Phase,
    pub desired: Option<DesiredSummary>,
    pub observed: Option<ObservedSummary>,
    pub restarts: u32,
    /// Current restart delay, milliseconds.
    pub backoff_ms: Option<u64>,
    /// When the next action is due (backoff, retry, TTL), Unix milliseconds.
    pub next_retry_ms: Option<u64>,
    /// Why the object waits, if it does.
    pub waiting: Option<String>,
    /// Sessions: when the TTL runs out, Unix milliseconds.
    pub expires_at_ms: Option<u64>,
    pub last_action: Option<LastAction>,
    pub last_error: Option<ErrorSummary>,
    /// Its labels as declared (the manifest's and its template's).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: std::collections::BTreeMap<String, String>,
    /// The template it names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Where it is exposed (`expose`): `/s/name/` or `http://host/path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Its published ports, `hostPort: auto` filled in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PublishedPort>,
    /// What its container uses, as last sampled (`--stats-interval`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<resources::UsageView>,
    /// Its firing alerts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<crate::model::Alert>,
}

/// A container port published on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishedPort {
    pub container_port: u16,
    pub protocol: String,
    pub host_port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
}

impl ObjectStatus {
    /// Why it is in its phase, when the phase alone does not say: what it waits for, or
    /// its last error.
    pub fn message(&self) -> Option<String> {
        if self.phase == Phase::Invalid {
            return Some("its manifest has errors; what runs is left as it is".into());
        }
        self.waiting
            .clone()
            .or_else(|| self.last_error.as_ref().map(|e| e.message.clone()))
    }
}

/// The declared side of an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredSummary {
    pub image: String,
    pub spec_hash: String,
    pub state: String,
    pub ttl: Option<String>,
    pub source: String,
}

/// The engine's side of an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedSummary {
    pub container: String,
    pub id: String,
    pub state: String,
    pub health: Option<String>,
    pub status: String,
    pub spec_hash: Option<String>,
    /// When the engine created the container, Unix milliseconds.
    pub created_at_ms: u64,
    /// When it last started, Unix milliseconds, if berth saw the start (`berth run`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at_ms: Option<u64>,
}

/// An error with its class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorSummary {
    pub class: String,
    pub message: String,
    pub at_ms: u64,
}

impl From<&LastError> for ErrorSummary {
    fn from(e: &LastError) -> Self {
        ErrorSummary {
            class: e.class.as_str().to_string(),
            message: e.message.clone(),
            at_ms: unix_ms(&e.at),
        }
    }
}

/// The whole `/status` document.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub instance: String,
    pub ready: bool,
    /// When the last reconcile finished, Unix milliseconds.
    pub last_reconcile_ms: Option<u64>,
    /// An infrastructure error that stopped the last reconcile, if any.
    pub engine_error: Option<String>,
    /// Manifest diagnostics from the last load, as `file:line:col: path: message`.
    pub diagnostics: Vec<String>,
    pub objects: Vec<ObjectStatus>,
    /// The instance's volumes: in use or orphaned, their policy and expiry.
    pub volumes: Vec<crate::plan::volumes::VolumeStatus>,
    /// [`shared::Shared::manifest_reads`] when the pass that made it read the manifests.
    #[serde(skip)]
    pub manifest_reads: u64,
}

/// Builds one object's status. Pure apart from formatting.
#[allow(clippy::too_many_arguments)]
pub fn object_status(
    key: &ObjectKey,
    want: Option<&DesiredContainer>,
    held: bool,
    have: Option<&Observed>,
    rt: Option<&ObjectRuntime>,
    waits: &[&Wait],
    removing: bool,
    last_action: Option<&LastAction>,
) -> ObjectStatus {
    let next = waits
        .iter()
        .filter(|w| w.kind != WaitKind::Ttl)
        .map(|w| w.until)
        .min();
    let waiting = waits
        .iter()
        .filter(|w| w.kind != WaitKind::Ttl)
        .map(|w| w.reason.clone())
        .next();
    let expires = match (want.and_then(|w| w.ttl), rt.and_then(|r| r.first_started)) {
        (Some(ttl), Some(start)) => Some(unix_ms(&(start + ttl))),
        _ => None,
    };
    ObjectStatus {
        kind: key.kind.to_string(),
        name: key.name.clone(),
        phase: phase(want, held, have, rt, waits, removing),
        desired: want.map(|w| DesiredSummary {
            image: w.spec.image.clone(),
            spec_hash: w.hash.clone(),
            state: if w.stopped { "Stopped" } else { "Running" }.into(),
            ttl: w.ttl.map(|t| humantime::format_duration(t).to_string()),
            source: w.source.clone(),
        }),
        observed: have.map(|o| ObservedSummary {
            container: o.name.clone(),
            id: o.id.chars().take(12).collect(),
            state: o.state.to_string(),
            health: o.health.map(|h| h.to_string()),
            status: o.status.clone(),
            spec_hash: o.spec_hash.clone(),
            created_at_ms: (o.created.max(0) as u64) * 1000,
            started_at_ms: o.started_at.as_ref().map(crate::model::unix_ms),
        }),
        restarts: rt.map_or(0, |r| r.restarts),
        backoff_ms: rt.and_then(|r| r.backoff).map(|b| b.as_millis() as u64),
        next_retry_ms: next.map(|t| unix_ms(&t)),
        waiting,
        expires_at_ms: expires,
        last_action: last_action.cloned(),
        last_error: rt
            .and_then(|r| r.last_error.as_ref())
            .map(ErrorSummary::from),
        labels: want.map(|w| w.spec.labels.clone()).unwrap_or_default(),
        template: want.and_then(|w| w.template.clone()),
        url: want.and_then(|w| w.expose.as_ref()).map(|e| e.url()),
        ports: want
            .into_iter()
            .flat_map(|w| &w.spec.ports)
            .filter_map(|p| {
                Some(PublishedPort {
                    container_port: p.container_port,
                    protocol: p.protocol.to_string(),
                    host_port: p.host_port?,
                    host_ip: p.host_ip.clone(),
                })
            })
            .collect(),
        usage: None,
        alerts: Vec::new(),
    }
}

impl Report {
    /// The latest readings and alerts laid over the report (they change between passes).
    pub fn with_usage(mut self, usage: &resources::UsageMap) -> Report {
        let map = usage.read().expect("not poisoned");
        for o in &mut self.objects {
            let Ok(kind) = o.kind.parse::<crate::model::Kind>() else {
                continue;
            };
            if let Some(m) = map.get(&ObjectKey::new(kind, o.name.clone())) {
                o.usage = resources::UsageView::of(&m.series);
                o.alerts = m.alerts.clone();
            }
        }
        self
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    unix_ms(&SystemTime::now())
}
