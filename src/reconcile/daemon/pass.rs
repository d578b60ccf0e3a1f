//! One pass of the loop: read the manifests when they changed, list the engine (one call,
//! two with volumes), correct the listing with what events said, fill ports and hold what
//! does not fit, update berth's memory, plan. Dispatching the plan is [`super::dispatch`].

use std::collections::HashSet;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{error, info, warn};

use super::{Controller, Manifests};
use crate::engine::{Engine, EngineError, EngineEvent, EventKind};
use crate::manifest::{self, Diagnostic};
use crate::model::{
    Actor, Backoff, FailureClass, Happening, Health, Observed, ObservedVolume, RunState,
};
use crate::plan::volumes::VolumeOptions;
use crate::plan::{self, runtime as memory};
use crate::reconcile::execute::Outcome;
use crate::reconcile::observe;

/// Between listings while the engine refuses or is away: the poll interval (at least a
/// second) doubling to a minute.
const LIST_BACKOFF_MAX: Duration = Duration::from_secs(60);

/// An `oom` event is the cause of an exit with code 137 seen within this long after it (a
/// child killed for memory while the container lives on must not mark a later `docker
/// kill` as an OOM kill).
pub(super) const OOM_WINDOW: Duration = Duration::from_secs(60);

/// How often an engine that does not tell every exit is listed while containers run.
const EXIT_LISTING: Duration = Duration::from_secs(1);

/// How long an exit with code 137 that a listing shows waits for its `die` event before it
/// is called a kill: the engine sends `oom` just before `die`, and a listing taken while
/// they are on their way would otherwise call an OOM kill "SIGKILL or out of memory".
const DIE_GRACE: Duration = Duration::from_secs(2);

/// See the controller's `exits`.
#[derive(Debug, Default)]
pub(super) struct Exits {
    told: HashSet<String>,
    untold: std::collections::HashMap<String, Instant>,
}

impl<E: Engine, M: Manifests> Controller<E, M> {
    /// An engine event: the overlay learns from it, and a death or failing health check
    /// starts the clock of the event-to-action metric.
    pub(super) fn note_event(&mut self, at: Instant, ev: Option<EngineEvent>) {
        if let Some(e) = &ev {
            match e.kind {
                EventKind::Oom => {
                    self.oom_seen.insert(e.container_id.clone(), (at, false));
                }
                EventKind::Die => {
                    self.exits.told.insert(e.container_id.clone());
                }
                EventKind::Start | EventKind::Destroy => {
                    self.exits.told.remove(&e.container_id);
                    self.exits.untold.remove(&e.container_id);
                }
                _ => {}
            }
            let calls_for_action = e.kind == EventKind::Die
                || (e.kind == EventKind::Health && e.health == Some(Health::Unhealthy));
            if let (true, Some(key)) = (calls_for_action, &e.key) {
                self.event_at.entry(key.clone()).or_insert(at);
            }
        }
        self.overlay.note(ev);
    }

    /// Re-reads the manifests if any input changed. Diagnostics are logged when they
    /// change, not on every resync.
    pub(super) fn load(&mut self) {
        self.shared
            .manifest_reads
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let Some(mut loaded) = self.manifests.load() else {
            return; // nothing changed since the last read
        };
        tracing::debug!(
            files = loaded.files,
            documents = loaded.documents,
            "manifests read"
        );
        // Objects that ask for more than the engine's host has are held here, once per
        // read (the ports of `hostPort: auto` are filled on every pass instead).
        for h in observe::hold_misfits(&mut loaded.desired, &self.host) {
            loaded.diagnostics.push(Diagnostic::error(
                &h.source,
                (1, 1),
                "",
                format!("{}: {}", h.key, h.message),
            ));
        }
        let diags: Vec<String> = loaded.diagnostics.iter().map(|d| d.to_string()).collect();
        if diags != self.last_diagnostics {
            for d in &loaded.diagnostics {
                if d.is_error() {
                    let class = match d.class {
                        manifest::diagnostic::Class::Manifest => FailureClass::Manifest,
                        manifest::diagnostic::Class::Policy => FailureClass::Policy,
                    };
                    self.shared.metrics.error(class.as_str());
                    warn!(class = class.as_str(), file = %d.file, line = d.line, column = d.column, path = %d.path, "{}", d.message);
                } else {
                    warn!(file = %d.file, line = d.line, column = d.column, path = %d.path, "{}", d.message);
                }
            }
            if diags.is_empty() && !self.last_diagnostics.is_empty() {
                info!("manifests are valid again");
            }
            self.last_diagnostics = diags;
        }
        // `hostPort: auto` fills ports in (and may hold objects) on every pass: keep the
        // manifests' own version to start each pass from.
        let auto_ports = loaded
            .desired
            .objects
            .values()
            .any(|o| o.spec.ports.iter().any(|p| p.host_port_auto));
        // So do the session quotas, against what runs.
        let per_pass = auto_ports || !loaded.quotas.is_empty();
        self.pristine = per_pass.then(|| loaded.clone());
        self.desired = loaded;
    }

