//! Session quotas in the loop: a Session beyond the Policy's quota is held (`OverQuota`,
//! nothing created) until a place frees up; lowering a quota reaps nothing.

use std::time::Duration;

use super::fake::FakeEngine;
use super::{until, Harness};
use crate::model::{Kind, ObjectKey, Phase};

fn sessions(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| {
            format!("apiVersion: berth/v1\nkind: Session\nmetadata: {{ name: {n} }}\nspec:\n  image: berth-runtime:1\n  ttl: 1h\n")
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

fn key(n: &str) -> ObjectKey {
    ObjectKey::new(Kind::Session, n)
}

fn phase(h: &Harness, n: &str) -> Option<Phase> {
    h.shared
        .report
        .read()
        .unwrap()
        .objects
        .iter()
        .find(|o| o.name == n)
        .map(|o| o.phase)
}

#[tokio::test(start_paused = true)]
async fn a_session_past_the_quota_waits_for_room_and_a_lowered_quota_reaps_nothing() {
    let h = Harness::start(FakeEngine::default(), "", Duration::from_secs(30));
    h.write_with_policy(&sessions(&["a", "b", "c"]), "  maxSessions: 2\n")
        .await;
    until("a and b run", Duration::from_secs(5), || {
        h.engine.runs(&key("a")) && h.engine.runs(&key("b"))
    })
    .await;
    until("c is held", Duration::from_secs(5), || {
        phase(&h, "c") == Some(Phase::OverQuota)
    })
    .await;
    assert!(
        h.engine.containers_of(&key("c")).is_empty(),
        "nothing created for c"
    );
    let waiting = h.shared.report.read().unwrap().objects[2].waiting.clone();
    assert!(waiting.unwrap().contains("maxSessions"));

    // a goes: its place is c's.
    h.write_with_policy(&sessions(&["b", "c"]), "  maxSessions: 2\n")
        .await;
    until("c runs", Duration::from_secs(10), || {
        h.engine.runs(&key("c"))
    })
    .await;
    assert!(h.engine.containers_of(&key("a")).is_empty());

    // The quota lowered below what runs: both keep running; a new one is held.
    h.write_with_policy(&sessions(&["b", "c", "d"]), "  maxSessions: 1\n")
        .await;
    until("d is held", Duration::from_secs(5), || {
        phase(&h, "d") == Some(Phase::OverQuota)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(65)).await; // two resyncs
    assert!(h.engine.runs(&key("b")) && h.engine.runs(&key("c")));
    assert!(h.engine.containers_of(&key("d")).is_empty());
    assert_eq!(h.engine.calls_of("remove_container").len(), 1, "only a's");
    h.stop().await;
}
