//! The planner: a pure function from the desired set and the observed containers to the
//! actions that converge them, each with a reason a person can read. No I/O, no engine
//! types, no clock reads: everything it needs is an argument.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::model::{DesiredContainer, DesiredSet, ObjectKey, Observed, RestartPolicy, RunState};

#[cfg(test)]
mod tests;

/// What to do to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verb {
    /// Stop (with the grace period) and remove a container nobody wants.
    Remove,
    /// Replace a container whose spec changed.
    Recreate,
    /// Create and start a missing container.
    Create,
    /// Start an existing, stopped container.
    Start,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Remove => "remove",
            Verb::Recreate => "recreate",
            Verb::Create => "create",
            Verb::Start => "start",
        }
    }

    /// The one-character marker used by `berth diff`.
    pub fn symbol(self) -> char {
        match self {
            Verb::Remove => '-',
            Verb::Recreate => '~',
            Verb::Create => '+',
            Verb::Start => '>',
        }
    }
}

/// The existing container an action works on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub id: String,
    pub name: String,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    /// The object; `None` only for a container whose labels no longer name one.
    pub key: ObjectKey,
    pub verb: Verb,
    pub reason: String,
    /// The container acted on (remove, recreate, start).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// What to create (create, recreate); also carries the stop grace period for removes.
    #[serde(skip)]
    pub desired: Option<DesiredContainer>,
    /// Grace period for stopping `target`, in seconds.
    #[serde(skip)]
    pub stop_grace_secs: u64,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.verb.as_str(), self.reason)
    }
}

/// Something the planner decided not to do, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// The object, or the container name when its labels name no object.
    pub subject: String,
    pub message: String,
}

/// The actions, in the order they should run (removals first), and the notes.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    pub actions: Vec<Action>,
    pub notes: Vec<Note>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}

/// Knobs that change what the planner may do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Allow removing everything when the desired set is empty.
    pub allow_empty: bool,
}

/// Computes the actions that take `observed` to `desired`.
///
/// Invariants: only containers in `observed` (already filtered to this instance) are ever
/// named; held objects and sources are never touched; an empty desired set removes nothing
/// unless `options.allow_empty`.
pub fn plan(desired: &DesiredSet, observed: &[Observed], options: Options) -> Plan {
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

    let refuse_empty = desired.is_empty() && !options.allow_empty;
    let mut refused = 0usize;
    let mut unreadable = 0usize;

    for (key, want) in &desired.objects {
        let mut have = by_key.remove(key).unwrap_or_default();
        if have.is_empty() {
            plan.actions.push(Action {
                key: key.clone(),
                verb: Verb::Create,
                reason: "not on the engine".into(),
                target: None,
                desired: Some(want.clone()),
                stop_grace_secs: 0,
            });
            continue;
        }
        // Keep the best container: the right spec first, then running, then newest.
        have.sort_by_key(|o| {
            (
                o.spec_hash.as_deref() != Some(want.hash.as_str()),
                o.state != RunState::Running,
                std::cmp::Reverse(o.created),
            )
        });
        for extra in &have[1..] {
            plan.actions.push(remove(
                key,
                extra,
                "duplicate container for this object".into(),
                grace_of(extra),
            ));
        }
        if let Some(a) = converge_one(want, have[0]) {
            plan.actions.push(a);
        }
    }

    for (key, have) in by_key {
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
                    .push(remove(key, o, "manifest gone".into(), grace_of(o)));
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
    let order = |a: &Action| {
        (
            a.verb,
            a.key.clone(),
            a.target.as_ref().map(|t| t.id.clone()),
        )
    };
    plan.actions.sort_by_key(order);
    plan
}

fn grace_of(o: &Observed) -> u64 {
    o.spec.as_ref().map_or(10, |s| s.stop_grace_period_secs)
}

fn remove(key: &ObjectKey, o: &Observed, reason: String, grace: u64) -> Action {
    Action {
        key: key.clone(),
        verb: Verb::Remove,
        reason,
        target: Some(target(o)),
        desired: None,
        stop_grace_secs: grace,
    }
}

fn target(o: &Observed) -> Target {
    Target {
        id: o.id.clone(),
        name: o.name.clone(),
    }
}

/// The action for one object that exists on the engine, if any.
fn converge_one(want: &DesiredContainer, have: &Observed) -> Option<Action> {
    let act = |verb: Verb, reason: String| {
        Some(Action {
            key: want.key.clone(),
            verb,
            reason,
            target: Some(target(have)),
            desired: Some(want.clone()),
            stop_grace_secs: grace_of(have),
        })
    };
    if have.spec_hash.as_deref() != Some(want.hash.as_str()) {
        let reason = match (&have.spec, &have.spec_hash) {
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
        return act(Verb::Recreate, reason);
    }
    match have.state {
        RunState::Running | RunState::Restarting | RunState::Removing | RunState::Paused => None,
        RunState::Created => act(Verb::Start, "created but never started".into()),
        RunState::Dead => act(
            Verb::Recreate,
            "the engine reports the container dead".into(),
        ),
        RunState::Exited { code } => {
            let code_text = code.map_or("an unknown code".to_string(), |c| c.to_string());
            let start = match want.restart.policy {
                RestartPolicy::Always => true,
                RestartPolicy::OnFailure => code != Some(0),
                RestartPolicy::Never => false,
            };
            start.then(|| {
                act(
                    Verb::Start,
                    format!(
                        "exited with code {code_text} (restart policy {:?})",
                        want.restart.policy
                    ),
                )
            })?
        }
    }
}
