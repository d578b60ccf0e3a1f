use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::engine::{Engine, EngineError};
use crate::model::{DesiredSet, Health, ObjectKey, Observed, Phase, RunState};

/// An object that did not reach its desired state, and what it was doing instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotReady {
    pub key: ObjectKey,
    pub reason: String,
    /// True when waiting longer cannot help (the container exited and stays down).
    pub failed: bool,
}

/// Polls the engine until every desired object runs its current spec and, where it has a
/// health check, is healthy. A container is ready only when two polls in a row see the same
/// container ready, so one that crashes right after its start is not taken for running.
/// Returns what is still not ready when `timeout` passes, or as soon as one object has
/// failed for good. An object in `failed` (its action failed just before) has failed for
/// good unless the engine already shows it ready: waiting cannot repair it.
pub async fn wait_ready<E: Engine>(
    engine: &E,
    instance: &str,
    desired: &DesiredSet,
    failed: &HashSet<ObjectKey>,
    timeout: Duration,
    poll: Duration,
) -> Result<Vec<NotReady>, EngineError> {
    let deadline = Instant::now() + timeout;
    let mut ready_before: HashSet<String> = HashSet::new();
    let mut checks: HashMap<String, (Instant, Option<Health>)> = HashMap::new();
    loop {
        let mut ready_now = HashSet::new();
        let mut observed = engine.list(instance).await?;
        if !engine.runs_health_checks() {
            run_checks(engine, desired, &mut observed, &mut checks).await;
        }
        let mut pending = Vec::new();
        for (key, want) in &desired.objects {
            let have = observed.iter().find(|o| {
                o.key.as_ref() == Some(key) && o.spec_hash.as_deref() == Some(&want.hash)
            });
            let phase = have.map(|o| Phase::of_container(o.state, o.health));
            let (reason, failed) = match have {
                _ if failed.contains(key)
                    && !matches!(phase, Some(Phase::Running | Phase::Starting)) =>
                {
                    let now = have.map_or("no container".to_string(), |o| o.state.to_string());
                    (format!("its action failed ({now})"), true)
                }
                None => ("no container with the current spec".to_string(), false),
                Some(o) => match Phase::of_container(o.state, o.health) {
                    Phase::Running => {
                        ready_now.insert(o.id.clone());
                        if ready_before.contains(&o.id) {
                            continue;
                        }
                        ("running, confirming".to_string(), false)
                    }
                    Phase::Starting => ("running, health check starting".to_string(), false),
                    Phase::Unhealthy => ("running but unhealthy".to_string(), false),
                    Phase::Stopped | Phase::Failed => match o.state {
                        RunState::Exited { code } => (
                            format!(
                                "exited with code {}",
                                code.map_or("unknown".to_string(), |c| c.to_string())
                            ),
                            true,
                        ),
                        _ => ("dead".to_string(), true),
                    },
                    _ => (o.state.to_string(), false),
                },
            };
            pending.push(NotReady {
                key: key.clone(),
                reason,
                failed,
            });
        }
        if pending.is_empty() || pending.iter().any(|p| p.failed) || Instant::now() >= deadline {
            return Ok(pending);
        }
        ready_before = ready_now;
        tokio::time::sleep(poll.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

/// On an engine that runs no health checks (Podman without systemd), runs each running
/// container's check once per its interval and lays the results on the listing, as
/// `berth run` does: `starting` until a first result.
async fn run_checks<E: Engine>(
    engine: &E,
    desired: &DesiredSet,
    observed: &mut [Observed],
    checks: &mut HashMap<String, (Instant, Option<Health>)>,
) {
    for o in observed.iter_mut().filter(|o| o.state == RunState::Running) {
        let Some(check) = desired.current_for(o).and_then(|w| w.spec.health.as_ref()) else {
            continue;
        };
        let interval = Duration::from_millis(check.interval_ms.max(1));
        let entry = checks.entry(o.id.clone()).or_insert((Instant::now(), None));
        if entry.0.elapsed() >= interval {
            let timeout = Duration::from_millis(check.timeout_ms.max(1));
            if let Ok(h) = engine.run_health_check(&o.id, timeout).await {
                entry.1 = h.or(entry.1);
            }
            entry.0 = Instant::now();
        }
        o.health = Some(entry.1.unwrap_or(Health::Starting));
    }
}