    /// One reconcile pass. Returns when the planner next wants to look.
    pub(super) async fn pass(&mut self, done: &mpsc::UnboundedSender<Outcome>) -> Option<Instant> {
        let started = Instant::now();
        if let Some((until, _)) = self.list_backoff {
            if started < until {
                return Some(until); // backing off: no engine call yet
            }
        }
        let listed = match self.engine.list(&self.config.instance).await {
            Ok(o) => self.list_volumes().await.map(|v| (o, v)),
            Err(e) => Err(e),
        };
        let (mut observed, volumes) = match listed {
            Ok(l) => {
                self.list_backoff = None;
                l
            }
            Err(e) => return Some(self.listing_failed(&e)),
        };
        self.overlay.apply(&mut observed);
        if let Some(h) = &self.health {
            h.observe(&self.desired.desired, &mut observed);
        }
        if let Some(p) = &self.pristine {
            self.desired = p.clone();
        }
        // `hostPort: auto`, then the session quotas. An object that gets no port (or no
        // place) is held; each message is logged once for as long as it lasts.
        let mut warnings = HashSet::new();
        for h in observe::assign_ports(
            &mut self.desired.desired,
            &observed,
            &mut self.ports,
            self.config.port_pool,
        ) {
            let msg = format!("{}: {}", h.key, h.message);
            if !self.port_warnings.contains(&msg) {
                self.shared.metrics.error(h.class.as_str());
                warn!(object = %h.key, class = h.class.as_str(), "{}; its container is left as it is", h.message);
            }
            warnings.insert(msg);
        }
        let now = self.clock.now();
        memory::observe(
            &mut self.runtime,
            &self.desired.desired,
            &observed,
            now,
            self.passes == 0,
        );
        self.passes += 1;
        observe::apply_overrides(
            &mut self.desired.desired,
            &self.overrides,
            Some((&self.runtime, &observed)),
            now,
        );
        for h in observe::hold_over_quota(
            &mut self.desired.desired,
            &self.desired.quotas,
            &observed,
            &self.runtime,
            &self.in_flight,
        ) {
            let msg = format!("{}: {}", h.key, h.message);
            if !self.port_warnings.contains(&msg) {
                self.shared.metrics.error(h.class.as_str());
                warn!(object = %h.key, class = h.class.as_str(), "{}", h.message);
            }
            warnings.insert(msg);
        }
        self.port_warnings = warnings;
        let recheck = self.note_workload_failures(&observed, now);
        let desired = &self.desired.desired;
        let wanted = plan::volumes::wanted(&self.config.instance, desired, &self.runtime);
        plan::volumes::observe(
            &mut self.volume_memory,
            &wanted,
            &volumes,
            desired.incomplete || !desired.held_sources.is_empty(),
            now,
        );
        let (p, volume_statuses) = plan::plan_all(
            desired,
            &observed,
            &volumes,
            &self.runtime,
            &self.volume_memory,
            now,
            plan::Options {
                allow_empty: self.config.allow_empty,
            },
            &VolumeOptions {
                instance: self.config.instance.clone(),
                default_cleanup: self.config.default_cleanup,
                max_orphans: self.config.max_orphans,
                max_orphan_bytes: self.config.max_orphan_bytes,
                allow_removal: true,
            },
        );
        let notes: Vec<String> = p
            .notes
            .iter()
            .map(|n| format!("{}: {}", n.subject, n.message))
            .collect();
        for n in notes.iter().filter(|n| !self.last_notes.contains(n)) {
            info!("{n}");
        }
        self.last_notes = notes;
        self.dispatch(&p, &observed, done);
        self.shared.metrics.reconciles.inc();
        self.shared
            .metrics
            .reconcile_duration
            .observe(started.elapsed().as_secs_f64());
        self.publish(&observed, &p, volume_statuses, now);
        self.after_pass(&observed);
        self.shared.liveness.mark_ready();
        let planned = p.wake_at().map(|t| {
            let d = t.duration_since(self.clock.now()).unwrap_or_default();
            // A little slack so the planner sees the deadline as passed.
            Instant::now() + d + Duration::from_millis(5)
        });
        // An engine that does not tell every exit (Podman 4.3) is listed every second
        // while any container runs, so an exit is noticed within a second.
        let running = observed.iter().any(|o| o.state == RunState::Running);
        let listing =
            (!self.engine.tells_exits() && running).then(|| Instant::now() + EXIT_LISTING);
        [planned, listing, recheck].into_iter().flatten().min()
    }

    /// The engine did not answer the listing: no plan at all, and the next try after a
    /// growing delay. Returns when to try again.
    fn listing_failed(&mut self, e: &EngineError) -> Instant {
        self.shared
            .metrics
            .error(FailureClass::Infrastructure.as_str());
        let backoff = Backoff::new(
            self.config
                .poll_interval
                .clamp(Duration::from_secs(1), LIST_BACKOFF_MAX),
            LIST_BACKOFF_MAX,
        );
        let delay = match self.list_backoff {
            Some((_, d)) => backoff.next(d),
            None => backoff.initial,
        };
        error!(class = "infrastructure", error = %e, retry_in_ms = delay.as_millis() as u64, "cannot list the engine's state; nothing is changed until it answers (retrying in {})", humantime::format_duration(delay));
        self.shared
            .report
            .write()
            .expect("not poisoned")
            .engine_error = Some(e.to_string());
        self.shared.announce();
        let until = Instant::now() + Backoff::jittered(delay, self.passes);
        self.list_backoff = Some((until, delay));
        until
    }

