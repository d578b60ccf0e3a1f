//! Running a plan's actions: never two at once on one object, at most `concurrency` engine
//! operations in flight, volumes removed only when nothing mounts them or is about to; and
//! what each outcome teaches (logs, metrics, berth's memory of the object).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{info, warn};

use super::{Controller, Manifests};
use crate::engine::Engine;
use crate::model::{unix_ms, Actor, Happening, Kind, Observed, RecordError, VolumeOwner};
use crate::plan::{runtime as memory, Action, Cause, Plan, Verb};
use crate::reconcile::execute::{run_action, Outcome};
use crate::status::metrics::CauseLabels;
use crate::status::LastAction;

impl<E: Engine, M: Manifests> Controller<E, M> {
    /// Starts the plan's actions as tasks; each reports back on `done`.
    pub(super) fn dispatch(
        &mut self,
        p: &Plan,
        observed: &[Observed],
        done: &mpsc::UnboundedSender<Outcome>,
    ) {
        for action in p.actions.iter().cloned() {
            if action.key.kind == Kind::Volume
                && action.verb() == Verb::Remove
                && self.volume_busy(&action, observed)
            {
                continue; // a container still mounts it, or one may be about to: next pass
            }
            if action
                .also_holds()
                .is_some_and(|k| self.in_flight.contains(k))
            {
                continue; // a pool member being changed is not claimed meanwhile
            }
            if !self.in_flight.insert(action.key.clone()) {
                continue; // never two actions at once on one object
            }
            if let Some(k) = action.also_holds() {
                self.in_flight.insert(k.clone());
            }
            // berth's own reaction time: from the event to this action's first engine call,
            // less the restart backoff the object is configured to wait.
            let reaction = self.event_at.remove(&action.key).and_then(|at| {
                let waited = match action.cause {
                    Cause::Crashed | Cause::Unhealthy => self
                        .runtime
                        .get(&action.key)
                        .and_then(|rt| rt.backoff)
                        .unwrap_or_default(),
                    _ => Duration::ZERO,
                };
                matches!(
                    action.verb(),
                    Verb::Start | Verb::Restart | Verb::Create | Verb::Recreate
                )
                .then_some((at, waited))
            });
            let shared = self.shared.clone();
            let engine = self.engine.clone();
            let instance = self.config.instance.clone();
            let permit = self.semaphore.clone();
            let done = done.clone();
            tokio::spawn(async move {
                let _permit = permit
                    .acquire_owned()
                    .await
                    .expect("the semaphore is never closed");
                if let Some((at, waited)) = reaction {
                    let took = at.elapsed().saturating_sub(waited);
                    shared.metrics.event_to_action.observe(took.as_secs_f64());
                }
                let outcome = run_action(&engine, &instance, action).await;
                let _ = done.send(outcome);
            });
        }
        // An event that led to no action and waits for none is not waiting for anything.
        self.event_at
            .retain(|k, _| self.in_flight.contains(k) || p.waits.iter().any(|w| &w.key == k));
    }

    /// Whether a volume must not be removed in this pass: a listed container still mounts it
    /// (being removed), or a container action is in flight for its owner (a create in flight
    /// mounts it a moment later; removing it first would let the engine recreate it without
    /// labels). Shared volumes wait while any container action is in flight.
    fn volume_busy(&self, action: &Action, observed: &[Observed]) -> bool {
        if observed
            .iter()
            .any(|o| o.volumes.contains(&action.key.name))
        {
            return true;
        }
        let owner = action.volume_owner();
        self.in_flight.iter().any(|k| {
            k.kind != Kind::Volume && owner.is_some_and(|o| *o == VolumeOwner::Shared || o.is(k))
        })
    }

    /// An action finished: log it, count it, remember it.
    pub(super) fn finish(&mut self, o: Outcome) {
        let a = &o.action;
        self.in_flight.remove(&a.key);
        if let Some(k) = a.also_holds() {
            self.in_flight.remove(k);
        }
        let now = self.clock.now();
        let (result, res_for_memory) = match &o.result {
            Ok(_) => ("ok".to_string(), Ok(())),
            Err(e) => {
                let class = e.class();
                (format!("failed: {e}"), Err((class, e.to_string())))
            }
        };
        match &o.result {
            Ok(id) => info!(
                object = %a.key,
                action = %a.verb(),
                reason = %a.reason,
                result = "ok",
                container = %id.as_deref().map(|i| &i[..i.len().min(12)]).unwrap_or(""),
                "{} {}", a.verb(), a.key
            ),
            Err(e) => {
                let class = e.class();
                self.shared.metrics.error(class.as_str());
                warn!(
                    object = %a.key,
                    action = %a.verb(),
                    reason = %a.reason,
                    result = "failed",
                    class = class.as_str(),
                    error = %e,
                    "{} {} failed", a.verb(), a.key
                );
            }
        }
        self.shared.metrics.action(
            a.verb().as_str(),
            if o.result.is_ok() { "ok" } else { "error" },
        );
        if o.result.is_ok() {
            match (a.verb(), a.cause) {
                (Verb::Start, Cause::Crashed) => restart_metric(&self.shared, "crash"),
                (Verb::Restart, Cause::Unhealthy) => restart_metric(&self.shared, "unhealthy"),
                _ => {}
            }
        }
        self.history.push(
            now,
            a.key.clone(),
            Actor::Run,
            Happening::Action {
                verb: a.verb(),
                cause: a.cause,
                reason: a.reason.clone(),
                error: res_for_memory
                    .as_ref()
                    .err()
                    .map(|(class, message)| RecordError {
                        class: *class,
                        message: message.clone(),
                    }),
            },
        );
        memory::record(&mut self.runtime, a, res_for_memory, now);
        self.last_actions.insert(
            a.key.clone(),
            LastAction {
                action: a.verb().to_string(),
                reason: a.reason.clone(),
                result,
                at_ms: unix_ms(&now),
            },
        );
    }
}

fn restart_metric(shared: &Arc<crate::status::http::Shared>, cause: &str) {
    shared
        .metrics
        .restarts
        .get_or_create(&CauseLabels {
            cause: cause.into(),
        })
        .inc();
}
