//! Table tests: (desired, observed) → the plan, rendered as the lines `berth diff` prints.

use std::time::{Duration, SystemTime};

use super::*;
use crate::model::{Kind, RestartPolicy, RestartSpec, Runtime, Spec};

fn spec(memory_mi: u64) -> Spec {
    Spec {
        memory_bytes: memory_mi << 20,
        env: Default::default(),
        ..crate::model::sample_spec()
    }
}

fn want(name: &str, memory_mi: u64, policy: RestartPolicy) -> DesiredContainer {
    DesiredContainer::new(
        ObjectKey::new(Kind::Agent, name),
        spec(memory_mi),
        RestartSpec {
            policy,
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            reset_after: Duration::from_secs(600),
            on_unhealthy_restart: true,
            unhealthy_max_restarts: 2,
            unhealthy_window: Duration::from_secs(600),
        },
        None,
        format!("/m/{name}.yaml"),
    )
}

fn seen(name: &str, memory_mi: u64, state: RunState) -> Observed {
    let s = spec(memory_mi);
    Observed {
        labels: Default::default(),
        stopped_outside: false,
        address: None,
        started_at: None,
        pool: None,
        id: format!("id-{name}-{memory_mi}"),
        name: format!("berth_t_agent_{name}"),
        key: Some(ObjectKey::new(Kind::Agent, name)),
        spec_hash: Some(s.hash()),
        spec_label: Some(s.label()),
        source: Some(format!("/m/{name}.yaml")),
        image: "berth-runtime:1".into(),
        state,
        health: None,
        created: 100,
        status: String::new(),
        volumes: vec![],
    }
}

fn set(objects: Vec<DesiredContainer>) -> DesiredSet {
    DesiredSet {
        objects: objects.into_iter().map(|d| (d.key.clone(), d)).collect(),
        ..Default::default()
    }
}

fn render(p: &Plan) -> Vec<String> {
    p.actions
        .iter()
        .map(|a| format!("{} {} {a}", a.verb().symbol(), a.key))
        .chain(
            p.notes
                .iter()
                .map(|n| format!("= {} {}", n.subject, n.message)),
        )
        .collect()
}

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + secs)
}

fn check(desired: DesiredSet, observed: Vec<Observed>, options: Options, expected: &[&str]) {
    let got = render(&plan(&desired, &observed, &Runtime::new(), at(0), options));
    assert_eq!(
        got,
        expected,
        "\nexpected:\n{}\ngot:\n{}\n",
        expected.join("\n"),
        got.join("\n")
    );
}

const NONE: Options = Options { allow_empty: false };
const ALWAYS: RestartPolicy = RestartPolicy::Always;

#[test]
fn nothing_wanted_nothing_there() {
    check(set(vec![]), vec![], NONE, &[]);
}

#[test]
fn missing_container_is_created() {
    check(
        set(vec![want("a", 256, ALWAYS)]),
        vec![],
        NONE,
        &["+ agent/a create: not on the engine"],
    );
}

#[test]
fn running_container_with_same_hash_needs_nothing() {
    check(
        set(vec![want("a", 256, ALWAYS)]),
        vec![seen("a", 256, RunState::Running)],
        NONE,
        &[],
    );
}

#[test]
fn changed_spec_is_recreated_with_the_changed_fields() {
    check(
        set(vec![want("a", 512, ALWAYS), want("b", 256, ALWAYS)]),
        vec![
            seen("a", 256, RunState::Running),
            seen("b", 256, RunState::Running),
        ],
        NONE,
        &["~ agent/a recreate: memory 256Mi → 512Mi"],
    );
}

#[test]
fn missing_or_unreadable_spec_labels_still_recreate() {
    let mut no_hash = seen("a", 256, RunState::Running);
    no_hash.spec_hash = None;
    let mut no_spec = seen("b", 256, RunState::Running);
    no_spec.spec_label = None;
    check(
        set(vec![want("a", 256, ALWAYS), want("b", 512, ALWAYS)]),
        vec![no_hash, no_spec],
        NONE,
        &[
            "~ agent/a recreate: the container has no spec-hash label",
            "~ agent/b recreate: spec hash changed",
        ],
    );
}

#[test]
fn container_without_manifest_is_removed() {
    check(
        set(vec![want("a", 256, ALWAYS)]),
        vec![
            seen("a", 256, RunState::Running),
            seen("gone", 256, RunState::Running),
        ],
        NONE,
        &["- agent/gone remove: manifest gone"],
    );
}

#[test]
fn held_objects_and_sources_are_never_removed() {
    let mut desired = set(vec![want("a", 256, ALWAYS)]);
    desired
        .held_keys
        .insert(ObjectKey::new(Kind::Agent, "broken"));
    desired.held_sources.insert("/m/other.yaml".into());
    let mut from_bad_file = seen("c", 256, RunState::Running);
    from_bad_file.source = Some("/m/other.yaml".into());
    check(
        desired,
        vec![
            seen("a", 256, RunState::Running),
            seen("broken", 256, RunState::Running),
            from_bad_file,
        ],
        NONE,
        &[
            "= agent/broken kept: its manifest has errors",
            "= agent/c kept: its manifest has errors",
        ],
    );
}

#[test]
fn held_directory_protects_everything_below_it() {
    let mut desired = set(vec![]);
    desired.held_sources.insert("/m".into());
    check(
        desired,
        vec![seen("a", 256, RunState::Running)],
        Options { allow_empty: true },
        &["= agent/a kept: its manifest has errors"],
    );
}

