//! The planner with berth's memory: backoff, unhealthy restarts and their cap, session TTL,
//! declared stop, retry after errors — and the bookkeeping in `runtime`.

use std::time::{Duration, SystemTime};

use super::runtime::{observe, record};
use super::*;
use crate::model::{FailureClass, Kind, RestartPolicy, RestartSpec, Runtime, Spec};

pub(super) fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + secs)
}

fn spec() -> Spec {
    Spec {
        args: None,
        env: Default::default(),
        stop_grace_period_secs: 1,
        ..crate::model::sample_spec()
    }
}

pub(super) fn want(kind: Kind, name: &str) -> DesiredContainer {
    DesiredContainer::new(
        ObjectKey::new(kind, name),
        spec(),
        RestartSpec {
            policy: RestartPolicy::Always,
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(8),
            reset_after: Duration::from_secs(60),
            on_unhealthy_restart: true,
            unhealthy_max_restarts: 2,
            unhealthy_window: Duration::from_secs(600),
        },
        None,
        "/m/x.yaml".into(),
    )
}

pub(super) fn seen(w: &DesiredContainer, state: RunState, health: Option<Health>) -> Observed {
    Observed {
        labels: Default::default(),
        stopped_outside: false,
        address: None,
        started_at: None,
        pool: None,
        id: format!("id-{}", w.key.name),
        name: w.key.container_name("t"),
        key: Some(w.key.clone()),
        spec_hash: Some(w.hash.clone()),
        spec_label: Some(w.spec.label()),
        source: Some(w.source.clone()),
        image: w.spec.image.clone(),
        state,
        health,
        created: 1_000_000,
        status: String::new(),
        volumes: vec![],
    }
}

pub(super) fn set(w: &DesiredContainer) -> DesiredSet {
    DesiredSet {
        objects: [(w.key.clone(), w.clone())].into(),
        ..Default::default()
    }
}

/// One controller step at `now`: observe, then plan.
pub(super) fn step(rt: &mut Runtime, d: &DesiredSet, o: &[Observed], now: SystemTime) -> Plan {
    observe(rt, d, o, now, false);
    plan(d, o, rt, now, Options::default())
}

/// The jittered form of a delay of `secs` for object `w` at its `n`th restart or failure,
/// as the planner computes it.
fn jit(w: &DesiredContainer, n: u32, secs: u64) -> Duration {
    Backoff::jittered(Duration::from_secs(secs), (&w.key, n))
}

/// A delay as the reasons print it (milliseconds).
fn shown(d: Duration) -> String {
    humantime::format_duration(Duration::from_millis(d.as_millis() as u64)).to_string()
}

pub(super) fn lines(p: &Plan) -> Vec<String> {
    p.actions
        .iter()
        .map(|a| format!("{} {a}", a.key))
        .chain(
            p.waits
                .iter()
                .map(|w| format!("wait {:?} {}", w.kind, w.reason)),
        )
        .collect()
}

#[test]
fn crash_loop_backs_off_doubling_to_the_max_then_resets_after_a_stable_run() {
    let w = want(Kind::Agent, "a");
    let d = set(&w);
    let exited = [seen(&w, RunState::Exited { code: Some(1) }, None)];
    let running = [seen(&w, RunState::Running, None)];
    let mut rt = Runtime::new();
    let mut t = 0;
    let mut delays = Vec::new();
    for _ in 0..6 {
        // Down at t: waits, then starts once the delay has passed.
        let p = step(&mut rt, &d, &exited, at(t));
        assert!(p.actions.is_empty(), "{:?}", lines(&p));
        let until = p.wake_at().unwrap();
        delays.push(until.duration_since(at(t)).unwrap().as_secs());
        let now = until;
        let p = step(&mut rt, &d, &exited, now);
        assert_eq!(p.actions.len(), 1, "{:?}", lines(&p));
        assert_eq!(p.actions[0].verb(), Verb::Start);
        record(&mut rt, &p.actions[0], Ok(()), now);
        t = now.duration_since(at(0)).unwrap().as_secs() + 1;
    }
    assert_eq!(delays, [1, 2, 4, 8, 8, 8], "doubling from initial to max");
    assert_eq!(rt[&w.key].restarts, 6);

    // A run shorter than resetAfter keeps the backoff; a longer one resets it.
    step(&mut rt, &d, &running, at(t));
    step(&mut rt, &d, &running, at(t + 30));
    assert_eq!(rt[&w.key].backoff, Some(Duration::from_secs(8)));
    step(&mut rt, &d, &running, at(t + 61));
    assert_eq!(rt[&w.key].backoff, Some(Duration::from_secs(1)));
    let p = step(&mut rt, &d, &exited, at(t + 100));
    assert_eq!(
        lines(&p),
        [format!(
            "wait Backoff exited with code 1; next start in {} (backoff)",
            shown(jit(&w, 6, 1))
        )]
    );
}

