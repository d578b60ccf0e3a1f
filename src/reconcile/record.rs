//! What the one-shot commands write into the state file when no `berth run` holds it (the
//! loop keeps it itself): each action in the history, the object's memory updated as the
//! loop would (a recreate resets the restart count, a failure delays the next try), what
//! was declared, and what they removed forgotten, so a later `apply` starts afresh.

use std::collections::BTreeSet;
use std::time::SystemTime;

use super::observe::{Held, Memory};
use super::Outcome;
use crate::model::{
    Actor, Declared, DesiredSet, Happening, Kind, ObjectKey, Phase, RecordError, Verb,
};
use crate::plan::runtime as memory;
use crate::state::StateFile;

/// Appends the outcomes to the history and updates the objects' memory.
pub fn outcomes(file: &mut StateFile, outcomes: &[Outcome], by: Actor, now: SystemTime) {
    let mut runtime = file.runtime();
    for o in outcomes {
        let a = &o.action;
        let result = o
            .result
            .as_ref()
            .map(|_| ())
            .map_err(|e| (e.class(), e.to_string()));
        file.history.push(
            now,
            a.key.clone(),
            by,
            Happening::Action {
                verb: a.verb(),
                cause: a.cause,
                reason: a.reason.clone(),
                error: result.as_ref().err().map(|(class, message)| RecordError {
                    class: *class,
                    message: message.clone(),
                }),
            },
        );
        if a.key.kind != Kind::Volume {
            memory::record(&mut runtime, a, result, now);
        }
    }
    for (key, rt) in runtime {
        file.objects.entry(key.to_string()).or_default().runtime = rt;
    }
}

/// After `apply`: what was declared, the phase of what failed or was held, the ports and
/// orphan clocks, and what is gone forgotten (nothing while a manifest is in doubt).
pub fn applied(
    file: &mut StateFile,
    desired: &DesiredSet,
    held: &[Held],
    outcomes: &[Outcome],
    memory: &Memory,
) {
    let failed: BTreeSet<&ObjectKey> = outcomes
        .iter()
        .filter(|o| o.result.is_err())
        .map(|o| &o.action.key)
        .collect();
    let removed: BTreeSet<&ObjectKey> = outcomes
        .iter()
        .filter(|o| o.result.is_ok() && o.action.verb() == Verb::Remove)
        .map(|o| &o.action.key)
        .collect();
    let in_doubt = desired.incomplete || !desired.held_sources.is_empty();
    let keys: Vec<ObjectKey> = file.entries().map(|(k, _)| k).collect();
    for key in keys {
        let gone = !desired.objects.contains_key(&key) && !desired.held_keys.contains(&key);
        if gone && removed.contains(&key) && !in_doubt {
            file.forget(&key);
        }
    }
    for (key, want) in &desired.objects {
        let entry = file.objects.entry(key.to_string()).or_default();
        entry.declared = Some(std::sync::Arc::new(Declared::from(want)));
        let held_for = held.iter().find(|h| &h.key == key);
        (entry.phase, entry.message) = if let Some(h) = held_for {
            (Some(Phase::Failed), Some(h.message.clone()))
        } else if failed.contains(key) {
            let message = entry.runtime.last_error.as_ref().map(|e| e.message.clone());
            (Some(Phase::Failed), message)
        } else if entry.runtime.expired {
            (Some(Phase::Expired), None)
        } else {
            (None, None) // the engine shows what runs
        };
    }
    for key in &desired.held_keys {
        let entry = file.objects.entry(key.to_string()).or_default();
        entry.phase = Some(Phase::Invalid);
        entry.message = Some("its manifest has errors; what runs is left as it is".into());
    }
    file.set_port_allocations(&memory.ports);
    file.volumes = memory.volumes.clone();
    for o in outcomes.iter().filter(|o| o.result.is_ok()) {
        if o.action.key.kind == Kind::Volume && o.action.verb() == Verb::Remove {
            file.volumes.remove(&o.action.key.name);
        }
    }
}

/// `berth stop`, `start` or `restart` acting themselves: the record, and the memory the
/// loop needs to read the container's state right (a stop by berth is not a crash).
pub fn operator(
    file: &mut StateFile,
    key: &ObjectKey,
    verb: Verb,
    result: Result<(), RecordError>,
    now: SystemTime,
) {
    let entry = file.objects.entry(key.to_string()).or_default();
    if result.is_ok() {
        let rt = &mut entry.runtime;
        rt.down_since = None;
        rt.running_since = None;
        rt.stopped_by_berth = verb == Verb::Stop;
    }
    let reason = format!("berth {verb}");
    file.history.push(
        now,
        key.clone(),
        Actor::Operator,
        Happening::Action {
            verb,
            cause: crate::model::Cause::Operator,
            reason,
            error: result.err(),
        },
    );
}

/// After `down`: the removed objects (and volumes) forgotten.
pub fn torn_down(file: &mut StateFile, outcomes: &[Outcome]) {
    for o in outcomes.iter().filter(|o| o.result.is_ok()) {
        let key = &o.action.key;
        if key.kind == Kind::Volume {
            file.volumes.remove(&key.name);
        } else {
            file.forget(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineError;
    use crate::model::{Cause, ObjectRuntime};
    use crate::plan::{Action, Op, Target};

    fn removal(key: &ObjectKey, ok: bool) -> Outcome {
        Outcome {
            action: Action {
                key: key.clone(),
                cause: Cause::Gone,
                reason: "manifest gone".into(),
                op: Op::Remove {
                    target: Target {
                        id: "c1".into(),
                        name: "n".into(),
                    },
                    grace_secs: 1,
                },
            },
            result: if ok {
                Ok(None)
            } else {
                Err(EngineError::Engine {
                    operation: "DELETE /containers/c1".into(),
                    status: 500,
                    message: "boom".into(),
                })
            },
        }
    }

    #[test]
    fn down_forgets_what_it_removed_and_keeps_what_failed() {
        let gone = ObjectKey::new(Kind::Agent, "gone");
        let stuck = ObjectKey::new(Kind::Agent, "stuck");
        let mut file = StateFile::default();
        for k in [&gone, &stuck] {
            file.objects.entry(k.to_string()).or_default().runtime = ObjectRuntime {
                restarts: 7,
                ..Default::default()
            };
            file.ports
                .insert(k.to_string(), [("80/tcp".into(), 20000)].into());
        }
        let done = [removal(&gone, true), removal(&stuck, false)];
        outcomes(&mut file, &done, Actor::Down, SystemTime::UNIX_EPOCH);
        torn_down(&mut file, &done);
        assert!(file.entry(&gone).is_none());
        assert!(!file.ports.contains_key("agent/gone"));
        assert_eq!(file.entry(&stuck).unwrap().runtime.restarts, 7);
        assert_eq!(file.history.records().count(), 2);
        assert!(file.history.records().any(|r| r.is_error()));
    }
}
