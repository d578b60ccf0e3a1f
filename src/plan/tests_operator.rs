//! The planner and what an operator asked for: `berth stop` keeps an object stopped (the
//! manifest's `state: Stopped` still wins), `berth restart` is one stop-and-start that is
//! neither counted nor backed off, and a `docker stop` from outside is not a crash.

use super::runtime::record;
use super::tests_runtime::{at, lines, seen, set, step, want};
use super::*;
use crate::model::{Kind, RestartPolicy, Runtime};

#[test]
fn berth_stop_stops_keeps_it_down_and_start_brings_it_back() {
    let mut w = want(Kind::Agent, "a");
    w.operator.stopped = true;
    let mut rt = Runtime::new();
    let p = step(
        &mut rt,
        &set(&w),
        &[seen(&w, RunState::Running, None)],
        at(0),
    );
    assert_eq!(lines(&p), ["agent/a stop: stopped by berth stop"]);
    assert_eq!(p.actions[0].cause, Cause::Operator);
    record(&mut rt, &p.actions[0], Ok(()), at(0));
    // Down and kept down: no crash restart, whatever the policy.
    let down = [seen(&w, RunState::Exited { code: Some(137) }, None)];
    assert!(step(&mut rt, &set(&w), &down, at(1)).is_empty());
    // Missing: created, not started (the executor reads keep_stopped).
    assert!(w.keep_stopped());

    w.operator.stopped = false;
    let p = step(&mut rt, &set(&w), &down, at(2));
    assert_eq!(lines(&p), ["agent/a start: state: Running"]);
    record(&mut rt, &p.actions[0], Ok(()), at(2));
    assert_eq!(rt[&w.key].restarts, 0, "not a restart after a crash");
}

#[test]
fn the_manifests_stopped_wins_over_the_operator() {
    let mut w = want(Kind::Agent, "a");
    w.stopped = true;
    w.operator = crate::model::Intent {
        stopped: true,
        restart: Some(5),
        idle: false,
    };
    let p = step(
        &mut Runtime::new(),
        &set(&w),
        &[seen(&w, RunState::Running, None)],
        at(0),
    );
    assert_eq!(lines(&p), ["agent/a stop: state: Stopped"]);
}

#[test]
fn berth_restart_restarts_once_without_counting_or_backoff() {
    let mut w = want(Kind::Agent, "a");
    w.operator.restart = Some(42);
    let mut rt = Runtime::new();
    let running = [seen(&w, RunState::Running, None)];
    let p = step(&mut rt, &set(&w), &running, at(0));
    assert_eq!(lines(&p), ["agent/a restart: berth restart"]);
    record(&mut rt, &p.actions[0], Ok(()), at(0));
    let r = &rt[&w.key];
    assert_eq!((r.restarts, r.restart_done), (0, Some(42)));
    assert_eq!(
        r.backoff,
        Some(w.restart.backoff_initial),
        "no backoff step"
    );

    // A container down in its crash backoff starts now.
    let mut rt = Runtime::new();
    let w2 = want(Kind::Agent, "a");
    let down = [seen(&w2, RunState::Exited { code: Some(1) }, None)];
    let p = step(&mut rt, &set(&w2), &down, at(0));
    assert!(p.actions.is_empty(), "in backoff: {:?}", lines(&p));
    let p = step(&mut rt, &set(&w), &down, at(0));
    assert_eq!(lines(&p), ["agent/a start: berth restart"]);
}

#[test]
fn a_stop_from_outside_is_restarted_by_policy_with_its_own_reason() {
    let cases: &[(RestartPolicy, Option<i64>, &[&str])] = &[
        (
            RestartPolicy::Always,
            Some(0),
            &["agent/a start: stopped outside berth (restart policy Always); restart 1 after 0s backoff"],
        ),
        (
            RestartPolicy::OnFailure,
            Some(137),
            &["agent/a start: stopped outside berth (restart policy OnFailure); restart 1 after 0s backoff"],
        ),
        (RestartPolicy::OnFailure, Some(0), &[]),
        (RestartPolicy::Never, Some(143), &[]),
    ];
    for (policy, code, expected) in cases {
        let mut w = want(Kind::Agent, "a");
        w.restart.policy = *policy;
        let mut o = seen(&w, RunState::Exited { code: *code }, None);
        o.stopped_outside = true;
        let mut rt = Runtime::new();
        rt.insert(w.key.clone(), Default::default());
        rt.get_mut(&w.key).unwrap().backoff = Some(std::time::Duration::ZERO);
        let p = step(&mut rt, &set(&w), &[o], at(0));
        assert_eq!(lines(&p), *expected, "{policy:?} {code:?}");
        if let Some(a) = p.actions.first() {
            assert_eq!(a.cause, Cause::StoppedOutside);
        }
    }
}

#[test]
fn an_idle_object_is_stopped_or_removed_as_its_rule_says_and_an_operator_stop_wins() {
    use crate::model::{IdleAction, IdleRule};
    let mut w = want(Kind::Session, "s");
    w.operator.idle = true;
    w.idle = Some(IdleRule {
        after: std::time::Duration::from_secs(60),
        action: IdleAction::Stop,
    });
    let running = [seen(&w, RunState::Running, None)];
    let p = step(&mut Runtime::new(), &set(&w), &running, at(0));
    assert_eq!(p.actions.len(), 1);
    assert_eq!(p.actions[0].verb(), crate::plan::Verb::Stop);
    assert_eq!(p.actions[0].cause, crate::plan::Cause::Idle);
    assert_eq!(p.actions[0].reason, "idle: no traffic for 1m");
    let stopped = [seen(&w, RunState::Exited { code: Some(0) }, None)];
    assert!(step(&mut Runtime::new(), &set(&w), &stopped, at(0))
        .actions
        .is_empty());

    w.idle = Some(IdleRule {
        after: std::time::Duration::from_secs(60),
        action: IdleAction::Remove,
    });
    let p = step(&mut Runtime::new(), &set(&w), &stopped, at(0));
    assert_eq!(p.actions[0].verb(), crate::plan::Verb::Remove);
    assert!(
        step(&mut Runtime::new(), &set(&w), &[], at(0))
            .actions
            .is_empty(),
        "removed while idle: not created again until woken"
    );

    w.operator.stopped = true;
    let p = step(&mut Runtime::new(), &set(&w), &running, at(0));
    assert_eq!(p.actions[0].cause, crate::plan::Cause::Operator);
}
