//! Health checks for engines that do not run them (Podman without systemd): each pass hands
//! the running containers that declare a check to a task that runs them at their interval
//! (at most [`CONCURRENCY`] at once) through [`Engine::run_health_check`]; a result that
//! changes a container's health wakes the loop, and each pass lays the latest results on
//! the listing, as the Docker engine's own status line would show them. The container's
//! own timeout, retries and start period are the engine's to apply.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::warn;

use crate::engine::{Engine, EngineEvent};
use crate::model::{DesiredSet, Health, Observed, RunState};

/// Health checks in flight at once.
const CONCURRENCY: usize = 4;

/// One container's check, as the pass hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Check {
    pub id: String,
    pub interval: Duration,
    pub timeout: Duration,
}

/// The loop's side of the driver.
#[derive(Debug)]
pub(super) struct Driver {
    schedule: watch::Sender<Vec<Check>>,
    results: Arc<Mutex<HashMap<String, Health>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Driver {
    /// Starts the task; it signals `wake` when a container's health changes.
    pub(super) fn start<E: Engine>(
        engine: E,
        wake: mpsc::UnboundedSender<(Instant, Option<EngineEvent>)>,
    ) -> Driver {
        let (schedule, rx) = watch::channel(Vec::new());
        let results = Arc::new(Mutex::new(HashMap::new()));
        let task = tokio::spawn(run(engine, rx, results.clone(), wake));
        Driver {
            schedule,
            results,
            task,
        }
    }

    /// Hands over the containers to check (running, current spec, a declared check) and lays
    /// the latest results on the listing: `starting` until a first result.
    pub(super) fn observe(&self, desired: &DesiredSet, observed: &mut [Observed]) {
        let mut checks = Vec::new();
        {
            let results = self.results.lock().expect("not poisoned");
            for o in observed.iter_mut() {
                let Some(check) = desired.current_for(o).and_then(|w| w.spec.health.as_ref())
                else {
                    continue;
                };
                if o.state != RunState::Running {
                    continue;
                }
                o.health = Some(results.get(&o.id).copied().unwrap_or(Health::Starting));
                checks.push(Check {
                    id: o.id.clone(),
                    interval: Duration::from_millis(check.interval_ms.max(1)),
                    timeout: Duration::from_millis(check.timeout_ms.max(1)),
                });
            }
        }
        checks.sort_by(|a, b| a.id.cmp(&b.id));
        self.schedule.send_if_modified(|current| {
            let changed = *current != checks;
            if changed {
                *current = checks;
            }
            changed
        });
    }
}

async fn run<E: Engine>(
    engine: E,
    mut schedule: watch::Receiver<Vec<Check>>,
    results: Arc<Mutex<HashMap<String, Health>>>,
    wake: mpsc::UnboundedSender<(Instant, Option<EngineEvent>)>,
) {
    // When each container's next check is due: a first check one interval after it
    // appeared, as the engine would run it.
    let mut due: HashMap<String, Instant> = HashMap::new();
    let mut warned = false;
    loop {
        let checks = schedule.borrow_and_update().clone();
        let now = Instant::now();
        due.retain(|id, _| checks.iter().any(|c| &c.id == id));
        results
            .lock()
            .expect("not poisoned")
            .retain(|id, _| checks.iter().any(|c| &c.id == id));
        for c in &checks {
            due.entry(c.id.clone()).or_insert(now + c.interval);
        }
        let ready: Vec<Check> = checks
            .iter()
            .filter(|c| due.get(&c.id).is_some_and(|t| *t <= now))
            .cloned()
            .collect();
        if !ready.is_empty() {
            let outcomes: Vec<_> = stream::iter(ready)
                .map(|c| {
                    let engine = engine.clone();
                    async move {
                        let r = engine.run_health_check(&c.id, c.timeout).await;
                        (c, r)
                    }
                })
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
            let mut changed = false;
            for (c, r) in outcomes {
                due.insert(c.id.clone(), Instant::now() + c.interval);
                match r {
                    Ok(Some(h)) => {
                        let before = results.lock().expect("not poisoned").insert(c.id, h);
                        changed |= before != Some(h);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        if !warned {
                            warn!(class = "infrastructure", error = %e, "cannot run a health check on the engine (Podman runs none without systemd; berth runs them through /libpod/containers/{{id}}/healthcheck)");
                            warned = true;
                        }
                    }
                }
            }
            if changed && wake.send((Instant::now(), None)).is_err() {
                return; // the loop is gone
            }
            continue;
        }
        let next = due.values().min().copied();
        tokio::select! {
            r = schedule.changed() => if r.is_err() { return },
            _ = async {
                match next {
                    Some(t) => tokio::time::sleep_until(t).await,
                    None => std::future::pending().await,
                }
            } => {}
        }
    }
}
