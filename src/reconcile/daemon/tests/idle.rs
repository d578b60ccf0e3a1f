//! Idle stop and wake: an object with an `idle` rule is stopped after a window without
//! network traffic (traffic within it keeps it running), shows phase `Idle`, stays stopped
//! across resyncs, and a wake request starts it again.

use std::time::Duration;

use tokio::time::Instant;

use super::fake::FakeEngine;
use super::{a, starts_after, until, Harness, AGENT};
use crate::model::Phase;

fn stops_after(engine: &FakeEngine, after: Instant) -> usize {
    engine
        .calls_of("stop_container")
        .into_iter()
        .filter(|c| c.at > after)
        .count()
}

#[tokio::test(start_paused = true)]
async fn a_quiet_object_is_stopped_idle_and_a_wake_starts_it() {
    let idle = format!("{AGENT}  idle: {{ after: 60s }}\n");
    let h = Harness::start(FakeEngine::default(), &idle, Duration::from_secs(30));
    until("a runs", Duration::from_secs(5), || h.engine.runs(&a())).await;
    let t0 = Instant::now();
    let phase = || h.shared.report.read().unwrap().objects[0].phase;

    // Traffic at 40 s: the window starts again.
    tokio::time::sleep(Duration::from_secs(40)).await;
    h.engine.add_traffic(&a(), 1500);
    tokio::time::sleep(Duration::from_secs(50)).await;
    assert!(h.engine.runs(&a()), "traffic 50 s ago: not idle yet");
    assert_eq!(stops_after(&h.engine, t0), 0);

    until("stopped for being idle", Duration::from_secs(30), || {
        !h.engine.runs(&a())
    })
    .await;
    let idle_at = Instant::now() - t0;
    assert!(
        idle_at >= Duration::from_secs(100) && idle_at <= Duration::from_secs(120),
        "idle after {idle_at:?}: 60 s after the last traffic at 40 s, sampled every 15 s"
    );
    until("phase Idle", Duration::from_secs(5), || {
        phase() == Phase::Idle
    })
    .await;
    let overrides = std::fs::read_to_string(h.state_dir().join("t.overrides.json")).unwrap();
    assert!(overrides.contains("\"idle\""), "{overrides}");

    // Resyncs keep it stopped.
    tokio::time::sleep(Duration::from_secs(90)).await;
    assert!(!h.engine.runs(&a()));

    // The paused clock does not move while the loop acts: count from just before.
    let woken = Instant::now() - Duration::from_millis(1);
    let tx = h.shared.wake.lock().unwrap().clone().unwrap();
    tx.send(a()).unwrap();
    until("started by the wake", Duration::from_secs(5), || {
        !starts_after(&h.engine, woken).is_empty() && h.engine.runs(&a())
    })
    .await;
    until("phase Running", Duration::from_secs(5), || {
        phase() == Phase::Running
    })
    .await;
    let overrides = std::fs::read_to_string(h.state_dir().join("t.overrides.json")).unwrap();
    assert!(!overrides.contains("\"idle\""), "{overrides}");
    h.stop().await;
}
