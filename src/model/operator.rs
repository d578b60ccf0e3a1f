//! What an operator asked for outside the manifests: `berth stop` keeps an object stopped
//! until `berth start` clears it (kept across restarts of berth), and `berth restart` asks
//! for one stop-and-start in place. The CLI writes them into the state directory; the loop
//! and `berth apply` read them. A manifest's `state: Stopped` still wins over `start`.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::runtime::{time_from_unix_ms, unix_ms};
use super::ObjectKey;

/// A restart request older than this is stale: whoever asked has given up, and acting on it
/// now (after berth was down, say) would surprise everyone.
pub const RESTART_REQUEST_TTL: Duration = Duration::from_secs(600);

/// The operator's overrides of one instance, by object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `berth stop`: the object stays stopped, since this time.
    pub stopped: BTreeMap<ObjectKey, SystemTime>,
    /// `berth restart`: one stop-and-start in place, asked for at this time.
    pub restarts: BTreeMap<ObjectKey, RestartRequest>,
    /// Stopped by berth for being idle, since this time: kept stopped until a request to
    /// its route (or `berth start`) wakes it.
    pub idle: BTreeMap<ObjectKey, SystemTime>,
}

/// One `berth restart`: its id (the Unix milliseconds of the request, made unique) names it
/// in the object's memory once done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RestartRequest {
    pub id: u64,
}

impl RestartRequest {
    pub fn at(&self) -> SystemTime {
        time_from_unix_ms(self.id)
    }

    /// Still to do at `now`: not stale, not done (`done` is the last id the object's memory
    /// says was carried out), and not older than the container (`created`, Unix seconds):
    /// a container made after the request is as fresh as a restart would make it.
    pub fn pending(&self, done: Option<u64>, created: Option<i64>, now: SystemTime) -> bool {
        let stale = now
            .duration_since(self.at())
            .is_ok_and(|age| age > RESTART_REQUEST_TTL);
        let fresher = created.is_some_and(|c| c.saturating_mul(1000) >= self.id as i64);
        !stale && done.is_none_or(|d| d < self.id) && !fresher
    }
}

/// What the operator wants of one declared object, as the planner reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Intent {
    /// `berth stop`: keep it stopped (no start, no crash restart).
    pub stopped: bool,
    /// A pending `berth restart`, by id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<u64>,
    /// Stopped by berth for being idle, until woken.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub idle: bool,
}

impl Overrides {
    pub fn is_empty(&self) -> bool {
        self.stopped.is_empty() && self.restarts.is_empty() && self.idle.is_empty()
    }

    /// A new restart id for `key` at `now`: its Unix milliseconds, above any id already
    /// asked for (two requests within a millisecond stay two).
    pub fn next_restart_id(&self, key: &ObjectKey, now: SystemTime) -> u64 {
        let ms = unix_ms(&now);
        match self.restarts.get(key) {
            Some(r) if r.id >= ms => r.id + 1,
            _ => ms,
        }
    }
}

/// The file form: `kind/name` keys, Unix milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OverridesFile {
    pub version: u32,
    /// `kind/name` → since when (Unix milliseconds).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stopped: BTreeMap<String, u64>,
    /// `kind/name` → request id (Unix milliseconds).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub restarts: BTreeMap<String, u64>,
    /// `kind/name` → idle since (Unix milliseconds).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub idle: BTreeMap<String, u64>,
}

impl From<&Overrides> for OverridesFile {
    fn from(o: &Overrides) -> Self {
        OverridesFile {
            version: 1,
            stopped: o
                .stopped
                .iter()
                .map(|(k, t)| (k.to_string(), unix_ms(t)))
                .collect(),
            restarts: o
                .restarts
                .iter()
                .map(|(k, r)| (k.to_string(), r.id))
                .collect(),
            idle: o
                .idle
                .iter()
                .map(|(k, t)| (k.to_string(), unix_ms(t)))
                .collect(),
        }
    }
}

impl OverridesFile {
    /// The overrides; entries whose key does not read as `kind/name` are dropped.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            stopped: self
                .stopped
                .iter()
                .filter_map(|(k, t)| Some((k.parse().ok()?, time_from_unix_ms(*t))))
                .collect(),
            restarts: self
                .restarts
                .iter()
                .filter_map(|(k, id)| Some((k.parse().ok()?, RestartRequest { id: *id })))
                .collect(),
            idle: self
                .idle
                .iter()
                .filter_map(|(k, t)| Some((k.parse().ok()?, time_from_unix_ms(*t))))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    #[test]
    fn a_restart_request_is_pending_until_done_stale_or_outdated() {
        let t0 = time_from_unix_ms(1_700_000_000_000);
        let r = RestartRequest { id: unix_ms(&t0) };
        assert!(r.pending(None, Some(1_600_000_000), t0));
        assert!(r.pending(Some(r.id - 1), None, t0));
        assert!(!r.pending(Some(r.id), None, t0), "done");
        assert!(
            !r.pending(None, Some(1_700_000_001), t0),
            "a newer container"
        );
        assert!(
            !r.pending(
                None,
                None,
                t0 + RESTART_REQUEST_TTL + Duration::from_secs(1)
            ),
            "stale"
        );
    }

    #[test]
    fn ids_grow_and_the_file_form_round_trips() {
        let key = ObjectKey::new(Kind::Agent, "a");
        let now = time_from_unix_ms(5_000);
        let mut o = Overrides::default();
        assert_eq!(o.next_restart_id(&key, now), 5_000);
        o.restarts.insert(key.clone(), RestartRequest { id: 5_000 });
        assert_eq!(o.next_restart_id(&key, now), 5_001);
        o.stopped.insert(key.clone(), now);
        let file = OverridesFile::from(&o);
        assert_eq!(file.stopped["agent/a"], 5_000);
        assert_eq!(file.overrides(), o);
    }
}
