//! The loop's side of exposure and idleness: after each pass it tells the idle sampler
//! which containers to watch and the route task which routes to hold; it marks an object
//! idle when the sampler says so (an override in `<instance>.overrides.json`, kept across
//! restarts of berth, that keeps it stopped) and clears the mark when a request wakes it.

use tracing::{info, warn};

use super::{Controller, Manifests};
use crate::engine::Engine;
use crate::model::{ObjectKey, Observed};

impl<E: Engine, M: Manifests> Controller<E, M> {
    /// Hands the listing to the idle sampler and the wanted routes to the route task.
    pub(super) fn after_pass(&mut self, observed: &[Observed]) {
        let desired = &self.desired.desired;
        if let Some(idle) = &self.idle {
            idle.observe(desired, observed);
        }
        if let Some(u) = &self.usage {
            u.observe(desired, observed, &self.runtime, &self.history);
        }
        let Some(routing) = &self.routing else {
            return;
        };
        let mut routes = crate::plan::routes::routes(
            &self.config.instance,
            desired,
            observed,
            &self.runtime,
            self.config.wake_address.as_deref(),
        );
        // An object whose manifest is in doubt keeps the route it had, like its container.
        for old in &self.last_routes {
            if desired.held_keys.contains(&old.key) && !routes.iter().any(|r| r.key == old.key) {
                routes.push(old.clone());
            }
        }
        routes.sort_by(|a, b| a.id.cmp(&b.id));
        self.last_routes = routes.clone();
        routing.want(routes);
    }

    fn expired(&self, key: &ObjectKey) -> bool {
        self.runtime.get(key).is_some_and(|r| r.expired)
    }

    /// The sampler found `key` quiet for its whole window.
    pub(super) fn mark_idle(&mut self, key: ObjectKey) {
        let Some(want) = self.desired.desired.objects.get(&key) else {
            return;
        };
        let Some(rule) = want.idle else { return };
        if want.keep_stopped() || self.expired(&key) {
            return;
        }
        let now = self.clock.now();
        match self
            .override_store
            .modify(|o| o.idle.insert(key.clone(), now))
        {
            Ok(_) => info!(
                object = %key,
                "idle: no network traffic for {}",
                humantime::format_duration(rule.after)
            ),
            Err(e) => warn!(object = %key, class = "infrastructure", "cannot mark it idle: {e}"),
        }
        self.read_overrides();
    }

    /// A request reached the wake endpoint for `key`.
    pub(super) fn wake(&mut self, key: ObjectKey) {
        if !self.overrides.idle.contains_key(&key) || self.expired(&key) {
            return;
        }
        match self.override_store.modify(|o| o.idle.remove(&key)) {
            Ok(_) => info!(object = %key, "woken by a request to its route"),
            Err(e) => warn!(object = %key, class = "infrastructure", "cannot wake it: {e}"),
        }
        self.read_overrides();
    }
}
