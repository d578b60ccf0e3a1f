//! What the loop shares with the HTTP endpoints of `berth run`.

use std::collections::BTreeMap;
use std::sync::{Mutex, RwLock};

use tokio::sync::mpsc;

use super::liveness::Liveness;
use super::metrics::Metrics;
use super::Report;
use crate::model::ObjectKey;

/// What the controller shares with the HTTP endpoints.
#[derive(Debug, Default)]
pub struct Shared {
    /// Ready after the first complete reconcile, and the loop's heartbeat.
    pub liveness: Liveness,
    pub report: RwLock<Report>,
    pub metrics: Metrics,
    /// Where the wake endpoint asks the loop to wake an idle object (set by `berth run`).
    pub wake: Mutex<Option<mpsc::UnboundedSender<ObjectKey>>>,
    /// The exposed objects whose routes, in every router, lead to their container now.
    /// For each, the container address its routes lead to (`None`: they lead to berth).
    pub routed: RwLock<BTreeMap<ObjectKey, Option<String>>>,
    /// Requests the wake endpoint may hold at once.
    pub wake_holds: WakeHolds,
    /// Counts the reports published: whoever waits for an object's phase (the session
    /// API's `?wait=`) wakes on each.
    pub published: tokio::sync::watch::Sender<u64>,
    /// Counts the loop's reads of the manifests (each starts a pass whose report carries
    /// the count), so a waiter can tell a report made after its change from an older one.
    pub manifest_reads: std::sync::atomic::AtomicU64,
}

/// At most [`WakeHolds::MAX`] wake requests held at once; more get `503` at once, so a flood
/// of requests cannot pile up in memory.
#[derive(Debug)]
pub struct WakeHolds(pub tokio::sync::Semaphore);

impl WakeHolds {
    pub const MAX: usize = 256;
}

impl Default for WakeHolds {
    fn default() -> Self {
        WakeHolds(tokio::sync::Semaphore::new(Self::MAX))
    }
}

impl Shared {
    /// Tells whoever waits that a new report is out.
    pub fn announce(&self) {
        self.published.send_modify(|n| *n += 1);
    }

    pub fn new(instance: &str) -> Shared {
        let s = Shared::default();
        s.report.write().expect("not poisoned").instance = instance.to_string();
        s
    }
}
