//! Resource sampling and alerts: each pass hands over the declared objects that have a
//! container; a task reads the running ones' counters (one stats call each, at most
//! [`CONCURRENCY`] at once) every `--stats-interval`, keeps a short history per object in
//! the shared map that `/status` and `/metrics` read, judges the alert rules
//! ([`crate::plan::alerts`]) and tells what fired or resolved: in the log and on the
//! webhook. A failed stats call skips one reading; it never leads to an action.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::stream::{self, StreamExt};
use tokio::sync::watch;
use tracing::{info, warn};

use super::clock::Clock;
use crate::engine::Engine;
use crate::model::{
    Actor, AlertRules, Cause, DesiredSet, Happening, History, ObjectKey, Observed, RunState,
    Runtime, Series,
};
use crate::plan::alerts::{AlertState, Subject, Transition};
use crate::status::resources::UsageMap;
use crate::webhook::{Notification, Webhook};

/// Stats calls in flight at once (each takes about a second on Docker, mostly waiting).
const CONCURRENCY: usize = 16;

/// One object to sample.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Watch {
    pub key: ObjectKey,
    pub id: String,
    pub running: bool,
    /// Its CPU limit in cores.
    pub cores: Option<f64>,
    pub rules: AlertRules,
    /// When berth restarted it (crash or unhealthy), oldest first.
    pub restarts_at: Vec<SystemTime>,
    pub restarts: u32,
    pub oom_kills: u32,
    /// `label_<key>` → value for `--metric-labels`.
    pub labels: Vec<(String, String)>,
}

/// What the sampler needs besides the engine.
#[derive(Debug, Clone)]
pub struct Settings {
    pub instance: String,
    /// `--stats-interval`; zero turns sampling off (alerts on restarts still work).
    pub interval: Duration,
    /// `--metric-labels`: the object labels exported with each series.
    pub metric_labels: Vec<String>,
    pub webhook: Option<Webhook>,
}

