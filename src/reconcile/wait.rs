use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{FutureExt, StreamExt};

use crate::engine::{Engine, EngineError, EngineEvent, EventKind};
pub use crate::model::DEFAULT_SETTLE;
use crate::model::{DesiredSet, Health, ObjectKey, Observed, Phase, RunState};

/// An object that did not reach its desired state, and what it was doing instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotReady {
    pub key: ObjectKey,
    pub reason: String,
    /// True when waiting longer cannot help (the container exited and stays down).
    pub failed: bool,
}

/// How `apply --wait` decides that the objects are ready.
#[derive(Debug, Clone, Copy)]
pub struct Readiness {
    /// Give up after this long.
    pub timeout: Duration,
    /// A container counts as running once it has run this long without exiting.
    pub settle: Duration,
    /// When the command began, before its first action: the engine's record of starts
    /// since then says how long each container has been running.
    pub began: SystemTime,
}

/// Between listings when the engine gives no events (a socket proxy without EVENTS).
const POLL: Duration = Duration::from_millis(500);

/// The longest a bounded replay of events may take before the engine counts as one that
/// gives none.
const REPLAY_LIMIT: Duration = Duration::from_secs(5);

/// Waits until every desired object runs its current spec, has run for `settle` without
/// exiting and, where it has a health check, is healthy. Decided from the engine's own
/// record: each round lists the containers, then reads the start events up to that listing
/// (so every start the listing reflects is known, with the engine's time), and waits for the
/// next event or the end of the nearest settle window; no fixed polls. Without events it
/// polls, and a container must be seen running `settle` apart. Returns what is still not
/// ready when `timeout` passes, or as soon as one object has failed for good. An object in
/// `failed` (its action failed just before) has failed for good unless the engine already
/// shows it ready: waiting cannot repair it.
pub async fn wait_ready<E: Engine>(
    engine: &E,
    instance: &str,
    desired: &DesiredSet,
    failed: &HashSet<ObjectKey>,
    r: Readiness,
) -> Result<Vec<NotReady>, EngineError> {
    let deadline = Instant::now() + r.timeout;
    // A start before this instant is settled by the time anything is looked at.
    let from = r.began.checked_sub(r.settle).unwrap_or(r.began);
    let mut starts = Starts::new(from);
    let mut checks: HashMap<String, (Instant, Option<Health>)> = HashMap::new();
    let mut live = Some(engine.events(instance, Some(stamp(SystemTime::now())), None));
    loop {
        let mut observed = engine.list(instance).await?;
        let listed_at = SystemTime::now();
        if !engine.runs_health_checks() {
            run_checks(engine, desired, &mut observed, &mut checks).await;
        }
        starts
            .catch_up(engine, instance, &observed, listed_at)
            .await;
        let mut pending = Vec::new();
        let mut next_settled: Option<SystemTime> = None;
        for (key, want) in &desired.objects {
            let have = observed
                .iter()
                .find(|o| o.key.as_ref() == Some(key) && want.is_current(o));
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
                        let settled_at = starts.started(&o.id) + r.settle;
                        if listed_at >= settled_at {
                            continue;
                        }
                        next_settled = Some(next_settled.map_or(settled_at, |t| t.min(settled_at)));
                        ("running, settling".to_string(), false)
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
        // Look again at the next event, at the end of the nearest settle window, or (without
        // events, or for a health check run here) after a poll interval.
        let mut wake = deadline;
        if let Some(t) = next_settled {
            let after = t.duration_since(SystemTime::now()).unwrap_or_default();
            wake = wake.min(Instant::now() + after + Duration::from_millis(1));
        }
        if starts.polling || live.is_none() || !engine.runs_health_checks() {
            wake = wake.min(Instant::now() + POLL);
        }
        match live.as_mut() {
            Some(stream) => match tokio::time::timeout_at(wake.into(), stream.next()).await {
                Ok(Some(Ok(_))) => drain(stream),
                Ok(Some(Err(_)) | None) => live = None, // no live events: timers and polls
                Err(_) => {}
            },
            None => tokio::time::sleep_until(wake.into()).await,
        }
    }
}

/// Takes whatever else the live stream has ready, without waiting: one look serves a burst.
fn drain(stream: &mut futures_util::stream::BoxStream<'static, Result<EngineEvent, EngineError>>) {
    while let Some(Some(Ok(_))) = stream.next().now_or_never() {}
}

/// When each container last started, from the engine's events; or, when the engine gives
/// none, from when it was first seen running.
struct Starts {
    known_to: SystemTime,
    /// `from` in the listing's whole seconds: a container created since then started since.
    from_secs: i64,
    at: HashMap<String, SystemTime>,
    polling: bool,
}

impl Starts {
    fn new(from: SystemTime) -> Self {
        let secs = from
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        Starts {
            known_to: from,
            from_secs: i64::try_from(secs).unwrap_or(i64::MAX),
            at: HashMap::new(),
            polling: false,
        }
    }

    /// Reads the start events between the last look and `listed_at`. An engine that refuses
    /// the bounded replay, fails it, does not end it at `until`, or leaves out a start it
    /// must have recorded is polled from then on: waiting is never worse than two polls a
    /// window apart.
    async fn catch_up<E: Engine>(
        &mut self,
        engine: &E,
        instance: &str,
        observed: &[Observed],
        listed_at: SystemTime,
    ) {
        if !self.polling {
            let mut replay =
                engine.events(instance, Some(stamp(self.known_to)), Some(stamp(listed_at)));
            let mut starts = Vec::new();
            let read = async {
                while let Some(ev) = replay.next().await {
                    match ev {
                        Ok(e) if e.kind == EventKind::Start => starts.push(e),
                        Ok(_) => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            };
            match tokio::time::timeout(REPLAY_LIMIT, read).await {
                Ok(Ok(())) => {
                    for e in starts {
                        let t = UNIX_EPOCH + Duration::from_nanos(e.time_nano.max(0) as u64);
                        self.at.insert(e.container_id, t);
                    }
                    // A running container created since `from` must have a start in the
                    // replay; one that has none says the replay cannot be trusted.
                    let missed = observed.iter().any(|o| {
                        o.state == RunState::Running
                            && o.created >= self.from_secs
                            && !self.at.contains_key(&o.id)
                    });
                    if !missed {
                        self.known_to = listed_at;
                        return;
                    }
                    tracing::debug!("the event replay misses a start; polling");
                }
                Ok(Err(e)) => tracing::debug!(error = %e, "no event replay; polling"),
                Err(_) => tracing::debug!("the event replay did not end; polling"),
            }
            self.polling = true;
        }
        for o in observed.iter().filter(|o| o.state == RunState::Running) {
            self.at.entry(o.id.clone()).or_insert(listed_at);
        }
    }

    /// When `id` started; a container with no start since the command began had started
    /// before it, and counts as settled.
    fn started(&self, id: &str) -> SystemTime {
        self.at.get(id).copied().unwrap_or(UNIX_EPOCH)
    }
}

/// A Unix time as the engine's `since` and `until` take it.
fn stamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:09}", d.as_secs(), d.subsec_nanos())
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
