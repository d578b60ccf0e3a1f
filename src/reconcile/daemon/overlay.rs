//! What engine events said about containers that a listing taken right after them may not
//! show yet (the engine emits `die` before its list view is updated). Applied on top of
//! each listing until the listing agrees or a later event replaces it. It also remembers
//! which containers the engine was asked to stop (`stop` events) until they start again or
//! go: an exit after one is not a crash, and when each container last started (how long it
//! has run, for the API's `?wait=ready`).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::engine::{EngineEvent, EventKind};
use crate::model::{Health, Observed, RunState};

#[derive(Debug, Default)]
pub(super) struct Overlay {
    by_id: HashMap<String, (Option<RunState>, Option<Health>)>,
    /// Containers a `stop` event was seen for since they last started.
    stopped: HashSet<String>,
    /// When each container last started, by the engine's clock.
    started: HashMap<String, SystemTime>,
}

impl Overlay {
    pub(super) fn note(&mut self, ev: Option<EngineEvent>) {
        let Some(ev) = ev else { return };
        match ev.kind {
            EventKind::Die => {
                self.by_id.entry(ev.container_id).or_default().0 =
                    Some(RunState::Exited { code: ev.exit_code });
            }
            EventKind::Start => {
                let at = UNIX_EPOCH + Duration::from_nanos(ev.time_nano.max(0) as u64);
                self.started.insert(ev.container_id.clone(), at);
                self.stopped.remove(&ev.container_id);
                if let Some(e) = self.by_id.get_mut(&ev.container_id) {
                    e.0 = None;
                }
            }
            EventKind::Destroy => {
                self.started.remove(&ev.container_id);
                self.stopped.remove(&ev.container_id);
                self.by_id.remove(&ev.container_id);
            }
            EventKind::Stop => {
                self.stopped.insert(ev.container_id);
            }
            EventKind::Health => {
                if let Some(h) = ev.health {
                    self.by_id.entry(ev.container_id).or_default().1 = Some(h);
                }
            }
            EventKind::Oom | EventKind::Other => {}
        }
    }

    pub(super) fn apply(&mut self, observed: &mut [Observed]) {
        if !self.started.is_empty() {
            for o in observed.iter_mut() {
                o.started_at = self.started.get(&o.id).copied();
            }
            if self.started.len() > 2 * observed.len() + 64 {
                let listed: HashSet<&str> = observed.iter().map(|o| o.id.as_str()).collect();
                self.started.retain(|id, _| listed.contains(id.as_str()));
            }
        }
        if self.by_id.is_empty() && self.stopped.is_empty() {
            return; // the usual case: nothing to correct
        }
        let listed: HashSet<&str> = observed.iter().map(|o| o.id.as_str()).collect();
        self.by_id.retain(|id, _| listed.contains(id.as_str()));
        self.stopped.retain(|id| listed.contains(id.as_str()));
        for o in observed.iter_mut() {
            o.stopped_outside = self.stopped.contains(&o.id);
        }
        for o in observed.iter_mut() {
            let Some((state, health)) = self.by_id.get_mut(&o.id) else {
                continue;
            };
            if let Some(s) = *state {
                if o.state == RunState::Running {
                    o.state = s; // the listing lags behind the event
                } else {
                    *state = None; // the listing caught up
                }
            }
            if let Some(h) = *health {
                if o.state == RunState::Running && o.health != Some(h) {
                    o.health = Some(h);
                } else {
                    *health = None;
                }
            }
        }
        self.by_id.retain(|_, (s, h)| s.is_some() || h.is_some());
    }
}
