//! The planner: a pure function from the desired set, the observed containers, berth's
//! memory of each object and the current time to the actions that converge them, each with
//! a reason a person can read. No I/O, no engine types, no clock reads: everything it needs
//! is an argument.
//!
//! - [`plan()`] decides what to do now, and what to wait for (backoff, TTL, retry after an
//!   error).
//! - [`routes`] decides which routes a router holds (`expose`).
//! - [`runtime`] keeps the per-object memory up to date from observations
//!   ([`runtime::observe`]) and from action results ([`runtime::record`]).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::model::{
    Backoff, DesiredContainer, DesiredSet, Health, Kind, ObjectKey, ObjectRuntime, Observed,
    RunState, Runtime,
};

mod action;
use action::{grace_of, remove, target};
pub mod alerts;
pub mod host;
pub mod pools;
pub mod ports;
pub mod routes;
pub mod runtime;
mod teardown;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_operator;
#[cfg(test)]
mod tests_pools;
#[cfg(test)]
mod tests_runtime;
pub mod volumes;

pub use action::{Action, Cause, Note, Op, Target, Verb, Wait, WaitKind};
pub use teardown::teardown;

/// The actions, in the order they should run (removals first), the notes and the waits.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    pub actions: Vec<Action>,
    pub notes: Vec<Note>,
    pub waits: Vec<Wait>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// The earliest time something waits for: when to plan again at the latest.
    pub fn wake_at(&self) -> Option<SystemTime> {
        self.waits.iter().map(|w| w.until).min()
    }
}

/// Knobs that change what the planner may do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Allow removing everything when the desired set is empty.
    pub allow_empty: bool,
}

/// Computes the actions that take `observed` to `desired` at time `now`.
///
/// Invariants: only containers in `observed` (already filtered to this instance) are ever
/// named; held objects and sources are never touched; an empty desired set removes nothing
/// unless `options.allow_empty`; an unreadable source removes nothing at all. Objects without
/// an entry in `runtime` (as in a one-shot `apply`) are acted on without backoff.
pub fn plan(
    desired: &DesiredSet,
    observed: &[Observed],
    runtime: &Runtime,
    now: SystemTime,
    options: Options,
) -> Plan {
    let mut plan = Plan::default();
    let mut by_key: BTreeMap<&ObjectKey, Vec<&Observed>> = BTreeMap::new();
    for o in observed {
        match &o.key {
            Some(k) => by_key.entry(k).or_default().push(o),
            None => plan.notes.push(Note {
                subject: o.name.clone(),
                message: "kept: carries this instance's label but no readable kind and name; \
                          remove it by hand if it is not wanted"
                    .into(),
            }),
        }
    }

    let mut claimable = pools::Claimable::new(desired, observed);
    let refuse_empty = desired.is_empty() && !options.allow_empty;
    let mut refused = 0usize;
    let mut unreadable = 0usize;

    for (key, want) in &desired.objects {
        let mut have = by_key.remove(key).unwrap_or_default();
        let rt = runtime.get(key);
        if let Some(until) = rt.and_then(|r| r.not_before).filter(|t| *t > now) {
            let last = rt
                .and_then(|r| r.last_error.as_ref())
                .map_or(String::new(), |e| format!(": {}", e.message));
            plan.waits.push(Wait {
                key: key.clone(),
                kind: WaitKind::Retry,
                until,
                reason: format!("retrying after a failed action{last}"),
            });
            continue;
        }
        if rt.is_some_and(|r| r.expired) {
            for o in &have {
                plan.actions.push(remove(
                    key,
                    o,
                    Cause::Expired,
                    format!("ttl {} expired", human(want.ttl.unwrap_or_default())),
                ));
            }
            continue;
        }
        if let (Some(ttl), Some(start)) = (want.ttl, rt.and_then(|r| r.first_started)) {
            plan.waits.push(Wait {
                key: key.clone(),
                kind: WaitKind::Ttl,
                until: start + ttl,
                reason: format!("ttl {} runs out", human(ttl)),
            });
        }
        if have.is_empty() {
            if idle_removes(want) {
                continue; // removed for being idle: made again when woken
            }
            if let Some(claim) = claimable.claim_for(want) {
                plan.actions.push(claim);
                continue;
            }
            plan.actions.push(Action {
                key: key.clone(),
                cause: Cause::Missing,
                reason: "not on the engine".into(),
                op: Op::Create {
                    desired: Box::new(want.clone()),
                },
            });
            continue;
        }
        // Keep the best container: the right spec first, then running, then newest.
        have.sort_by_key(|o| {
            (
                !want.is_current(o),
                o.state != RunState::Running,
                std::cmp::Reverse(o.created),
                o.id.clone(),
            )
        });
        for extra in &have[1..] {
            plan.actions.push(remove(
                key,
                extra,
                Cause::Duplicate,
                "duplicate container for this object".into(),
            ));
        }
        converge_one(&mut plan, want, have[0], rt, now);
    }

    for (key, have) in by_key {
        if let Some(until) = runtime
            .get(key)
            .and_then(|r| r.not_before)
            .filter(|t| *t > now)
        {
            plan.waits.push(Wait {
                key: key.clone(),
                kind: WaitKind::Retry,
                until,
                reason: "retrying the removal after a failed action".into(),
            });
            continue;
        }
        for o in have {
            if desired.is_held(Some(key), o.source.as_deref()) {
                plan.notes.push(Note {
                    subject: key.to_string(),
                    message: "kept: its manifest has errors".into(),
                });
            } else if desired.incomplete {
                unreadable += 1;
            } else if refuse_empty {
                refused += 1;
            } else {
                plan.actions
                    .push(remove(key, o, Cause::Gone, pools::gone_reason(key)));
            }
        }
    }
    if unreadable > 0 {
        plan.notes.push(Note {
            subject: "instance".into(),
            message: format!(
                "some manifest paths could not be read: refusing to remove {unreadable} \
                 container(s) whose manifests may still exist"
            ),
        });
    }
    if refused > 0 {
        plan.notes.push(Note {
            subject: "instance".into(),
            message: format!(
                "the manifests declare nothing: refusing to remove {refused} container(s) \
                 (pass --allow-empty to remove them)"
            ),
        });
    }
    let order = |a: &Action| (a.verb(), a.key.clone(), a.target().map(|t| t.id.clone()));
    plan.actions.sort_by_key(order);
    plan.waits
        .sort_by(|a, b| (a.until, &a.key).cmp(&(b.until, &b.key)));
    plan
}

