//! Alert rules over an object's readings and restarts: when a condition has held for its
//! `for`, the alert fires; when it no longer holds (or the object is gone), it resolves.
//! Pure: readings, restart times and the time are arguments.

use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::model::{format_bytes, unix_ms, Alert, AlertName, AlertRules, ObjectKey, Series};

/// What one object offers the rules.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub key: &'a ObjectKey,
    pub rules: AlertRules,
    pub series: Option<&'a Series>,
    /// When berth restarted it (crash or unhealthy), most recent last.
    pub restarts: &'a [SystemTime],
    /// Its CPU limit in cores, for messages.
    pub cores: Option<f64>,
}

/// An alert that changed.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    Fired(ObjectKey, Alert),
    Resolved(ObjectKey, Alert),
}

/// The conditions that hold and the alerts that fire, between evaluations.
#[derive(Debug, Clone, Default)]
pub struct AlertState {
    /// Since when each condition holds.
    holding: BTreeMap<(ObjectKey, AlertName), SystemTime>,
    firing: BTreeMap<(ObjectKey, AlertName), Alert>,
}

impl AlertState {
    /// The firing alerts of an object.
    pub fn firing(&self, key: &ObjectKey) -> Vec<Alert> {
        self.firing
            .iter()
            .filter(|((k, _), _)| k == key)
            .map(|(_, a)| a.clone())
            .collect()
    }

    /// Every firing alert.
    pub fn all(&self) -> impl Iterator<Item = (&ObjectKey, &Alert)> {
        self.firing.iter().map(|((k, _), a)| (k, a))
    }

