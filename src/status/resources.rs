//! What each object's container uses, as the loop's sampler last read it, and its firing
//! alerts: shown in `/status` (and the dashboard) and exported on `/metrics` under the names
//! cAdvisor and kube-state-metrics use, prefixed `berth_`: one series per object, labelled
//! `kind`, `name` and the object labels chosen with `--metric-labels` (as `label_<key>`).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use serde::Serialize;

use crate::model::{unix_ms, Alert, ObjectKey, Point, Sample, Series};

/// One object's readings and alerts.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub series: Series,
    pub alerts: Vec<Alert>,
    /// `label_<key>` → value, for the labels `--metric-labels` exports.
    pub labels: Vec<(String, String)>,
    /// Restarts berth made since its spec last changed.
    pub restarts: u32,
    /// Times the kernel killed it for its memory limit, as berth saw them.
    pub oom_kills: u32,
}

/// Every object's readings, shared by the sampler, `/status` and `/metrics`.
pub type UsageMap = Arc<RwLock<BTreeMap<ObjectKey, Measured>>>;

/// An object's usage as `/status` shows it: the last reading (`cpuSeconds`,
/// `memoryBytes`, `memoryLimitBytes`, `rxBytes`, `txBytes`, `pids`), the CPU share over the
/// last interval, and the recent history.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageView {
    /// Percent of its CPU limit (of one core without one) over the last interval.
    pub cpu_percent: Option<f64>,
    #[serde(flatten)]
    pub reading: Sample,
    pub sampled_at_ms: u64,
    pub history: Vec<Point>,
}

impl UsageView {
    pub fn of(series: &Series) -> Option<UsageView> {
        let (at, reading) = series.last?;
        Some(UsageView {
            cpu_percent: series.cpu_percent(),
            reading,
            sampled_at_ms: unix_ms(&at),
            history: series.history.iter().copied().collect(),
        })
    }
}

/// The `/metrics` side: encodes the map at each scrape.
#[derive(Debug)]
pub struct ResourceCollector(pub UsageMap);

type Labels = Vec<(String, String)>;

fn labels(key: &ObjectKey, m: &Measured) -> Labels {
    let mut l = vec![
        ("kind".to_string(), key.kind.to_string()),
        ("name".to_string(), key.name.clone()),
    ];
    l.extend(m.labels.iter().cloned());
    l
}

/// One metric family: name (without the `berth_` prefix), help, type, value per object.
struct Family {
    name: &'static str,
    help: &'static str,
    counter: bool,
    value: fn(&Measured) -> Option<f64>,
}

const FAMILIES: &[Family] = &[
    Family {
        name: "container_cpu_usage_seconds",
        help: "CPU time the object's container used since it started (cAdvisor's container_cpu_usage_seconds_total)",
        counter: true,
        value: |m| m.series.last.map(|(_, s)| s.cpu_seconds),
    },
    Family {
        name: "container_memory_working_set_bytes",
        help: "Memory in use minus inactive file pages (cAdvisor's container_memory_working_set_bytes)",
        counter: false,
        value: |m| m.series.last.map(|(_, s)| s.memory_bytes as f64),
    },
    Family {
        name: "container_spec_memory_limit_bytes",
        help: "The container's memory limit",
        counter: false,
        value: |m| m.series.last.map(|(_, s)| s.memory_limit_bytes as f64),
    },
    Family {
        name: "container_network_receive_bytes",
        help: "Bytes received on every network of the container since it started",
        counter: true,
        value: |m| m.series.last.map(|(_, s)| s.rx_bytes as f64),
    },
    Family {
        name: "container_network_transmit_bytes",
        help: "Bytes sent on every network of the container since it started",
        counter: true,
        value: |m| m.series.last.map(|(_, s)| s.tx_bytes as f64),
    },
    Family {
        name: "container_processes",
        help: "Processes (pids) in the container",
        counter: false,
        value: |m| m.series.last.map(|(_, s)| s.pids as f64),
    },
    Family {
        name: "container_restarts",
        help: "Restarts berth made of the object since its spec last changed (kube-state-metrics' kube_pod_container_status_restarts_total)",
        counter: true,
        value: |m| Some(m.restarts as f64),
    },
    Family {
        name: "container_oom_events",
        help: "Times the kernel killed the object's container for its memory limit, as berth saw them",
        counter: true,
        value: |m| Some(m.oom_kills as f64),
    },
];

impl Collector for ResourceCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let map = self.0.read().expect("not poisoned");
        for f in FAMILIES {
            let kind = if f.counter {
                MetricType::Counter
            } else {
                MetricType::Gauge
            };
            let mut metric = encoder.encode_descriptor(f.name, f.help, None, kind)?;
            for (key, m) in map.iter() {
                let Some(v) = (f.value)(m) else { continue };
                let l = labels(key, m);
                let e = metric.encode_family(&l)?;
                if f.counter {
                    ConstCounter::new(v).encode(e)?;
                } else {
                    ConstGauge::new(v).encode(e)?;
                }
            }
        }
        let mut alerts = encoder.encode_descriptor(
            "alerts_firing",
            "Firing alerts, by object and rule (1 while firing)",
            None,
            MetricType::Gauge,
        )?;
        for (key, m) in map.iter() {
            for a in &m.alerts {
                let mut l = labels(key, m);
                l.push(("alertname".to_string(), a.name.alertname().to_string()));
                ConstGauge::new(1i64).encode(alerts.encode_family(&l)?)?;
            }
        }
        Ok(())
    }
}