    /// Lists the instance's volumes when any may matter (declared, remembered, or seen last
    /// time), with sizes when a size budget is set and the engine reports them.
    async fn list_volumes(&mut self) -> Result<Vec<ObservedVolume>, EngineError> {
        let declared = self
            .desired
            .desired
            .objects
            .values()
            .any(|d| !d.volumes.is_empty());
        if !(declared || self.volumes_seen || !self.volume_memory.is_empty()) {
            return Ok(Vec::new());
        }
        let mut volumes = self.engine.list_volumes(&self.config.instance).await?;
        self.volumes_seen = !volumes.is_empty();
        if self.config.max_orphan_bytes.is_some() && !self.sizes_refused && !volumes.is_empty() {
            match self.engine.volume_sizes().await {
                Ok(sizes) => {
                    for v in &mut volumes {
                        v.size = v.size.or(sizes.get(&v.name).copied());
                    }
                }
                Err(e) => {
                    self.sizes_refused = true;
                    warn!(error = %e, "volume sizes are not available (a socket proxy needs SYSTEM=1 for GET /system/df); the orphan budget counts volumes instead");
                }
            }
        }
        Ok(volumes)
    }

    /// Exits and failing health checks become the object's last (workload) error. Returns
    /// when to look again at an exit that waits for its `die` event.
    fn note_workload_failures(
        &mut self,
        observed: &[Observed],
        now: std::time::SystemTime,
    ) -> Option<Instant> {
        let mut recheck: Option<Instant> = None;
        self.oom_seen.retain(|id, (at, counted)| {
            observed.iter().any(|o| &o.id == id) && (*counted || at.elapsed() < OOM_WINDOW)
        });
        let listed: HashSet<&str> = observed.iter().map(|o| o.id.as_str()).collect();
        self.exits.told.retain(|id| listed.contains(id.as_str()));
        self.exits
            .untold
            .retain(|id, _| listed.contains(id.as_str()));
        for o in observed {
            let Some(key) = &o.key else { continue };
            let current = self
                .desired
                .desired
                .objects
                .get(key)
                .is_some_and(|w| w.is_current(o));
            if !current || self.in_flight.contains(key) {
                continue;
            }
            let Some(rt) = self.runtime.get_mut(key) else {
                continue;
            };
            let msg = match (o.state, o.health) {
                (RunState::Exited { code: Some(c) }, _)
                    if c != 0 && !rt.stopped_by_berth && !o.stopped_outside =>
                {
                    // Its `die` (and an `oom` before it) may still be on the way: wait for
                    // it, a little, on an engine that tells exits.
                    let unexplained = c == 137
                        && self.engine.tells_exits()
                        && !self.exits.told.contains(&o.id)
                        && !self.oom_seen.contains_key(&o.id);
                    if unexplained {
                        let since = *self
                            .exits
                            .untold
                            .entry(o.id.clone())
                            .or_insert_with(Instant::now);
                        if since.elapsed() < DIE_GRACE {
                            let at = since + DIE_GRACE;
                            recheck = Some(recheck.map_or(at, |r| r.min(at)));
                            continue;
                        }
                    }
                    // An exit within the window after an `oom` event is the OOM kill; one
                    // taken for it stays one while the container is there.
                    let oom = match self.oom_seen.get_mut(&o.id) {
                        Some((_, true)) => true,
                        Some((at, counted)) if c == 137 && at.elapsed() < OOM_WINDOW => {
                            *counted = true;
                            rt.oom_kills += 1;
                            true
                        }
                        _ => false,
                    };
                    if c == 137 && oom {
                        let limit = self
                            .desired
                            .desired
                            .objects
                            .get(key)
                            .map(|w| crate::model::format_bytes(w.spec.memory_bytes))
                            .unwrap_or_default();
                        format!(
                            "OOMKilled: exited with code 137 (out of memory: its limit is {limit})"
                        )
                    } else if c == 137 {
                        format!("exited with code {c} (killed: SIGKILL or out of memory)")
                    } else {
                        format!("exited with code {c}")
                    }
                }
                (RunState::Running, Some(Health::Unhealthy)) => "health check failing".to_string(),
                _ => continue,
            };
            if rt.last_error.as_ref().is_none_or(|e| e.message != msg) {
                self.shared.metrics.error(FailureClass::Workload.as_str());
                warn!(object = %key, class = "workload", "{msg}");
                self.history.push(
                    now,
                    key.clone(),
                    Actor::Run,
                    Happening::Failure {
                        class: FailureClass::Workload,
                        message: msg.clone(),
                    },
                );
            }
            memory::note_workload(rt, msg, now);
        }
        recheck
    }
}
