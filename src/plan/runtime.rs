//! Keeping berth's per-object memory current. Both functions are pure: they take the time
//! as an argument and touch nothing but the map they are given.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{Action, Cause, Verb};
use crate::model::{
    Backoff, DesiredSet, FailureClass, Health, LastError, ObjectRuntime, Observed, RunState,
    Runtime,
};

/// Retries of actions on objects no longer declared (removals): 1 s doubling to 5 min.
const RETRY: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(300));

/// Updates `runtime` from what the engine shows at `now`: when containers went down or came
/// up, when sessions first started and whether they expired, and the backoff reset after a
/// stable run. Forgets objects whose manifest is gone (unless held).
pub fn observe(
    runtime: &mut Runtime,
    desired: &DesiredSet,
    observed: &[Observed],
    now: SystemTime,
    first_pass: bool,
) {
    // Forget an object only when it is reaped: not declared, not in doubt, and no container
    // left. While any manifest is in doubt (a file that does not parse may have declared
    // anything) nothing is forgotten, or an expired session could start afresh.
    let in_doubt = desired.incomplete || !desired.held_sources.is_empty();
    let by_key = crate::model::by_key(observed);
    runtime.retain(|k, _| {
        in_doubt
            || desired.objects.contains_key(k)
            || desired.held_keys.contains(k)
            || by_key.contains_key(k)
    });
    for (key, want) in &desired.objects {
        let rt = runtime.entry(key.clone()).or_default();
        let initial = want.restart.backoff_initial;
        let backoff = *rt.backoff.get_or_insert(initial);
        let window = want.restart.unhealthy_window;
        rt.unhealthy_restarts
            .retain(|t| now.duration_since(*t).is_ok_and(|age| age < window));

        let current = by_key
            .get(key)
            .and_then(|have| have.iter().find(|o| want.is_current(o)));
        match current.map(|o| (o.state, o.health, o.created, o.pool.is_some())) {
            Some((RunState::Running, health, created, claimed)) => {
                if want.ttl.is_some() && rt.first_started.is_none() {
                    // Found running at berth's start with no memory of it (no state file):
                    // its creation time is the best lower bound, unless it was a pool
                    // member (made long before its Session claimed it). Otherwise: now.
                    let created = UNIX_EPOCH + Duration::from_secs(created.max(0) as u64);
                    rt.first_started = Some(match first_pass && !claimed {
                        true => created.min(now),
                        false => now,
                    });
                }
                match health {
                    Some(Health::Unhealthy) => {
                        rt.running_since = None;
                        rt.down_since.get_or_insert(now);
                    }
                    Some(Health::Starting) => {
                        rt.down_since = None;
                    }
                    None | Some(Health::Healthy) => {
                        rt.down_since = None;
                        rt.stopped_by_berth = false;
                        let since = *rt.running_since.get_or_insert(now);
                        let stable = now.duration_since(since).unwrap_or_default();
                        if stable >= want.restart.reset_after && backoff != initial {
                            rt.backoff = Some(initial);
                        }
                    }
                }
            }
            Some((RunState::Exited { .. } | RunState::Dead, _, _, _)) => {
                rt.running_since = None;
                if !rt.stopped_by_berth {
                    rt.down_since.get_or_insert(now);
                }
            }
            Some(_) | None => {
                rt.running_since = None;
            }
        }
        if let (Some(ttl), Some(start)) = (want.ttl, rt.first_started) {
            if start + ttl <= now {
                rt.expired = true;
            }
        }
    }
}

/// Records how an action ended. Success moves the backoff on (restarts) or resets it (new
/// spec); failure delays the next attempt on this object, doubling per consecutive failure.
pub fn record(
    runtime: &mut Runtime,
    action: &Action,
    result: Result<(), (FailureClass, String)>,
    now: SystemTime,
) {
    if result.is_ok() && !runtime.contains_key(&action.key) {
        return; // a removal of something no longer declared: nothing to remember
    }
    // A failure is remembered even for an undeclared object, so its retry waits.
    let rt = runtime.entry(action.key.clone()).or_default();
    let backoff = action.desired().map_or(RETRY, |d| d.restart.backoff());
    let initial = backoff.initial;
    match result {
        Ok(()) => {
            rt.failures = 0;
            rt.not_before = None;
            rt.last_error = None;
            if let Some(id) = action.desired().and_then(|d| d.operator.restart) {
                if matches!(action.verb(), Verb::Start | Verb::Restart | Verb::Recreate) {
                    rt.restart_done = Some(id); // a fresh process: the request is done
                }
            }
            match (action.verb(), action.cause) {
                (Verb::Start, Cause::Operator) | (Verb::Restart, Cause::Operator) => {
                    // Not a crash: neither counted nor backed off.
                    rt.down_since = None;
                    rt.running_since = None;
                    rt.stopped_by_berth = false;
                }
                (Verb::Start, Cause::Crashed | Cause::StoppedOutside)
                | (Verb::Restart, Cause::Unhealthy) => {
                    rt.restarts += 1;
                    rt.backoff = Some(backoff.next(rt.backoff.unwrap_or(initial)));
                    rt.down_since = None;
                    rt.running_since = None;
                    if action.cause == Cause::Unhealthy {
                        rt.unhealthy_restarts.push(now);
                    }
                }
                (Verb::Recreate, Cause::SpecChanged)
                | (Verb::Create | Verb::Claim, Cause::Missing) => {
                    rt.restarts = 0;
                    rt.backoff = Some(initial);
                    rt.down_since = None;
                    rt.running_since = None;
                    rt.unhealthy_restarts.clear();
                    rt.stopped_by_berth = false;
                }
                (Verb::Stop, _) => {
                    rt.stopped_by_berth = true;
                    rt.down_since = None;
                    rt.running_since = None;
                }
                (Verb::Start, Cause::StateChanged) => {
                    rt.stopped_by_berth = false;
                }
                _ => {
                    rt.down_since = None;
                }
            }
        }
        Err((class, message)) => {
            rt.failures = rt.failures.saturating_add(1);
            let delay = Backoff::jittered(backoff.nth(rt.failures), (&action.key, rt.failures));
            rt.not_before = Some(now + delay);
            rt.last_error = Some(LastError {
                class,
                message,
                at: now,
            });
        }
    }
}

/// Marks a workload failure seen on the engine (exit, OOM, unhealthy) as the last error.
pub fn note_workload(rt: &mut ObjectRuntime, message: String, now: SystemTime) {
    if rt.last_error.as_ref().is_none_or(|e| e.message != message) {
        rt.last_error = Some(LastError {
            class: FailureClass::Workload,
            message,
            at: now,
        });
    }
}