#[test]
fn the_start_reason_says_which_restart_and_the_delay() {
    let w = want(Kind::Agent, "a");
    let d = set(&w);
    let exited = [seen(&w, RunState::Exited { code: Some(137) }, None)];
    let mut rt = Runtime::new();
    step(&mut rt, &d, &exited, at(0));
    let p = step(&mut rt, &d, &exited, at(2));
    assert_eq!(
        lines(&p),
        ["agent/a start: exited with code 137 (restart policy Always); restart 1 after 1s backoff"]
    );
}

#[test]
fn unhealthy_is_restarted_under_backoff_and_capped_per_window() {
    let w = want(Kind::Agent, "h");
    let d = set(&w);
    let sick = [seen(&w, RunState::Running, Some(Health::Unhealthy))];
    let mut rt = Runtime::new();

    let p = step(&mut rt, &d, &sick, at(0));
    assert_eq!(
        lines(&p),
        [format!(
            "wait UnhealthyBackoff unhealthy; next restart in {} (backoff)",
            shown(jit(&w, 0, 1))
        )]
    );
    let p = step(&mut rt, &d, &sick, at(2));
    assert_eq!(
        lines(&p),
        ["agent/h restart: health check failing; restart 1 after 1s backoff"]
    );
    record(&mut rt, &p.actions[0], Ok(()), at(2));

    let p = step(&mut rt, &d, &sick, at(3));
    assert!(p.actions.is_empty());
    let p = step(&mut rt, &d, &sick, at(6));
    assert_eq!(p.actions[0].verb(), Verb::Restart);
    record(&mut rt, &p.actions[0], Ok(()), at(6));

    // Two restarts in the window: the limit. Only a report, until the window moves on.
    let p = step(&mut rt, &d, &sick, at(100));
    assert_eq!(
        lines(&p),
        ["wait RestartLimit unhealthy; restart limit reached (2 in 10m), reporting only"]
    );
    assert_eq!(p.wake_at(), Some(at(602)));
    let p = step(&mut rt, &d, &sick, at(603));
    assert_eq!(p.actions.len(), 1, "the window moved on: {:?}", lines(&p));
}

#[test]
fn ignore_means_unhealthy_is_only_reported() {
    let mut w = want(Kind::Agent, "h");
    w.restart.on_unhealthy_restart = false;
    let d = set(&w);
    let sick = [seen(&w, RunState::Running, Some(Health::Unhealthy))];
    let mut rt = Runtime::new();
    assert!(step(&mut rt, &d, &sick, at(0)).is_empty());
    assert!(step(&mut rt, &d, &sick, at(1000)).is_empty());
}

#[test]
fn a_session_expires_at_its_ttl_and_is_not_started_again() {
    let mut w = want(Kind::Session, "s");
    w.ttl = Some(Duration::from_secs(60));
    let d = set(&w);
    let running = [seen(&w, RunState::Running, None)];
    let mut rt = Runtime::new();
    rt.insert(
        w.key.clone(),
        ObjectRuntime {
            first_started: Some(at(10)),
            ..Default::default()
        },
    );

    let p = step(&mut rt, &d, &running, at(30));
    assert_eq!(lines(&p), ["wait Ttl ttl 1m runs out"]);
    assert_eq!(p.wake_at(), Some(at(70)));

    let p = step(&mut rt, &d, &running, at(70));
    assert_eq!(lines(&p), ["session/s remove: ttl 1m expired"]);
    assert_eq!(p.actions[0].cause, Cause::Expired);
    record(&mut rt, &p.actions[0], Ok(()), at(70));

    // Gone from the engine, manifest still there: stays expired, nothing is created.
    let p = step(&mut rt, &d, &[], at(80));
    assert!(p.is_empty() && p.waits.is_empty(), "{:?}", lines(&p));
    assert!(rt[&w.key].expired);

    // The manifest goes: berth forgets the session; a new one with this name starts afresh.
    observe(&mut rt, &DesiredSet::default(), &[], at(90), false);
    assert!(rt.is_empty());
}

#[test]
fn session_ttl_without_a_state_file_counts_from_container_creation() {
    let mut w = want(Kind::Session, "s");
    w.ttl = Some(Duration::from_secs(60));
    let d = set(&w);
    let mut o = seen(&w, RunState::Running, None);
    o.created = 1_000_000; // = at(0)
    let mut rt = Runtime::new();
    observe(&mut rt, &d, &[o], at(500), true);
    assert_eq!(rt[&w.key].first_started, Some(at(0)));
    assert!(rt[&w.key].expired);
}

#[test]
fn declared_stop_stops_and_declared_run_starts_without_recreating() {
    let mut w = want(Kind::Agent, "a");
    w.stopped = true;
    let d = set(&w);
    let mut rt = Runtime::new();
    let p = step(&mut rt, &d, &[seen(&w, RunState::Running, None)], at(0));
    assert_eq!(lines(&p), ["agent/a stop: state: Stopped"]);
    record(&mut rt, &p.actions[0], Ok(()), at(0));
    let stopped = [seen(&w, RunState::Exited { code: Some(137) }, None)];
    assert!(step(&mut rt, &d, &stopped, at(1)).is_empty());

    w.stopped = false;
    let d = set(&w);
    let p = step(&mut rt, &d, &stopped, at(2));
    assert_eq!(lines(&p), ["agent/a start: state: Running"]);
    assert_eq!(p.actions[0].cause, Cause::StateChanged);
}