/// Idle and removed while idle (not stopped): no container until it is woken.
fn idle_removes(want: &DesiredContainer) -> bool {
    want.operator.idle
        && !want.stopped
        && !want.operator.stopped
        && want
            .idle
            .is_some_and(|r| r.action == crate::model::IdleAction::Remove)
}

fn human(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// Decides for one object that has a container on the engine.
fn converge_one(
    plan: &mut Plan,
    want: &DesiredContainer,
    have: &Observed,
    rt: Option<&ObjectRuntime>,
    now: SystemTime,
) {
    let act = |verb: Verb, cause: Cause, reason: String| {
        let (target, grace_secs, desired) = (target(have), grace_of(have), Box::new(want.clone()));
        let op = match verb {
            Verb::Recreate => Op::Recreate {
                target,
                grace_secs,
                desired,
            },
            Verb::Stop => Op::Stop {
                target,
                grace_secs,
                desired,
            },
            Verb::Restart => Op::Restart {
                target,
                grace_secs,
                desired,
            },
            Verb::Start => Op::Start { target, desired },
            Verb::Create | Verb::Remove | Verb::Claim => {
                unreachable!("an existing container is never created, claimed or removed here")
            }
        };
        Action {
            key: want.key.clone(),
            cause,
            reason,
            op,
        }
    };
    if !want.is_current(have) {
        let reason = match (&have.spec(), &have.spec_hash) {
            (_, None) => "the container has no spec-hash label".to_string(),
            (Some(old), Some(_)) => {
                let changes = want.spec.changes_from(old);
                if changes.is_empty() {
                    "spec hash changed".to_string()
                } else {
                    changes.join("; ")
                }
            }
            (None, Some(_)) => "spec hash changed".to_string(),
        };
        plan.actions
            .push(act(Verb::Recreate, Cause::SpecChanged, reason));
        return;
    }
    let up = matches!(
        have.state,
        RunState::Running | RunState::Restarting | RunState::Paused
    );
    // The manifest's `state: Stopped` wins over the operator; `berth stop` over the rest.
    if want.keep_stopped() {
        let idle_for = || {
            format!(
                "idle: no traffic for {}",
                human(want.idle.map(|r| r.after).unwrap_or_default())
            )
        };
        if idle_removes(want) {
            plan.actions
                .push(remove(&want.key, have, Cause::Idle, idle_for()));
        } else if up {
            plan.actions.push(if want.stopped {
                act(Verb::Stop, Cause::StateChanged, "state: Stopped".into())
            } else if want.operator.stopped {
                act(Verb::Stop, Cause::Operator, "stopped by berth stop".into())
            } else {
                act(Verb::Stop, Cause::Idle, idle_for())
            });
        }
        return;
    }
    if want.operator.restart.is_some() && have.state != RunState::Removing {
        plan.actions.push(if up {
            act(Verb::Restart, Cause::Operator, "berth restart".into())
        } else {
            act(Verb::Start, Cause::Operator, "berth restart".into())
        });
        return;
    }
    // The delay before the next restart, from when the container went down.
    let gate = |plan: &mut Plan, kind: WaitKind, what: String| -> Option<String> {
        let Some(rt) = rt else {
            return Some(String::new()); // one-shot apply: no backoff
        };
        let delay = rt.backoff.unwrap_or(want.restart.backoff_initial);
        let since = rt.down_since.unwrap_or(now);
        let at = since + Backoff::jittered(delay, (&want.key, rt.restarts));
        if at > now {
            plan.waits.push(Wait {
                key: want.key.clone(),
                kind,
                until: at,
                reason: format!(
                    "{what}; next {} in {} (backoff)",
                    if kind == WaitKind::UnhealthyBackoff {
                        "restart"
                    } else {
                        "start"
                    },
                    human_ms(at, now)
                ),
            });
            None
        } else {
            Some(format!(
                "; restart {} after {} backoff",
                rt.restarts + 1,
                human(delay)
            ))
        }
    };
    match (have.state, have.health) {
        (RunState::Running, Some(Health::Unhealthy)) if want.restart.on_unhealthy_restart => {
            let window_start = now.checked_sub(want.restart.unhealthy_window);
            let recent: Vec<SystemTime> = rt
                .map(|r| {
                    r.unhealthy_restarts
                        .iter()
                        .copied()
                        .filter(|t| window_start.is_none_or(|w| *t > w))
                        .collect()
                })
                .unwrap_or_default();
            if recent.len() as u32 >= want.restart.unhealthy_max_restarts {
                let oldest = recent.iter().min().copied().unwrap_or(now);
                plan.waits.push(Wait {
                    key: want.key.clone(),
                    kind: WaitKind::RestartLimit,
                    until: oldest + want.restart.unhealthy_window,
                    reason: format!(
                        "unhealthy; restart limit reached ({} in {}), reporting only",
                        recent.len(),
                        human(want.restart.unhealthy_window)
                    ),
                });
                return;
            }
            let what = "unhealthy".to_string();
            if let Some(suffix) = gate(plan, WaitKind::UnhealthyBackoff, what) {
                plan.actions.push(act(
                    Verb::Restart,
                    Cause::Unhealthy,
                    format!("health check failing{suffix}"),
                ));
            }
        }
        (RunState::Running | RunState::Restarting | RunState::Removing | RunState::Paused, _) => {}
        (RunState::Created, _) => plan.actions.push(act(
            Verb::Start,
            Cause::Broken,
            "created but never started".into(),
        )),
        (RunState::Dead, _) => plan.actions.push(act(
            Verb::Recreate,
            Cause::Broken,
            "the engine reports the container dead".into(),
        )),
        (RunState::Exited { .. }, _) if rt.is_some_and(|r| r.stopped_by_berth) => {
            plan.actions.push(act(
                Verb::Start,
                Cause::StateChanged,
                "state: Running".into(),
            ));
        }
        (RunState::Exited { code }, _) if have.stopped_outside => {
            if want.restart.policy.restarts(code) {
                let what = "stopped outside berth".to_string();
                if let Some(suffix) = gate(plan, WaitKind::Backoff, what.clone()) {
                    plan.actions.push(act(
                        Verb::Start,
                        Cause::StoppedOutside,
                        format!("{what} (restart policy {:?}){suffix}", want.restart.policy),
                    ));
                }
            }
        }
        (RunState::Exited { code }, _) => {
            let code_text = code.map_or("an unknown code".to_string(), |c| c.to_string());
            if !want.restart.policy.restarts(code) {
                return;
            }
            let what = format!("exited with code {code_text}");
            if let Some(suffix) = gate(plan, WaitKind::Backoff, what.clone()) {
                plan.actions.push(act(
                    Verb::Start,
                    Cause::Crashed,
                    format!("{what} (restart policy {:?}){suffix}", want.restart.policy),
                ));
            }
        }
    }
}

fn human_ms(at: SystemTime, now: SystemTime) -> String {
    let d = at.duration_since(now).unwrap_or_default();
    human(Duration::from_millis(d.as_millis() as u64))
}

/// Containers and volumes in one plan: [`plan()`] and then [`volumes::plan`], merged.
/// The volume statuses come back beside the plan.
#[allow(clippy::too_many_arguments)]
pub fn plan_all(
    desired: &DesiredSet,
    observed: &[Observed],
    volumes: &[crate::model::ObservedVolume],
    runtime: &Runtime,
    volume_memory: &BTreeMap<String, crate::model::VolumeMemory>,
    now: SystemTime,
    options: Options,
    volume_options: &volumes::VolumeOptions,
) -> (Plan, Vec<volumes::VolumeStatus>) {
    let mut p = plan(desired, observed, runtime, now, options);
    let wanted = volumes::wanted(&volume_options.instance, desired, runtime);
    let mut vo = volume_options.clone();
    vo.allow_removal = vo.allow_removal
        && !desired.incomplete
        && desired.held_sources.is_empty()
        && (!desired.is_empty() || options.allow_empty);
    let vp = volumes::plan(
        desired,
        &wanted,
        observed,
        volumes,
        volume_memory,
        &p.actions,
        now,
        &vo,
    );
    p.actions.extend(vp.actions);
    p.waits.extend(vp.waits);
    p.notes.extend(vp.notes);
    let order = |a: &Action| {
        (
            a.key.kind == Kind::Volume,
            a.verb(),
            a.key.clone(),
            a.target().map(|t| t.id.clone()),
        )
    };
    p.actions.sort_by_key(order);
    p.waits
        .sort_by(|a, b| (a.until, &a.key).cmp(&(b.until, &b.key)));
    (p, vp.statuses)
}
