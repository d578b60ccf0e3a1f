//! What the loop tells the world after each pass: `/status`, the phase gauges and the state
//! file (written only when it changed).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use tracing::error;

use super::{Controller, Manifests};
use crate::engine::Engine;
use crate::model::{unix_ms, Declared, DesiredSet, Kind, ObjectKey, Observed, Phase};
use crate::plan::{self, Plan, Verb};
use crate::state;
use crate::status::{self, Report};

impl<E: Engine, M: Manifests> Controller<E, M> {
    /// Updates `/status`, the phase gauges and the state file.
    pub(super) fn publish(
        &mut self,
        observed: &[Observed],
        p: &Plan,
        volumes: Vec<plan::volumes::VolumeStatus>,
        now: SystemTime,
    ) {
        let desired: &DesiredSet = &self.desired.desired;
        let mut keys: Vec<ObjectKey> = desired.objects.keys().cloned().collect();
        keys.extend(desired.held_keys.iter().cloned());
        keys.extend(observed.iter().filter_map(|o| o.key.clone()));
        keys.retain(|k| k.kind != Kind::Volume);
        keys.sort();
        keys.dedup();
        let mut objects = Vec::new();
        let mut published = BTreeMap::new();
        let mut counts: BTreeMap<Phase, i64> = Phase::ALL.iter().map(|p| (*p, 0)).collect();
        let by_key = crate::model::by_key(observed);
        let usage = self.shared.metrics.usage.clone();
        let firing = usage.read().expect("not poisoned");
        for key in &keys {
            let want = desired.objects.get(key);
            let have = by_key
                .get(key)
                .into_iter()
                .flatten()
                .copied()
                .max_by_key(|o| (want.is_some_and(|w| w.is_current(o)), o.created));
            let held = want.is_none()
                && desired.is_held(Some(key), have.and_then(|h| h.source.as_deref()));
            let waits: Vec<_> = p.waits.iter().filter(|w| &w.key == key).collect();
            let rt = self.runtime.get(key);
            let removing = self.in_flight.contains(key)
                || p.actions
                    .iter()
                    .any(|a| &a.key == key && a.verb() == Verb::Remove);
            let mut s = status::object_status(
                key,
                want,
                held,
                have,
                rt,
                &waits,
                removing,
                self.last_actions.get(key),
            );
            if let Some(why) = desired.over_quota.get(key) {
                s.phase = Phase::OverQuota;
                s.waiting = Some(format!("over quota: {why}"));
            }
            *counts.entry(s.phase).or_default() += 1;
            if let Some(w) = want {
                if !self.declared.get(key).is_some_and(|d| d.matches(w)) {
                    self.declared
                        .insert(key.clone(), Arc::new(Declared::from(w)));
                }
            }
            published.insert(
                key.clone(),
                state::Published {
                    phase: Some(s.phase),
                    message: s.message(),
                    next_retry_ms: s.next_retry_ms,
                    declared: self.declared.get(key).cloned(),
                    alerts: firing
                        .get(key)
                        .map(|m| {
                            m.alerts
                                .iter()
                                .map(|a| format!("{}: {}", a.name.as_str(), a.message))
                                .collect()
                        })
                        .unwrap_or_default(),
                },
            );
            objects.push(s);
        }
        for (phase, n) in counts {
            self.shared
                .metrics
                .objects
                .get_or_create(&crate::status::metrics::PhaseLabels {
                    phase: phase.to_string(),
                })
                .set(n);
        }
        {
            let mut r = self.shared.report.write().expect("not poisoned");
            *r = Report {
                instance: self.config.instance.clone(),
                ready: true,
                last_reconcile_ms: Some(unix_ms(&now)),
                engine_error: None,
                diagnostics: self.last_diagnostics.clone(),
                objects,
                volumes,
                manifest_reads: self
                    .shared
                    .manifest_reads
                    .load(std::sync::atomic::Ordering::SeqCst),
            };
        }
        self.shared.announce();
        self.declared.retain(|k, _| published.contains_key(k));
        let mut snapshot = state::snapshot(
            &self.config.instance,
            &self.runtime,
            published,
            &self.volume_memory,
            &self.history,
        );
        snapshot.set_port_allocations(&self.ports);
        if self.last_saved.as_ref() != Some(&snapshot) {
            self.last_saved = Some(snapshot);
            self.save(false);
        }
    }

    pub(super) fn save(&mut self, final_save: bool) {
        let snapshot = match (&self.last_saved, final_save) {
            (Some(s), _) => s.clone(),
            (None, _) => state::snapshot(
                &self.config.instance,
                &self.runtime,
                BTreeMap::new(),
                &self.volume_memory,
                &self.history,
            ),
        };
        if let Err(e) = self.store.save(&snapshot) {
            error!(error = %e, "cannot save the state file; session clocks may be lost on restart");
        }
    }
}