/// The loop's side of the sampler.
#[derive(Debug)]
pub(super) struct Driver {
    schedule: watch::Sender<Vec<Watch>>,
    metric_labels: Vec<String>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Driver {
    pub(super) fn start<E: Engine>(
        engine: E,
        settings: Settings,
        usage: UsageMap,
        clock: Arc<dyn Clock>,
    ) -> Driver {
        let (schedule, rx) = watch::channel(Vec::new());
        let metric_labels = settings.metric_labels.clone();
        let task = tokio::spawn(run(engine, settings, rx, usage, clock));
        Driver {
            schedule,
            metric_labels,
            task,
        }
    }

    /// Hands over the declared objects that have a container of their current spec.
    pub(super) fn observe(
        &self,
        desired: &DesiredSet,
        observed: &[Observed],
        runtime: &Runtime,
        history: &History,
    ) {
        let mut restarts: BTreeMap<&ObjectKey, Vec<SystemTime>> = BTreeMap::new();
        for r in history.records() {
            if let (
                Actor::Run,
                Happening::Action {
                    cause, error: None, ..
                },
            ) = (r.by, &r.what)
            {
                if matches!(cause, Cause::Crashed | Cause::Unhealthy) {
                    restarts.entry(&r.object).or_default().push(r.at);
                }
            }
        }
        let mut watches: Vec<Watch> = observed
            .iter()
            .filter_map(|o| {
                let want = desired.current_for(o)?;
                let rt = runtime.get(&want.key);
                Some(Watch {
                    key: want.key.clone(),
                    id: o.id.clone(),
                    running: o.state == RunState::Running,
                    cores: want.spec.nano_cpus.map(|n| n as f64 / 1e9),
                    rules: want.alerts,
                    restarts_at: restarts.get(&want.key).cloned().unwrap_or_default(),
                    restarts: rt.map_or(0, |r| r.restarts),
                    oom_kills: rt.map_or(0, |r| r.oom_kills),
                    labels: self
                        .metric_labels
                        .iter()
                        .map(|k| {
                            let v = want.spec.labels.get(k).cloned().unwrap_or_default();
                            (format!("label_{}", sanitize(k)), v)
                        })
                        .collect(),
                })
            })
            .collect();
        watches.sort_by(|a, b| a.key.cmp(&b.key));
        watches.dedup_by(|a, b| a.key == b.key);
        self.schedule.send_if_modified(|w| {
            let changed = *w != watches;
            if changed {
                *w = watches;
            }
            changed
        });
    }
}

/// A label key as a Prometheus label name: letters, digits and `_`.
fn sanitize(key: &str) -> String {
    key.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

async fn run<E: Engine>(
    engine: E,
    settings: Settings,
    mut rx: watch::Receiver<Vec<Watch>>,
    usage: UsageMap,
    clock: Arc<dyn Clock>,
) {
    let mut alerts = AlertState::default();
    let tick = if settings.interval.is_zero() {
        Duration::from_secs(30)
    } else {
        settings.interval
    };
    loop {
        let watches = rx.borrow_and_update().clone();
        let samples: Vec<_> = if settings.interval.is_zero() {
            Vec::new()
        } else {
            let running: Vec<(ObjectKey, String, Option<f64>)> = watches
                .iter()
                .filter(|w| w.running)
                .map(|w| (w.key.clone(), w.id.clone(), w.cores))
                .collect();
            stream::iter(running)
                .map(|(key, id, cores)| {
                    let engine = engine.clone();
                    async move {
                        let result = engine.usage(&id).await;
                        (key, cores, result)
                    }
                })
                .buffer_unordered(CONCURRENCY)
                .collect::<Vec<_>>()
                .await
        };
        let now = clock.now();
        let transitions = {
            let mut map = usage.write().expect("not poisoned");
            let watched: std::collections::HashSet<&ObjectKey> =
                watches.iter().map(|w| &w.key).collect();
            map.retain(|k, _| watched.contains(k));
            for w in &watches {
                let m = map.entry(w.key.clone()).or_default();
                m.labels = w.labels.clone();
                m.restarts = w.restarts;
                m.oom_kills = w.oom_kills;
                if !w.running || m.series.container != w.id {
                    m.series = Series {
                        container: w.id.clone(),
                        ..Series::default()
                    };
                }
            }
            for (key, cores, result) in samples {
                match result {
                    Ok(Some(s)) => {
                        if let Some(m) = map.get_mut(&key) {
                            m.series.push(now, s, cores);
                        }
                    }
                    Ok(None) => {}
                    Err(e) => tracing::debug!(object = %key, error = %e, "no stats reading"),
                }
            }
            let subjects: Vec<Subject<'_>> = watches
                .iter()
                .map(|w| Subject {
                    key: &w.key,
                    rules: w.rules,
                    series: map.get(&w.key).map(|m| &m.series),
                    restarts: &w.restarts_at,
                    cores: w.cores,
                })
                .collect();
            let transitions = alerts.evaluate(&subjects, now);
            for (k, m) in map.iter_mut() {
                m.alerts = alerts.firing(k);
            }
            transitions
        };
        for t in transitions {
            tell(&settings, &watches, t, now);
        }
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            // A new container (or a restart) is read at once rather than a tick later.
            Ok(()) = rx.changed(), if watches.is_empty() => {}
        }
    }
}

/// Logs an alert that fired or resolved, and queues it for the webhook.
fn tell(settings: &Settings, watches: &[Watch], t: Transition, now: SystemTime) {
    let (firing, key, alert) = match t {
        Transition::Fired(k, a) => (true, k, a),
        Transition::Resolved(k, a) => (false, k, a),
    };
    let summary = format!("{key}: {}", alert.message);
    if firing {
        warn!(object = %key, alert = alert.name.as_str(), class = "workload", "alert firing: {}", alert.message);
    } else {
        info!(object = %key, alert = alert.name.as_str(), "alert resolved: {}", alert.message);
    }
    let Some(hook) = &settings.webhook else {
        return;
    };
    let mut labels: BTreeMap<String, String> = [
        ("alertname", alert.name.alertname().to_string()),
        ("instance", settings.instance.clone()),
        ("kind", key.kind.to_string()),
        ("name", key.name.clone()),
        ("severity", "warning".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(w) = watches.iter().find(|w| w.key == key) {
        labels.extend(w.labels.iter().filter(|(_, v)| !v.is_empty()).cloned());
    }
    hook.send(Notification {
        firing,
        labels,
        summary,
        starts_at: crate::model::time_from_unix_ms(alert.since_ms),
        ends_at: (!firing).then_some(now),
    });
}
