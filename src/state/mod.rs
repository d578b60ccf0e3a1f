//! The state directory of an instance: berth's memory of each object (session start times
//! and expiry, restart counts and backoff, last errors, phases, what was declared), the
//! bounded history of actions, the `hostPort: auto` ports and the volumes' orphan clocks in
//! `<instance>.json` ([`Store`]); the operator's overrides (`berth stop`, `restart`) in
//! `<instance>.overrides.json` ([`OverrideStore`]). Both are written atomically (temporary
//! file, fsync, rename, fsync of the directory), so a kill -9 at any moment leaves either
//! the old or the new file.

mod overrides;
mod store;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use overrides::OverrideStore;
pub use store::Store;

use crate::model::{
    Declared, History, ObjectKey, ObjectRuntime, Phase, PortAllocations, Runtime, VolumeMemory,
};

/// The format version written into the file.
pub const VERSION: u32 = 1;

#[derive(Debug, Error)]
pub enum StateError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("cannot write {path}: {message}")]
    Write { path: String, message: String },
    #[error("another berth run holds {path}: one daemon per instance and state directory")]
    Locked { path: String },
    /// The state directory, or a path on the way to it, is a file.
    #[error("{}", not_a_directory(dir, file))]
    NotADirectory { dir: String, file: String },
}

/// `--state-dir X is a file, not a directory`, or which path on the way to X is one.
fn not_a_directory(dir: &str, file: &str) -> String {
    if dir == file {
        format!("--state-dir {dir} is a file, not a directory")
    } else {
        format!("--state-dir {dir}: {file} is a file, not a directory")
    }
}

/// One object's entry: its runtime memory and the status last reported.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    #[serde(flatten)]
    pub runtime: ObjectRuntime,
    /// The phase last reported (`Running`, `CrashLoopBackOff`, `Expired`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// Why it is in that phase, when the phase alone does not say (a wait, an error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the next action is due (backoff, retry), Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_retry_ms: Option<u64>,
    /// What its manifest declared, last time one was read (shared with the loop's memory,
    /// which keeps it while the manifest stays as it is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared: Option<Arc<Declared>>,
    /// Its firing alerts, as `rule: message`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<String>,
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StateFile {
    pub version: u32,
    pub instance: String,
    /// `kind/name` → entry.
    pub objects: BTreeMap<String, Entry>,
    /// Engine volume name → orphan clock and last policy.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, VolumeMemory>,
    /// `hostPort: auto` assignments: `kind/name` → `containerPort/protocol` → host port.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ports: BTreeMap<String, BTreeMap<String, u16>>,
    /// The recent actions and failures, oldest first.
    #[serde(default, skip_serializing_if = "History::is_empty")]
    pub history: History,
}

impl StateFile {
    pub fn runtime(&self) -> Runtime {
        self.objects
            .iter()
            .filter_map(|(k, e)| Some((k.parse().ok()?, e.runtime.clone())))
            .collect()
    }

    pub fn entry(&self, key: &ObjectKey) -> Option<&Entry> {
        self.objects.get(&key.to_string())
    }

    /// The entries by key (those whose key reads as `kind/name`).
    pub fn entries(&self) -> impl Iterator<Item = (ObjectKey, &Entry)> {
        self.objects
            .iter()
            .filter_map(|(k, e)| Some((k.parse().ok()?, e)))
    }

    /// The remembered `hostPort: auto` assignments.
    pub fn port_allocations(&self) -> PortAllocations {
        self.ports
            .iter()
            .filter_map(|(k, p)| Some((k.parse().ok()?, p.clone())))
            .collect()
    }

    /// Replaces the remembered `hostPort: auto` assignments.
    pub fn set_port_allocations(&mut self, ports: &PortAllocations) {
        self.ports = ports
            .iter()
            .filter(|(_, p)| !p.is_empty())
            .map(|(k, p)| (k.to_string(), p.clone()))
            .collect();
    }

    /// Forgets an object: its entry and its ports (its history stays).
    pub fn forget(&mut self, key: &ObjectKey) {
        self.objects.remove(&key.to_string());
        self.ports.remove(&key.to_string());
    }
}

/// What a pass (or a one-shot command) reports of one object besides its memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Published {
    pub phase: Option<Phase>,
    pub message: Option<String>,
    pub next_retry_ms: Option<u64>,
    pub declared: Option<Arc<Declared>>,
    pub alerts: Vec<String>,
}

/// Builds the file content for `instance`: an entry per object in the runtime or the
/// published statuses.
pub fn snapshot(
    instance: &str,
    runtime: &Runtime,
    mut published: BTreeMap<ObjectKey, Published>,
    volumes: &BTreeMap<String, VolumeMemory>,
    history: &History,
) -> StateFile {
    let mut objects = BTreeMap::new();
    let keys: std::collections::BTreeSet<ObjectKey> =
        runtime.keys().chain(published.keys()).cloned().collect();
    for key in &keys {
        let p = published.remove(key).unwrap_or_default();
        objects.insert(
            key.to_string(),
            Entry {
                runtime: runtime.get(key).cloned().unwrap_or_default(),
                phase: p.phase,
                message: p.message,
                next_retry_ms: p.next_retry_ms,
                declared: p.declared,
                alerts: p.alerts,
            },
        );
    }
    StateFile {
        version: VERSION,
        instance: instance.to_string(),
        objects,
        volumes: volumes.clone(),
        ports: BTreeMap::new(),
        history: history.clone(),
    }
}