#[test]
fn a_failed_action_is_retried_later_with_growing_delays() {
    let w = want(Kind::Agent, "a");
    let d = set(&w);
    let mut rt = Runtime::new();
    let p = step(&mut rt, &d, &[], at(0));
    assert_eq!(p.actions[0].verb(), Verb::Create);
    let err = || Err((FailureClass::Infrastructure, "refused".to_string()));
    record(&mut rt, &p.actions[0], err(), at(0));
    let p = step(&mut rt, &d, &[], at(0));
    assert_eq!(
        lines(&p),
        ["wait Retry retrying after a failed action: refused"]
    );
    assert_eq!(p.wake_at(), Some(at(0) + jit(&w, 1, 1)));
    let p = step(&mut rt, &d, &[], at(2));
    record(&mut rt, &p.actions[0], err(), at(2));
    assert_eq!(
        rt[&w.key].not_before,
        Some(at(2) + jit(&w, 2, 2)),
        "second failure waits 2s (and its jitter)"
    );
    let p = step(&mut rt, &d, &[], at(5));
    record(&mut rt, &p.actions[0], Ok(()), at(5));
    assert_eq!(rt[&w.key].failures, 0);
    assert_eq!(rt[&w.key].last_error, None);
}

#[test]
fn a_spec_change_resets_restarts_and_backoff() {
    let w = want(Kind::Agent, "a");
    let d = set(&w);
    let mut rt = Runtime::new();
    rt.insert(
        w.key.clone(),
        ObjectRuntime {
            restarts: 4,
            backoff: Some(Duration::from_secs(8)),
            ..Default::default()
        },
    );
    let mut old = seen(&w, RunState::Running, None);
    old.spec_hash = Some("old".into());
    let p = step(&mut rt, &d, &[old], at(0));
    assert_eq!(p.actions[0].verb(), Verb::Recreate);
    record(&mut rt, &p.actions[0], Ok(()), at(0));
    assert_eq!(rt[&w.key].restarts, 0);
    assert_eq!(rt[&w.key].backoff, Some(Duration::from_secs(1)));
}

#[test]
fn held_objects_keep_their_memory() {
    let w = want(Kind::Session, "s");
    let mut rt = Runtime::new();
    rt.insert(
        w.key.clone(),
        ObjectRuntime {
            expired: true,
            ..Default::default()
        },
    );
    let mut d = DesiredSet::default();
    d.held_keys.insert(w.key.clone());
    observe(&mut rt, &d, &[], at(0), false);
    assert!(
        rt[&w.key].expired,
        "an invalid manifest must not resurrect an expired session"
    );
}

#[test]
fn memory_is_kept_while_a_manifest_is_in_doubt_or_a_container_remains() {
    let w = want(Kind::Session, "s");
    let mut rt = Runtime::new();
    rt.insert(
        w.key.clone(),
        ObjectRuntime {
            expired: true,
            restarts: 3,
            ..Default::default()
        },
    );

    // A file that does not parse: anything may have been declared there.
    let mut doubt = DesiredSet::default();
    doubt.held_sources.insert("/m/broken.yaml".into());
    observe(&mut rt, &doubt, &[], at(0), false);
    assert!(rt[&w.key].expired);

    // Not declared (the empty-set rule keeps its container): the memory stays with it.
    let kept = seen(&w, RunState::Running, None);
    observe(
        &mut rt,
        &DesiredSet::default(),
        std::slice::from_ref(&kept),
        at(1),
        false,
    );
    assert_eq!(rt[&w.key].restarts, 3);

    // Reaped: no declaration, no doubt, no container.
    observe(&mut rt, &DesiredSet::default(), &[], at(2), false);
    assert!(rt.is_empty());
}

#[test]
fn a_failed_removal_of_an_undeclared_object_waits_before_retrying() {
    let w = want(Kind::Agent, "gone");
    let o = seen(&w, RunState::Running, None);
    let mut d = DesiredSet::default();
    d.objects.insert(
        ObjectKey::new(Kind::Agent, "other"),
        want(Kind::Agent, "other"),
    );
    let mut rt = Runtime::new();
    let p = step(&mut rt, &d, std::slice::from_ref(&o), at(0));
    let remove = p.actions.iter().find(|a| a.key == w.key).unwrap().clone();
    assert_eq!(remove.verb(), Verb::Remove);
    record(
        &mut rt,
        &remove,
        Err((FailureClass::Infrastructure, "403".into())),
        at(0),
    );
    let p = step(&mut rt, &d, std::slice::from_ref(&o), at(0));
    assert!(p.actions.iter().all(|a| a.key != w.key), "{:?}", lines(&p));
    assert!(p
        .waits
        .iter()
        .any(|x| x.key == w.key && x.kind == WaitKind::Retry));
    let p = step(&mut rt, &d, std::slice::from_ref(&o), at(2));
    assert!(
        p.actions.iter().any(|a| a.key == w.key),
        "retried once the delay passed"
    );
}
