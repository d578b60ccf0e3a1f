//! The loop and the operator: `berth stop` is honoured at once and kept across a restart
//! of the daemon, `berth start` brings the object back, `berth restart` is one stop and
//! start that is neither counted as a crash nor backed off, and a `docker stop` from
//! outside is restarted with its own reason, not as a workload failure.

use std::time::Duration;

use tokio::time::Instant;

use super::fake::FakeEngine;
use super::{a, starts_after, until, Harness, AGENT};
use crate::model::{Cause, Happening, RestartRequest};
use crate::state::{OverrideStore, Store};

/// The test clock's Unix milliseconds at tokio instant `at` (the daemon's clock starts at
/// 1_700_000_000 s when the harness starts, at `t0`).
fn ms_at(t0: Instant, at: Instant) -> u64 {
    1_700_000_000_000 + (at - t0).as_millis() as u64
}

async fn set_overrides(h: &Harness, change: impl FnOnce(&mut crate::model::Overrides)) {
    OverrideStore::new(h.state_dir(), "t")
        .modify(change)
        .unwrap();
    let _ = h.overrides.send(()).await;
}

#[tokio::test(start_paused = true)]
async fn berth_stop_holds_across_a_restart_of_the_daemon_and_start_clears_it() {
    let engine = FakeEngine::default();
    let h = Harness::start(engine.clone(), AGENT, Duration::from_secs(30));
    until("a runs", Duration::from_secs(5), || h.engine.runs(&a())).await;
    set_overrides(&h, |o| {
        o.stopped.insert(a(), std::time::UNIX_EPOCH);
    })
    .await;
    until("a stopped", Duration::from_secs(2), || !h.engine.runs(&a())).await;
    let state = h.stop().await;

    // A new daemon on the same state directory keeps it stopped through resyncs.
    let starts_before = engine.calls_of("start_container").len();
    let h = Harness::start_in(engine, AGENT, Duration::from_secs(30), None, state);
    tokio::time::sleep(Duration::from_secs(65)).await;
    assert_eq!(h.engine.calls_of("start_container").len(), starts_before);
    assert!(!h.engine.runs(&a()));
    let phase = h.shared.report.read().unwrap().objects[0].phase;
    assert_eq!(phase, crate::model::Phase::Stopped);

    set_overrides(&h, |o| {
        o.stopped.clear();
    })
    .await;
    until("a runs again", Duration::from_secs(2), || {
        h.engine.runs(&a())
    })
    .await;
    let file = Store::new(h.state_dir(), "t").peek().unwrap();
    let causes: Vec<Cause> = file
        .history
        .records()
        .filter_map(|r| match &r.what {
            Happening::Action { cause, .. } => Some(*cause),
            _ => None,
        })
        .collect();
    assert!(causes.contains(&Cause::Operator), "{causes:?}");
    assert_eq!(file.entry(&a()).unwrap().runtime.restarts, 0);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn berth_restart_is_done_once_and_not_counted_as_a_crash() {
    let t0 = Instant::now();
    let h = Harness::start(FakeEngine::default(), AGENT, Duration::from_secs(30));
    until("a runs", Duration::from_secs(5), || h.engine.runs(&a())).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let asked = Instant::now();
    let id = ms_at(t0, asked);
    set_overrides(&h, |o| {
        o.restarts.insert(a(), RestartRequest { id });
    })
    .await;
    let starts = || h.engine.calls_of("start_container").len();
    until("restarted", Duration::from_secs(2), || {
        starts() == 2 && h.engine.runs(&a())
    })
    .await;
    assert_eq!(h.engine.calls_of("stop_container").len(), 1);
    // Resyncs later: done once.
    tokio::time::sleep(Duration::from_secs(65)).await;
    assert_eq!(starts(), 2);
    let report = h.shared.report.read().unwrap().clone();
    assert_eq!(report.objects[0].restarts, 0, "not a crash restart");
    let file = Store::new(h.state_dir(), "t").peek().unwrap();
    assert_eq!(file.entry(&a()).unwrap().runtime.restart_done, Some(id));
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_stop_from_outside_is_restarted_with_its_own_reason() {
    let h = Harness::start(FakeEngine::default(), AGENT, Duration::from_secs(30));
    until("a runs", Duration::from_secs(5), || h.engine.runs(&a())).await;
    let stopped = Instant::now();
    h.engine.stop_outside(&a());
    until("started again", Duration::from_secs(5), || {
        !starts_after(&h.engine, stopped).is_empty() && h.engine.runs(&a())
    })
    .await;
    let report = h.shared.report.read().unwrap().clone();
    let last = report.objects[0].last_action.clone().unwrap();
    assert!(last.reason.starts_with("stopped outside berth"), "{last:?}");
    assert!(
        report.objects[0].last_error.is_none(),
        "not a workload failure"
    );
    h.stop().await;
}