#[test]
fn empty_desired_set_removes_nothing_without_the_flag() {
    let observed = vec![
        seen("a", 256, RunState::Running),
        seen("b", 256, RunState::Exited { code: Some(0) }),
    ];
    check(
        set(vec![]),
        observed.clone(),
        NONE,
        &["= instance the manifests declare nothing: refusing to remove 2 container(s) (pass --allow-empty to remove them)"],
    );
    check(
        set(vec![]),
        observed,
        Options { allow_empty: true },
        &[
            "- agent/a remove: manifest gone",
            "- agent/b remove: manifest gone",
        ],
    );
}

#[test]
fn duplicates_keep_the_matching_running_one() {
    let mut old = seen("a", 128, RunState::Running);
    old.created = 300;
    let good = seen("a", 256, RunState::Running);
    let mut stopped_twin = seen("a", 256, RunState::Exited { code: Some(0) });
    stopped_twin.id = "id-twin".into();
    stopped_twin.created = 400;
    let p = plan(
        &set(vec![want("a", 256, ALWAYS)]),
        &[old, good, stopped_twin],
        &Runtime::new(),
        at(0),
        NONE,
    );
    let removed: Vec<_> = p
        .actions
        .iter()
        .map(|a| (a.verb(), a.target().unwrap().id.as_str()))
        .collect();
    assert_eq!(
        removed,
        [(Verb::Remove, "id-a-128"), (Verb::Remove, "id-twin")]
    );
    assert!(p
        .actions
        .iter()
        .all(|a| a.reason == "duplicate container for this object"));
}

#[test]
fn created_but_not_started_is_started() {
    check(
        set(vec![want("a", 256, ALWAYS)]),
        vec![seen("a", 256, RunState::Created)],
        NONE,
        &["> agent/a start: created but never started"],
    );
}

#[test]
fn exited_containers_follow_the_restart_policy() {
    let cases: &[(RestartPolicy, Option<i64>, &[&str])] = &[
        (
            RestartPolicy::Always,
            Some(0),
            &["> agent/a start: exited with code 0 (restart policy Always)"],
        ),
        (
            RestartPolicy::Always,
            Some(137),
            &["> agent/a start: exited with code 137 (restart policy Always)"],
        ),
        (RestartPolicy::OnFailure, Some(0), &[]),
        (
            RestartPolicy::OnFailure,
            Some(1),
            &["> agent/a start: exited with code 1 (restart policy OnFailure)"],
        ),
        (
            RestartPolicy::OnFailure,
            None,
            &["> agent/a start: exited with code an unknown code (restart policy OnFailure)"],
        ),
        (RestartPolicy::Never, Some(1), &[]),
    ];
    for (policy, code, expected) in cases {
        check(
            set(vec![want("a", 256, *policy)]),
            vec![seen("a", 256, RunState::Exited { code: *code })],
            NONE,
            expected,
        );
    }
}

#[test]
fn transient_states_are_left_alone_and_dead_is_recreated() {
    for state in [RunState::Restarting, RunState::Removing, RunState::Paused] {
        check(
            set(vec![want("a", 256, ALWAYS)]),
            vec![seen("a", 256, state)],
            NONE,
            &[],
        );
    }
    check(
        set(vec![want("a", 256, ALWAYS)]),
        vec![seen("a", 256, RunState::Dead)],
        NONE,
        &["~ agent/a recreate: the engine reports the container dead"],
    );
}

#[test]
fn unlabelled_container_of_this_instance_is_kept() {
    let mut o = seen("a", 256, RunState::Running);
    o.key = None;
    check(
        set(vec![]),
        vec![o],
        Options { allow_empty: true },
        &["= berth_t_agent_a kept: carries this instance's label but no readable kind and name; remove it by hand if it is not wanted"],
    );
}

#[test]
fn removals_come_first_then_by_verb_and_name() {
    check(
        set(vec![
            want("c", 256, ALWAYS),
            want("b", 512, ALWAYS),
            want("a", 256, ALWAYS),
        ]),
        vec![
            seen("z", 256, RunState::Running),
            seen("b", 256, RunState::Running),
            seen("a", 256, RunState::Exited { code: Some(2) }),
        ],
        NONE,
        &[
            "- agent/z remove: manifest gone",
            "~ agent/b recreate: memory 256Mi → 512Mi",
            "+ agent/c create: not on the engine",
            "> agent/a start: exited with code 2 (restart policy Always)",
        ],
    );
}

#[test]
fn restart_behaviour_changes_do_not_recreate() {
    let mut w = want("a", 256, RestartPolicy::Never);
    w.restart.backoff_max = Duration::from_secs(1);
    check(
        set(vec![w]),
        vec![seen("a", 256, RunState::Running)],
        NONE,
        &[],
    );
}

#[test]
fn sessions_and_agents_with_one_name_are_distinct() {
    let mut s = want("x", 256, ALWAYS);
    s.key = ObjectKey::new(Kind::Session, "x");
    check(
        set(vec![want("x", 256, ALWAYS), s]),
        vec![seen("x", 256, RunState::Running)],
        NONE,
        &["+ session/x create: not on the engine"],
    );
}

#[test]
fn an_unreadable_path_blocks_every_removal_even_with_allow_empty() {
    let mut desired = set(vec![want("a", 256, ALWAYS)]);
    desired.incomplete = true;
    check(
        desired,
        vec![seen("a", 256, RunState::Running), seen("b", 256, RunState::Running)],
        Options { allow_empty: true },
        &["= instance some manifest paths could not be read: refusing to remove 1 container(s) whose manifests may still exist"],
    );
}