    /// Judges every subject at `now`; objects not among them resolve.
    pub fn evaluate(&mut self, subjects: &[Subject<'_>], now: SystemTime) -> Vec<Transition> {
        let mut holds: BTreeMap<(ObjectKey, AlertName), (std::time::Duration, String)> =
            BTreeMap::new();
        for s in subjects {
            for (name, held) in conditions(s, now) {
                holds.insert((s.key.clone(), name), held);
            }
        }
        let mut out = Vec::new();
        self.holding.retain(|k, _| holds.contains_key(k));
        for (id, (wait, message)) in holds {
            let since = *self.holding.entry(id.clone()).or_insert(now);
            let held = now.duration_since(since).unwrap_or_default();
            if held < wait {
                continue;
            }
            match self.firing.get_mut(&id) {
                Some(a) => a.message = message,
                None => {
                    let alert = Alert {
                        name: id.1,
                        state: "firing",
                        since_ms: unix_ms(&now),
                        message,
                    };
                    self.firing.insert(id.clone(), alert.clone());
                    out.push(Transition::Fired(id.0, alert));
                }
            }
        }
        let holding = &self.holding;
        let gone: Vec<_> = self
            .firing
            .keys()
            .filter(|k| !holding.contains_key(*k))
            .cloned()
            .collect();
        for id in gone {
            if let Some(a) = self.firing.remove(&id) {
                out.push(Transition::Resolved(id.0, a));
            }
        }
        out
    }
}

/// The conditions that hold for a subject now: each with how long it must hold and what
/// the alert says.
fn conditions(s: &Subject<'_>, now: SystemTime) -> Vec<(AlertName, (std::time::Duration, String))> {
    let mut out = Vec::new();
    if let (Some(t), Some(series)) = (s.rules.memory, s.series) {
        if let (Some(p), Some((_, last))) = (series.memory_percent(), series.last) {
            if p > t.above_percent {
                let msg = format!(
                    "memory at {p:.0}% of its {} (above {}% for {})",
                    format_bytes(last.memory_limit_bytes),
                    t.above_percent,
                    humantime::format_duration(t.for_)
                );
                out.push((AlertName::Memory, (t.for_, msg)));
            }
        }
    }
    if let (Some(t), Some(p)) = (s.rules.cpu, s.series.and_then(Series::cpu_percent)) {
        if p > t.above_percent {
            let of = match s.cores {
                Some(c) => format!("its {c} CPU"),
                None => "one core".to_string(),
            };
            let msg = format!(
                "CPU at {p:.0}% of {of} (above {}% for {})",
                t.above_percent,
                humantime::format_duration(t.for_)
            );
            out.push((AlertName::Cpu, (t.for_, msg)));
        }
    }
    if let Some(r) = s.rules.restarts {
        let since = now.checked_sub(r.within).unwrap_or(SystemTime::UNIX_EPOCH);
        let n = s.restarts.iter().filter(|t| **t > since).count() as u32;
        if n > r.above {
            let msg = format!(
                "{n} restarts within {} (above {})",
                humantime::format_duration(r.within),
                r.above
            );
            out.push((AlertName::Restarts, (std::time::Duration::ZERO, msg)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::{Kind, RestartRule, Sample, Threshold};

    fn series(memory: u64, cpu_per_10s: f64, t0: SystemTime, n: u64) -> Series {
        let mut s = Series::default();
        for i in 0..n {
            s.push(
                t0 + Duration::from_secs(10 * i),
                Sample {
                    cpu_seconds: cpu_per_10s * i as f64,
                    memory_bytes: memory,
                    memory_limit_bytes: 100 << 20,
                    ..Sample::default()
                },
                Some(1.0),
            );
        }
        s
    }

    #[test]
    fn an_alert_fires_after_its_for_and_resolves_when_the_condition_goes() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let key = ObjectKey::new(Kind::Session, "s");
        let rules = AlertRules {
            memory: Some(Threshold {
                above_percent: 90.0,
                for_: Duration::from_secs(60),
            }),
            cpu: Some(Threshold {
                above_percent: 95.0,
                for_: Duration::ZERO,
            }),
            restarts: Some(RestartRule {
                above: 2,
                within: Duration::from_secs(600),
            }),
        };
        let mut state = AlertState::default();
        let high = series(95 << 20, 9.9, t0, 3);
        let subject = |series, restarts| Subject {
            key: &key,
            rules,
            series,
            restarts,
            cores: Some(1.0),
        };
        // Memory holds from now: pending. CPU at 99 % fires at once.
        let t = state.evaluate(&[subject(Some(&high), &[])], t0);
        assert!(
            matches!(&t[..], [Transition::Fired(_, a)] if a.name == AlertName::Cpu),
            "{t:?}"
        );
        let t = state.evaluate(&[subject(Some(&high), &[])], t0 + Duration::from_secs(59));
        assert!(t.is_empty(), "{t:?}");
        let t = state.evaluate(&[subject(Some(&high), &[])], t0 + Duration::from_secs(60));
        match &t[..] {
            [Transition::Fired(k, a)] => {
                assert_eq!((k, a.name), (&key, AlertName::Memory));
                assert_eq!(a.message, "memory at 95% of its 100Mi (above 90% for 1m)");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(state.firing(&key).len(), 2);
        // Memory freed and CPU quiet: both resolve; three restarts in ten minutes fire.
        let low = series(10 << 20, 0.1, t0, 3);
        let restarts = [t0, t0 + Duration::from_secs(1), t0 + Duration::from_secs(2)];
        let t = state.evaluate(
            &[subject(Some(&low), &restarts)],
            t0 + Duration::from_secs(70),
        );
        let fired: Vec<_> = t
            .iter()
            .filter(|x| matches!(x, Transition::Fired(..)))
            .collect();
        let resolved = t
            .iter()
            .filter(|x| matches!(x, Transition::Resolved(..)))
            .count();
        assert_eq!((fired.len(), resolved), (1, 2), "{t:?}");
        // The object gone: its alert resolves.
        let t = state.evaluate(&[], t0 + Duration::from_secs(80));
        assert!(matches!(&t[..], [Transition::Resolved(_, a)] if a.name == AlertName::Restarts));
        assert_eq!(state.all().count(), 0);
    }
}
