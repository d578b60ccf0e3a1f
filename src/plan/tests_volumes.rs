//! The volume planner: creation, each cleanup policy, the orphan budget, doubt.
use std::time::Duration;

use super::*;
use crate::model::{DesiredContainer, ObjectRuntime, RunState, VolumeClaim, VolumeSource};

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + secs)
}

fn object(name: &str, vols: &[(&str, bool, Option<CleanupRule>)]) -> DesiredContainer {
    let spec = crate::model::sample_spec();
    let mut d = DesiredContainer::new(
        ObjectKey::new(Kind::Agent, name),
        spec,
        crate::model::sample_restart(),
        None,
        "/m.yaml".into(),
    );
    d.volumes = vols
        .iter()
        .map(|(n, shared, cleanup)| VolumeClaim {
            source: VolumeSource {
                name: n.to_string(),
                shared: *shared,
            },
            cleanup: *cleanup,
        })
        .collect();
    d
}

fn vol(name: &str, owner: &str, cleanup: Option<CleanupRule>) -> ObservedVolume {
    ObservedVolume {
        name: name.into(),
        owner: VolumeOwner::parse(owner),
        cleanup,
        created: None,
        size: None,
    }
}

fn opts() -> VolumeOptions {
    VolumeOptions {
        instance: "t".into(),
        default_cleanup: CleanupRule::Retain,
        max_orphans: None,
        max_orphan_bytes: None,
        allow_removal: true,
    }
}

fn run(
    desired: &DesiredSet,
    volumes: &[ObservedVolume],
    memory: &BTreeMap<String, VolumeMemory>,
    now: SystemTime,
    o: &VolumeOptions,
) -> Vec<String> {
    let w = wanted("t", desired, &Runtime::new());
    let p = plan(desired, &w, &[], volumes, memory, &[], now, o);
    p.actions
        .iter()
        .map(|a| format!("{} {a}", a.key))
        .chain(
            p.waits
                .iter()
                .map(|w| format!("wait {}: {}", w.key, w.reason)),
        )
        .collect()
}

fn set(objs: Vec<DesiredContainer>) -> DesiredSet {
    DesiredSet {
        objects: objs.into_iter().map(|d| (d.key.clone(), d)).collect(),
        ..Default::default()
    }
}

const RETAIN_1H: CleanupRule = CleanupRule::RetainFor {
    after: Duration::from_secs(3600),
};

#[test]
fn declared_volumes_are_created_once_per_object_or_once_when_shared() {
    let d = set(vec![
        object("a", &[("work", false, None), ("cache", true, None)]),
        object("b", &[("work", false, None), ("cache", true, None)]),
    ]);
    assert_eq!(
        run(&d, &[], &BTreeMap::new(), at(0), &opts()),
        [
            "volume/berth_t_agent_a_work create: needed by agent/a",
            "volume/berth_t_agent_b_work create: needed by agent/b",
            "volume/berth_t_shared_cache create: needed by agent/a, agent/b",
        ]
    );
}

#[test]
fn each_policy_applies_to_orphans() {
    let d = set(vec![]);
    let vols = [
        vol("berth_t_agent_x_del", "agent/x", Some(CleanupRule::Delete)),
        vol("berth_t_agent_x_keep", "agent/x", Some(CleanupRule::Retain)),
        vol("berth_t_agent_x_for", "agent/x", Some(RETAIN_1H)),
        vol("berth_t_agent_x_default", "agent/x", None),
    ];
    let mut memory = BTreeMap::new();
    observe(&mut memory, &BTreeMap::new(), &vols, false, at(0));
    assert_eq!(
        run(&d, &vols, &memory, at(10), &opts()),
        [
            "volume/berth_t_agent_x_del remove: owner agent/x is gone (cleanup Delete)",
            "wait volume/berth_t_agent_x_for: orphaned; removed at the end of RetainFor=1h",
        ]
    );
    assert_eq!(
        run(&d, &vols, &memory, at(3600), &opts())[1],
        "volume/berth_t_agent_x_for remove: orphaned for 1h (cleanup RetainFor=1h)"
    );
}

