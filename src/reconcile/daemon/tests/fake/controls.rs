//! What a test does to the fake engine besides calling it: look at the calls made, kill or
//! stop a container, set health, traffic and readings, make calls fail or slow.

use std::time::Duration;

use super::{Call, FakeEngine};
use crate::engine::{EngineError, EventKind};
use crate::model::{Health, ObjectKey, Observed, RunState};

impl FakeEngine {
    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.with(|s| s.calls.clone())
    }

    /// The calls of operation `op`.
    pub fn calls_of(&self, op: &str) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.op == op).collect()
    }

    /// The containers of `key`.
    pub fn containers_of(&self, key: &ObjectKey) -> Vec<Observed> {
        self.with(|s| {
            s.containers
                .values()
                .filter(|(_, o)| o.key.as_ref() == Some(key))
                .map(|(_, o)| o.clone())
                .collect()
        })
    }

    /// Whether `key` has exactly one container and it runs.
    pub fn runs(&self, key: &ObjectKey) -> bool {
        let cs = self.containers_of(key);
        cs.len() == 1 && cs[0].state == RunState::Running
    }

    /// Its process ends with `code`; with `tell`, a `die` event says so.
    pub fn kill(&self, key: &ObjectKey, code: i64, tell: bool) {
        let killed = self.with(|s| {
            let (_, o) = s
                .containers
                .values_mut()
                .find(|(_, o)| o.key.as_ref() == Some(key))
                .expect("a container to kill");
            o.state = RunState::Exited { code: Some(code) };
            o.clone()
        });
        if tell {
            self.emit(EventKind::Die, &killed, Some(code), None);
        }
    }

    /// Someone runs `docker stop` on it: it exits with 143, and `kill`, `die` and `stop`
    /// events say so.
    pub fn stop_outside(&self, key: &ObjectKey) {
        let stopped = self.with(|s| {
            let (_, o) = s
                .containers
                .values_mut()
                .find(|(_, o)| o.key.as_ref() == Some(key))
                .expect("a container to stop");
            o.state = RunState::Exited { code: Some(143) };
            o.clone()
        });
        // As the engine does: `kill`, `die`, `stop`.
        self.emit(EventKind::Stop, &stopped, None, None);
        self.emit(EventKind::Die, &stopped, Some(143), None);
        self.emit(EventKind::Stop, &stopped, None, None);
    }

    /// Behaves like Podman without systemd from now on (see [`State::podman_like`]).
    pub fn set_podman_like(&self) {
        self.with(|s| s.podman_like = true);
    }

    /// Adds `bytes` to the network counter of the object's container.
    pub fn add_traffic(&self, key: &ObjectKey, bytes: u64) {
        self.with(|s| {
            for id in s.ids_of(key) {
                *s.traffic.entry(id).or_default() += bytes;
            }
        });
    }

    /// What the stats of the object's container read from now on.
    pub fn set_usage(&self, key: &ObjectKey, sample: crate::model::Sample) {
        self.with(|s| {
            for id in s.ids_of(key) {
                s.usage.insert(id, sample);
            }
        });
    }

    /// What the container's next health check finds (Podman-like: no event).
    pub fn set_check_result(&self, key: &ObjectKey, health: Health) {
        self.with(|s| {
            if let Some((_, o)) = s
                .containers
                .values_mut()
                .find(|(_, o)| o.key.as_ref() == Some(key))
            {
                o.health = Some(health);
            }
        });
    }

    /// Its health check turns `health`, and an event says so.
    pub fn set_health(&self, key: &ObjectKey, health: Health) {
        let changed = self.with(|s| {
            let (_, o) = s
                .containers
                .values_mut()
                .find(|(_, o)| o.key.as_ref() == Some(key))
                .expect("a container");
            o.health = Some(health);
            o.clone()
        });
        self.emit(EventKind::Health, &changed, None, Some(health));
    }

    /// The next call of `op` fails with `e`.
    pub fn fail_next(&self, op: &'static str, e: EngineError) {
        self.with(|s| s.fail.push_back((op, e)));
    }

    /// Every call fails as if nothing answered (`false`: answers again).
    pub fn set_away(&self, away: bool) {
        self.with(|s| s.away = away);
    }

    /// Calls of `op` take `d`.
    pub fn set_latency(&self, op: &'static str, d: Duration) {
        self.with(|s| {
            s.latency.insert(op, d);
        });
    }
}
