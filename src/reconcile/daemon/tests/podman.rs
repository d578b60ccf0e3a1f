//! The loop on an engine like Podman without systemd: it runs no health checks and does not
//! tell every exit. berth runs the checks at their interval and acts on the results as on
//! Docker's, and lists every second while containers run, so an exit is noticed at once.

use std::time::Duration;

use tokio::time::Instant;

use super::fake::FakeEngine;
use super::{a, starts_after, until, Harness, AGENT};
use crate::model::{Health, Phase};

#[tokio::test(start_paused = true)]
async fn berth_runs_the_checks_and_restarts_an_unhealthy_container() {
    let engine = FakeEngine::default();
    engine.set_podman_like();
    let checked = format!("{AGENT}  health: {{ exec: [\"true\"], interval: 2s }}\n");
    let h = Harness::start(engine, &checked, Duration::from_secs(30));
    until("a runs", Duration::from_secs(5), || h.engine.runs(&a())).await;
    let phase = || h.shared.report.read().unwrap().objects[0].phase;
    assert_eq!(phase(), Phase::Starting, "no result yet");
    h.engine.set_check_result(&a(), Health::Healthy);
    until("healthy after a check", Duration::from_secs(5), || {
        phase() == Phase::Running
    })
    .await;
    let checks = h.engine.calls_of("run_health_check");
    assert!(!checks.is_empty());
    let sick = Instant::now();
    h.engine.set_check_result(&a(), Health::Unhealthy);
    until(
        "restarted for being unhealthy",
        Duration::from_secs(10),
        || !starts_after(&h.engine, sick).is_empty(),
    )
    .await;
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_exit_without_a_die_event_is_noticed_within_a_second() {
    let engine = FakeEngine::default();
    engine.set_podman_like();
    let h = Harness::start(engine, AGENT, Duration::from_secs(30));
    until("a runs", Duration::from_secs(5), || h.engine.runs(&a())).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let died = Instant::now();
    h.engine.kill(&a(), 1, false); // no die event
    let listings = h.engine.calls_of("list_containers").len();
    until("the exit is seen", Duration::from_millis(1100), || {
        h.engine.calls_of("list_containers").len() > listings
    })
    .await;
    until(
        "restarted after its 1 s backoff",
        Duration::from_secs(5),
        || !starts_after(&h.engine, died).is_empty(),
    )
    .await;
    h.stop().await;
}