#[test]
fn the_policy_in_force_while_declared_wins_over_the_creation_label() {
    let d = set(vec![object(
        "x",
        &[("v", false, Some(CleanupRule::Delete))],
    )]);
    let vols = [vol(
        "berth_t_agent_x_v",
        "agent/x",
        Some(CleanupRule::Retain),
    )];
    let mut memory = BTreeMap::new();
    observe(
        &mut memory,
        &wanted("t", &d, &Runtime::new()),
        &vols,
        false,
        at(0),
    );
    assert_eq!(
        memory["berth_t_agent_x_v"].cleanup,
        Some(CleanupRule::Delete)
    );
    let gone = set(vec![]);
    observe(&mut memory, &BTreeMap::new(), &vols, false, at(1));
    assert_eq!(
        run(&gone, &vols, &memory, at(1), &opts()),
        ["volume/berth_t_agent_x_v remove: owner agent/x is gone (cleanup Delete)"]
    );
}

#[test]
fn nothing_is_removed_while_mounted_held_or_in_doubt() {
    let vols = [vol(
        "berth_t_agent_x_v",
        "agent/x",
        Some(CleanupRule::Delete),
    )];
    let memory = BTreeMap::new();
    let mut held = set(vec![]);
    held.held_keys.insert(ObjectKey::new(Kind::Agent, "x"));
    assert!(run(&held, &vols, &memory, at(0), &opts()).is_empty());
    let no = VolumeOptions {
        allow_removal: false,
        ..opts()
    };
    assert!(run(&set(vec![]), &vols, &memory, at(0), &no).is_empty());

    let c = Observed {
        labels: Default::default(),

        stopped_outside: false,
        address: None,
        started_at: None,
        pool: None,
        id: "c1".into(),
        name: "n".into(),
        key: None,
        spec_hash: None,
        spec_label: None,
        source: None,
        image: "i".into(),
        state: RunState::Running,
        health: None,
        created: 0,
        status: String::new(),
        volumes: vec!["berth_t_agent_x_v".into()],
    };
    let w = BTreeMap::new();
    let p = plan(
        &set(vec![]),
        &w,
        std::slice::from_ref(&c),
        &vols,
        &memory,
        &[],
        at(0),
        &opts(),
    );
    assert!(
        p.actions.is_empty(),
        "a mounted volume waits for its container"
    );
}

#[test]
fn an_expired_session_frees_its_volumes() {
    let mut s = object("s", &[("work", false, Some(CleanupRule::Delete))]);
    s.key = ObjectKey::new(Kind::Session, "s");
    let d = set(vec![s.clone()]);
    let mut rt = Runtime::new();
    rt.insert(
        s.key.clone(),
        ObjectRuntime {
            expired: true,
            ..Default::default()
        },
    );
    assert!(wanted("t", &d, &rt).is_empty());
}

#[test]
fn the_budget_evicts_the_oldest_orphans_first() {
    let vols: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|n| {
            vol(
                &format!("berth_t_agent_{n}_v"),
                &format!("agent/{n}"),
                Some(RETAIN_1H),
            )
        })
        .collect();
    let mut memory = BTreeMap::new();
    for (i, v) in vols.iter().enumerate() {
        observe(
            &mut memory,
            &BTreeMap::new(),
            std::slice::from_ref(v),
            true,
            at(i as u64),
        );
    }
    let o = VolumeOptions {
        max_orphans: Some(1),
        ..opts()
    };
    let got = run(&set(vec![]), &vols, &memory, at(10), &o);
    assert_eq!(
        got.iter()
            .filter(|l| l.contains(" remove:"))
            .cloned()
            .collect::<Vec<_>>(),
        [
            "volume/berth_t_agent_a_v remove: over the orphan budget (oldest first)",
            "volume/berth_t_agent_b_v remove: over the orphan budget (oldest first)",
        ]
    );

    let mut sized = vols.clone();
    for v in &mut sized {
        v.size = Some(100);
    }
    let o = VolumeOptions {
        max_orphan_bytes: Some(150),
        ..opts()
    };
    let got = run(&set(vec![]), &sized, &memory, at(10), &o);
    assert_eq!(got.iter().filter(|l| l.contains(" remove:")).count(), 2);
}
