use std::fmt;

use serde::Serialize;

use super::{ObjectKey, Spec};

/// The engine's view of a container's process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum RunState {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited { code: Option<i64> },
    Dead,
}

impl fmt::Display for RunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunState::Created => f.write_str("Created"),
            RunState::Running => f.write_str("Running"),
            RunState::Paused => f.write_str("Paused"),
            RunState::Restarting => f.write_str("Restarting"),
            RunState::Removing => f.write_str("Removing"),
            RunState::Exited { code: Some(c) } => write!(f, "Exited({c})"),
            RunState::Exited { code: None } => f.write_str("Exited"),
            RunState::Dead => f.write_str("Dead"),
        }
    }
}

/// Result of the engine-native health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Health::Starting => "starting",
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
        })
    }
}

/// A container that carries this instance's ownership label, as the engine reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Observed {
    pub id: String,
    pub name: String,
    /// From the kind and name labels; `None` when they are missing or unreadable.
    pub key: Option<ObjectKey>,
    pub spec_hash: Option<String>,
    /// The spec label as the engine listed it: decoded only when needed (to explain a
    /// recreate, to find a stop grace period or `hostPort: auto` ports), not on every pass.
    #[serde(skip)]
    pub spec_label: Option<String>,
    pub source: Option<String>,
    pub image: String,
    pub state: RunState,
    pub health: Option<Health>,
    /// Unix seconds.
    pub created: i64,
    /// The engine's own one-line status ("Up 3 minutes (healthy)").
    pub status: String,
    /// Names of the named volumes it mounts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<String>,
    /// Its labels (the manifest's and berth's own, but not the long spec label), for
    /// selectors.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: std::collections::BTreeMap<String, String>,
    /// The engine reported a stop request for it (someone ran `docker stop`): when it
    /// exits, that is not a crash. Set from the event stream, never by a listing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stopped_outside: bool,
    /// Its IP address on its network, where a router reaches an exposed port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Made by a Template's warm pool (its `berth.pool` label): a member still, or, when
    /// its name is a Session's, claimed by that Session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// When it last started, as the engine's `start` event stamped it; `None` when berth saw
    /// no start (it started before berth watched). Set by `berth run`, never by a listing.
    #[serde(skip)]
    pub started_at: Option<std::time::SystemTime>,
}

/// The listed containers by object, for lookups that would otherwise scan the whole list
/// once per object.
pub fn by_key(observed: &[Observed]) -> std::collections::HashMap<&ObjectKey, Vec<&Observed>> {
    let mut map: std::collections::HashMap<&ObjectKey, Vec<&Observed>> =
        std::collections::HashMap::with_capacity(observed.len());
    for o in observed {
        if let Some(k) = &o.key {
            map.entry(k).or_default().push(o);
        }
    }
    map
}

impl Observed {
    /// The spec the container was created from, when its label is there and readable.
    pub fn spec(&self) -> Option<Spec> {
        self.spec_label
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
    }
}
