//! What berth remembers about each object between reconciles: restart counts and backoff,
//! when a session first started, whether it expired, the last error. The controller keeps
//! it, the planner reads it, and the state file persists it.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::ObjectKey;

/// Failure classes: every error berth reports is one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureClass {
    /// Bad input: the manifest is wrong.
    Manifest,
    /// A policy refuses the manifest.
    Policy,
    /// The engine or a proxy is unreachable, refuses, or fails (5xx).
    Infrastructure,
    /// The container itself: non-zero exit, OOM-killed, unhealthy, image missing.
    Workload,
}

impl FailureClass {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::Manifest => "manifest",
            FailureClass::Policy => "policy",
            FailureClass::Infrastructure => "infrastructure",
            FailureClass::Workload => "workload",
        }
    }
}

/// The last error seen for an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastError {
    pub class: FailureClass,
    pub message: String,
    #[serde(with = "unix_ms")]
    pub at: SystemTime,
}

/// Per-object memory of the controller.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRuntime {
    /// Restarts berth made (crash or unhealthy), since the object's spec last changed.
    #[serde(default)]
    pub restarts: u32,
    /// Times the kernel killed its container for its memory limit (an `oom` event before
    /// the exit), as berth saw them.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub oom_kills: u32,
    /// Delay before the next restart; doubles per restart up to the maximum and falls back
    /// to the initial value after a stable run.
    #[serde(default, with = "opt_ms", skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Duration>,
    /// When the current container was first seen down (exited, dead) or unhealthy.
    #[serde(default, with = "opt_unix_ms", skip_serializing_if = "Option::is_none")]
    pub down_since: Option<SystemTime>,
    /// When the current container was first seen running and healthy (not persisted
    /// meaningfully across berth restarts: it restarts the stability clock).
    #[serde(default, with = "opt_unix_ms", skip_serializing_if = "Option::is_none")]
    pub running_since: Option<SystemTime>,
    /// Sessions: the first time the container was seen running. TTL counts from here.
    #[serde(default, with = "opt_unix_ms", skip_serializing_if = "Option::is_none")]
    pub first_started: Option<SystemTime>,
    /// berth stopped the container because the object was declared `Stopped`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stopped_by_berth: bool,
    /// Sessions: the TTL passed; the object is not started again while its manifest stays.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expired: bool,
    /// Times of the restarts made because the container was unhealthy (within the window).
    #[serde(default, with = "vec_unix_ms", skip_serializing_if = "Vec::is_empty")]
    pub unhealthy_restarts: Vec<SystemTime>,
    /// After a failed action: nothing is tried again before this time.
    #[serde(default, with = "opt_unix_ms", skip_serializing_if = "Option::is_none")]
    pub not_before: Option<SystemTime>,
    /// Consecutive failed actions (drives the retry delay after errors).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failures: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<LastError>,
    /// The last `berth restart` carried out (its request id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_done: Option<u64>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Runtime memory of every object, by key.
pub type Runtime = BTreeMap<ObjectKey, ObjectRuntime>;

/// Host ports assigned for `hostPort: auto`: object → `containerPort/protocol` → host port.
/// The planner assigns them; the state file remembers them across restarts.
pub type PortAllocations = BTreeMap<ObjectKey, BTreeMap<String, u16>>;

/// Serde helpers: times as Unix milliseconds, durations as milliseconds.
mod unix_ms {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn to_ms(t: &SystemTime) -> u64 {
        t.duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn from_ms(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    pub fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(to_ms(t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        Ok(from_ms(u64::deserialize(d)?))
    }
}

mod opt_unix_ms {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_some(&super::unix_ms::to_ms(t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SystemTime>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(super::unix_ms::from_ms))
    }
}

mod vec_unix_ms {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[SystemTime], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(super::unix_ms::to_ms))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SystemTime>, D::Error> {
        Ok(Vec::<u64>::deserialize(d)?
            .into_iter()
            .map(super::unix_ms::from_ms)
            .collect())
    }
}

mod opt_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

pub use unix_ms::{from_ms as time_from_unix_ms, to_ms as unix_ms};
