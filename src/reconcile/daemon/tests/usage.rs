//! Resource sampling and alerts on the paused clock: readings reach `/metrics` and the
//! shared map; a memory alert fires after its `for` and resolves when memory is freed.

use std::time::Duration;

use super::fake::FakeEngine;
use super::{a, until, Harness, AGENT};
use crate::model::{AlertName, Sample};

fn reading(memory_mi: u64, cpu_seconds: f64) -> Sample {
    Sample {
        cpu_seconds,
        memory_bytes: memory_mi << 20,
        memory_limit_bytes: 64 << 20,
        rx_bytes: 1234,
        tx_bytes: 99,
        pids: 3,
    }
}

#[tokio::test(start_paused = true)]
async fn readings_reach_the_metrics_and_a_memory_alert_fires_and_resolves() {
    let agent = format!(
        "{AGENT}  resources: {{ memory: 64Mi }}\n  alerts: {{ memory: {{ above: 90%, for: 1m }} }}\n"
    );
    let h = Harness::start(FakeEngine::default(), &agent, Duration::from_secs(30));
    until("a runs", Duration::from_secs(5), || h.engine.runs(&a())).await;
    h.engine.set_usage(&a(), reading(60, 1.0));
    let firing = || {
        h.shared
            .metrics
            .usage
            .read()
            .unwrap()
            .get(&a())
            .map(|m| m.alerts.clone())
            .unwrap_or_default()
    };
    until("a reading", Duration::from_secs(60), || {
        h.shared.metrics.encode().contains("berth_container_memory_working_set_bytes{kind=\"agent\",name=\"a\",label_user=\"\"} 62914560")
    })
    .await;
    let text = h.shared.metrics.encode();
    assert!(text.contains("berth_container_network_receive_bytes_total{kind=\"agent\",name=\"a\",label_user=\"\"} 1234"), "{text}");
    assert!(firing().is_empty(), "not for a minute yet");
    until("the memory alert fires", Duration::from_secs(120), || {
        firing().iter().any(|x| x.name == AlertName::Memory)
    })
    .await;
    let alert = firing().remove(0);
    assert!(
        alert.message.starts_with("memory at 94% of its 64Mi"),
        "{}",
        alert.message
    );
    assert!(h.shared.metrics.encode().contains("berth_alerts_firing{kind=\"agent\",name=\"a\",label_user=\"\",alertname=\"BerthMemoryHigh\"} 1"));
    h.engine.set_usage(&a(), reading(10, 2.0));
    until("it resolves", Duration::from_secs(60), || {
        firing().is_empty()
    })
    .await;
    h.stop().await;
}
