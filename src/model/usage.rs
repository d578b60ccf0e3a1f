//! What a container uses (sampled from the engine's stats), its recent history, and the
//! alert rules that judge it.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use serde::Serialize;

/// One reading of a container's counters, as the engine reports them.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    /// CPU time used since the container started, seconds.
    pub cpu_seconds: f64,
    /// Memory in use minus what the kernel can drop at once (inactive file pages): the
    /// working set, as cAdvisor and the kubelet count it.
    pub memory_bytes: u64,
    /// The memory limit; 0 when the engine reports none.
    pub memory_limit_bytes: u64,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub pids: u64,
}

/// How many readings a series keeps.
pub const HISTORY_POINTS: usize = 30;

/// One point of the recent history.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Point {
    pub at_ms: u64,
    /// CPU used between this reading and the one before, in percent of the container's CPU
    /// limit (of one core without a limit).
    pub cpu_percent: f64,
    pub memory_bytes: u64,
}

/// An object's readings: the last one and a short history.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// The container the readings are of (a new container starts a new series).
    pub container: String,
    pub last: Option<(SystemTime, Sample)>,
    pub history: VecDeque<Point>,
}

impl Series {
    /// Adds a reading; `cores` is the CPU limit in cores (`None`: unlimited, one core is
    /// 100 %).
    pub fn push(&mut self, at: SystemTime, s: Sample, cores: Option<f64>) {
        let cpu_percent = match self.last {
            Some((t, prev)) => {
                let wall = at.duration_since(t).unwrap_or_default().as_secs_f64();
                let used = (s.cpu_seconds - prev.cpu_seconds).max(0.0);
                if wall > 0.0 {
                    100.0 * used / wall / cores.unwrap_or(1.0).max(0.001)
                } else {
                    0.0
                }
            }
            None => 0.0,
        };
        if self.last.is_some() {
            if self.history.len() == HISTORY_POINTS {
                self.history.pop_front();
            }
            self.history.push_back(Point {
                at_ms: super::unix_ms(&at),
                cpu_percent,
                memory_bytes: s.memory_bytes,
            });
        }
        self.last = Some((at, s));
    }

    /// CPU in percent of the limit over the last interval (`None` before two readings).
    pub fn cpu_percent(&self) -> Option<f64> {
        self.history.back().map(|p| p.cpu_percent)
    }

    /// Memory in percent of the limit (`None` without a limit).
    pub fn memory_percent(&self) -> Option<f64> {
        let (_, s) = self.last?;
        (s.memory_limit_bytes > 0)
            .then(|| 100.0 * s.memory_bytes as f64 / s.memory_limit_bytes as f64)
    }
}

/// A threshold held for a while: `{ above: 90%, for: 1m }`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Threshold {
    pub above_percent: f64,
    #[serde(with = "secs")]
    pub for_: Duration,
}

/// `{ above: 5, within: 10m }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestartRule {
    pub above: u32,
    #[serde(with = "secs")]
    pub within: Duration,
}

/// An object's alert rules (its template's or its own over the Policy's).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct AlertRules {
    pub memory: Option<Threshold>,
    pub cpu: Option<Threshold>,
    pub restarts: Option<RestartRule>,
}

impl AlertRules {
    pub fn is_empty(&self) -> bool {
        self.memory.is_none() && self.cpu.is_none() && self.restarts.is_none()
    }

    /// `self`'s rules, each left out taken from `base`.
    pub fn over(self, base: AlertRules) -> AlertRules {
        AlertRules {
            memory: self.memory.or(base.memory),
            cpu: self.cpu.or(base.cpu),
            restarts: self.restarts.or(base.restarts),
        }
    }
}

/// Which rule an alert is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertName {
    Memory,
    Cpu,
    Restarts,
}

impl AlertName {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertName::Memory => "memory",
            AlertName::Cpu => "cpu",
            AlertName::Restarts => "restarts",
        }
    }

    /// The `alertname` label of the webhook: `BerthMemoryHigh`, ...
    pub fn alertname(self) -> &'static str {
        match self {
            AlertName::Memory => "BerthMemoryHigh",
            AlertName::Cpu => "BerthCpuHigh",
            AlertName::Restarts => "BerthRestarting",
        }
    }
}

/// A firing alert of one object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub name: AlertName,
    /// Always `firing` in a list of current alerts.
    pub state: &'static str,
    pub since_ms: u64,
    pub message: String,
}

mod secs {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_the_share_of_the_limit_between_two_readings() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let mut s = Series::default();
        let at = |cpu: f64| Sample {
            cpu_seconds: cpu,
            memory_bytes: 45,
            memory_limit_bytes: 50,
            ..Sample::default()
        };
        s.push(t0, at(10.0), Some(0.5));
        assert_eq!(s.cpu_percent(), None, "one reading says nothing of a rate");
        s.push(t0 + Duration::from_secs(10), at(14.5), Some(0.5));
        assert!((s.cpu_percent().unwrap() - 90.0).abs() < 1e-9);
        assert!((s.memory_percent().unwrap() - 90.0).abs() < 1e-9);
        for i in 2..100 {
            s.push(t0 + Duration::from_secs(10 * i), at(14.5), None);
        }
        assert_eq!(s.history.len(), HISTORY_POINTS);
        assert_eq!(s.cpu_percent(), Some(0.0));
    }
}
