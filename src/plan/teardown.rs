//! `berth down`: every container of the instance removed, and with `volumes` its volumes
//! too, whatever their cleanup policy. Pure, like the rest of the planner.

use super::{Action, Cause, Op, Target};
use crate::model::{Kind, ObjectKey, Observed, ObservedVolume};

/// The actions that remove everything listed.
pub fn teardown(observed: &[Observed], volumes: &[ObservedVolume]) -> Vec<Action> {
    let containers = observed.iter().map(|o| Action {
        key: o
            .key
            .clone()
            .unwrap_or_else(|| ObjectKey::new(Kind::Agent, o.name.clone())),
        cause: Cause::Gone,
        reason: "berth down".into(),
        op: Op::Remove {
            target: Target {
                id: o.id.clone(),
                name: o.name.clone(),
            },
            grace_secs: super::grace_of(o),
        },
    });
    let volumes = volumes.iter().map(|v| Action {
        key: ObjectKey::new(Kind::Volume, v.name.clone()),
        cause: Cause::Gone,
        reason: "berth down --volumes".into(),
        op: Op::RemoveVolume {
            owner: v.owner.clone(),
        },
    });
    containers.chain(volumes).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RunState, VolumeOwner};

    #[test]
    fn everything_listed_goes() {
        let o = Observed {
            labels: Default::default(),
            stopped_outside: false,
            address: None,
            started_at: None,
            pool: None,
            id: "c1".into(),
            name: "berth_i_agent_a".into(),
            key: Some(ObjectKey::new(Kind::Agent, "a")),
            spec_hash: None,
            spec_label: None,
            source: None,
            image: "x".into(),
            state: RunState::Running,
            health: None,
            created: 0,
            status: String::new(),
            volumes: vec![],
        };
        let v = ObservedVolume {
            name: "berth_i_shared_cache".into(),
            owner: Some(VolumeOwner::Shared),
            cleanup: None,
            created: None,
            size: None,
        };
        let actions = teardown(&[o], &[v]);
        let lines: Vec<String> = actions.iter().map(|a| format!("{} {a}", a.key)).collect();
        assert_eq!(
            lines,
            [
                "agent/a remove: berth down",
                "volume/berth_i_shared_cache remove: berth down --volumes"
            ]
        );
    }
}
