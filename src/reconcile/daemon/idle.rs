//! Idle detection: each pass hands over the running containers of objects with an `idle`
//! rule; a task samples their network counters (one stats call per container, at most
//! [`CONCURRENCY`] at once) and reports an object whose counters have not moved for its
//! whole window. Proxied requests reach the container over its network, so route traffic
//! moves the same counters. The cost is one `GET /containers/{id}/stats` per watched
//! container per sample period ([`sample_period`]).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::debug;

use crate::engine::Engine;
use crate::model::{DesiredSet, ObjectKey, Observed, RunState};

/// Stats calls in flight at once. Docker answers a stats call after about a second however
/// little it does, so the calls are bound by waiting, not by work.
const CONCURRENCY: usize = 16;

/// One container to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Watch {
    pub id: String,
    pub key: ObjectKey,
    pub after: Duration,
}

/// How often a window of `after` is sampled: a quarter of it, between 1 s and 60 s.
pub(super) fn sample_period(after: Duration) -> Duration {
    (after / 4).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

/// The loop's side of the sampler.
#[derive(Debug)]
pub(super) struct Driver {
    schedule: watch::Sender<Vec<Watch>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Driver {
    /// Starts the task; it sends an object's key on `idle` once its container has been
    /// quiet for its window.
    pub(super) fn start<E: Engine>(engine: E, idle: mpsc::UnboundedSender<ObjectKey>) -> Driver {
        let (schedule, rx) = watch::channel(Vec::new());
        let task = tokio::spawn(run(engine, rx, idle));
        Driver { schedule, task }
    }

    /// Hands over the containers to watch: running, current spec, an `idle` rule, not
    /// kept stopped.
    pub(super) fn observe(&self, desired: &DesiredSet, observed: &[Observed]) {
        let mut watches: Vec<Watch> = observed
            .iter()
            .filter(|o| o.state == RunState::Running)
            .filter_map(|o| {
                let want = desired.current_for(o)?;
                let rule = want.idle.filter(|_| !want.keep_stopped())?;
                Some(Watch {
                    id: o.id.clone(),
                    key: want.key.clone(),
                    after: rule.after,
                })
            })
            .collect();
        watches.sort_by(|a, b| a.id.cmp(&b.id));
        self.schedule.send_if_modified(|w| {
            let changed = *w != watches;
            if changed {
                *w = watches;
            }
            changed
        });
    }
}

/// What the sampler remembers of one container.
#[derive(Debug)]
struct Seen {
    bytes: Option<u64>,
    /// When the counters last moved (or watching began).
    quiet_since: Instant,
    next: Instant,
}

async fn run<E: Engine>(
    engine: E,
    mut schedule: watch::Receiver<Vec<Watch>>,
    idle: mpsc::UnboundedSender<ObjectKey>,
) {
    let mut seen: HashMap<String, Seen> = HashMap::new();
    let mut reported: HashSet<String> = HashSet::new();
    loop {
        let watches = schedule.borrow_and_update().clone();
        let now = Instant::now();
        seen.retain(|id, _| watches.iter().any(|w| &w.id == id));
        reported.retain(|id| watches.iter().any(|w| &w.id == id));
        for w in &watches {
            seen.entry(w.id.clone()).or_insert(Seen {
                bytes: None,
                quiet_since: now,
                next: now,
            });
        }
        let due: Vec<String> = watches
            .iter()
            .filter(|w| !reported.contains(&w.id) && seen[&w.id].next <= now)
            .map(|w| w.id.clone())
            .collect();
        let samples: Vec<(String, Option<u64>)> = stream::iter(due.into_iter().map(|id| {
            let engine = engine.clone();
            async move {
                let bytes = match engine.network_bytes(&id).await {
                    Ok(b) => b,
                    Err(e) => {
                        debug!(container = %id, error = %e, "network counters unreadable");
                        None
                    }
                };
                (id, bytes)
            }
        }))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
        let now = Instant::now();
        for (id, bytes) in samples {
            let Some(w) = watches.iter().find(|w| w.id == id) else {
                continue;
            };
            let s = seen.get_mut(&id).expect("inserted above");
            if bytes.is_none() || bytes != s.bytes {
                // Moved, or unreadable: an error never counts as quiet.
                if s.bytes.is_some() || bytes.is_none() {
                    s.quiet_since = now;
                }
                s.bytes = bytes;
            }
            s.next = now + sample_period(w.after);
            if bytes.is_some() && now.duration_since(s.quiet_since) >= w.after {
                reported.insert(id.clone());
                let _ = idle.send(w.key.clone());
            }
        }
        let next = seen.values().map(|s| s.next).min();
        tokio::select! {
            changed = schedule.changed() => if changed.is_err() { return },
            _ = sleep_until(next) => {}
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_sampled_four_times_within_bounds() {
        assert_eq!(
            sample_period(Duration::from_secs(2)),
            Duration::from_secs(1)
        );
        assert_eq!(
            sample_period(Duration::from_secs(60)),
            Duration::from_secs(15)
        );
        assert_eq!(
            sample_period(Duration::from_secs(3600)),
            Duration::from_secs(60)
        );
    }
}
