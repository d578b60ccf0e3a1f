//! The control loop of `berth run`: level-triggered, keyed, crash-safe.
//!
//! Every trigger (a manifest change, an engine event, a due backoff or TTL, a finished
//! action, the periodic resync) leads to one pass: list the instance's containers (one
//! call), update berth's memory, plan, and dispatch the actions. Triggers that arrive during
//! a pass fold into the next one. Actions run as tasks under a semaphore (bounded
//! concurrency) and never two on one object: an object with an action in flight is skipped
//! until that action reports back. Nothing here deletes on an error: a failed listing means
//! no plan at all.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures_util::StreamExt;
use tokio::sync::{mpsc, Semaphore};
use tracing::{error, info, warn};

use super::execute::{run_action, Outcome};
use crate::engine::{Engine, EngineError, EngineEvent};
use crate::manifest;
use crate::model::{
    unix_ms, CleanupRule, DesiredSet, FailureClass, Kind, ObjectKey, Observed, ObservedVolume,
    RunState, Runtime, VolumeMemory,
};
use crate::plan::ports::{self, PortAllocations, PortPool};
use crate::plan::volumes::VolumeOptions;
use crate::plan::{self, runtime as memory, Cause, Plan, Verb};
use crate::resolve::{self, Loaded};
use crate::source;
use crate::state::{self, Store};
use crate::status::http::Shared;
use crate::status::{self, metrics, LastAction, Phase, Report};

/// Settings of `berth run`.
#[derive(Debug, Clone)]
pub struct Config {
    pub instance: String,
    /// What to read: manifest paths, drop-ins, the Policy source.
    pub sources: manifest::Sources,
    pub state_dir: PathBuf,
    /// Full re-read of the manifests and relisting, as the safety net for missed events.
    pub resync: Duration,
    pub allow_empty: bool,
    pub concurrency: usize,
    /// How long the watcher gathers file events into one batch.
    pub debounce: Duration,
    /// How often to poll when the engine refuses the event stream.
    pub poll_interval: Duration,
    /// Cleanup policy for volumes whose manifest names none.
    pub default_cleanup: CleanupRule,
    pub max_orphans: Option<usize>,
    pub max_orphan_bytes: Option<u64>,
    /// Where `hostPort: auto` ports come from.
    pub port_pool: PortPool,
}

/// Why `berth run` could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Watch(#[from] source::WatchError),
    #[error(transparent)]
    State(#[from] state::StateError),
}

enum Trigger {
    Files,
    Event(Instant, Option<EngineEvent>),
    Done(Box<Outcome>),
    Timer,
    Shutdown,
}

/// Runs the loop until `shutdown` resolves; then finishes the actions in flight, saves the
/// state and returns. Containers keep running.
pub async fn run(
    engine: Engine,
    config: Config,
    shared: Arc<Shared>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), RunError> {
    let engine = {
        let shared = shared.clone();
        engine.observed_by(move |operation| shared.metrics.request(operation))
    };
    let store = Store::new(&config.state_dir, &config.instance);
    let _lock = store.lock()?;
    info!(
        instance = %config.instance,
        endpoint = engine.endpoint(),
        api = engine.api_version(),
        state = %store.path().display(),
        "berth run started"
    );
    let (file, warning) = store.load()?;
    if let Some(w) = warning {
        warn!("{w}");
    }
    let host = engine.host_facts().await;
    let mut ctl = Controller {
        host,
        runtime: file.runtime(),
        volume_memory: file.volumes.clone(),
        volumes_seen: true,
        sizes_refused: false,
        ports: file.port_allocations(),
        port_warnings: HashSet::new(),
        store,
        shared,
        engine,
        desired: Loaded::default(),
        pristine: None,
        cache: resolve::cache::Cache::default(),
        in_flight: HashSet::new(),
        event_at: HashMap::new(),
        last_actions: BTreeMap::new(),
        last_saved: None,
        last_diagnostics: Vec::new(),
        overlay: Overlay::default(),
        passes: 0,
        last_notes: Vec::new(),
        list_backoff: None,
        semaphore: Arc::new(Semaphore::new(config.concurrency.max(1))),
        config,
    };

    let (file_tx, mut file_rx) = mpsc::channel(1);
    let watched: Vec<PathBuf> = ctl
        .config
        .sources
        .manifest_paths()
        .chain(&ctl.config.sources.policy)
        .cloned()
        .collect();
    let _watcher = source::watch(&watched, ctl.config.debounce, file_tx)?;
    let (event_tx, mut event_rx) = mpsc::unbounded_channel();
    let events = tokio::spawn(watch_events(
        ctl.engine.clone(),
        ctl.config.instance.clone(),
        ctl.config.poll_interval,
        event_tx,
        ctl.shared.clone(),
    ));
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Outcome>();

    tokio::pin!(shutdown);
    let mut files_dirty = true;
    let mut next_resync = Instant::now() + ctl.config.resync;
    let mut wake: Option<Instant> = None;
    let mut shutting_down = false;
    loop {
        if !shutting_down {
            let cpu = metrics::process_cpu();
            if files_dirty {
                ctl.load();
                files_dirty = false;
            }
            wake = ctl.pass(&done_tx).await;
            let used = metrics::process_cpu().saturating_sub(cpu);
            ctl.shared.metrics.reconcile_cpu.observe(used.as_secs_f64());
        }
        if shutting_down && ctl.in_flight.is_empty() {
            break;
        }
        let deadline = match wake {
            Some(w) if !shutting_down => w.min(next_resync),
            _ => next_resync,
        };
        let trigger = tokio::select! {
            _ = &mut shutdown, if !shutting_down => Trigger::Shutdown,
            Some(()) = file_rx.recv() => Trigger::Files,
            Some((at, ev)) = event_rx.recv() => Trigger::Event(at, ev),
            Some(o) = done_rx.recv() => Trigger::Done(Box::new(o)),
            _ = tokio::time::sleep_until(deadline.into()) => Trigger::Timer,
        };
        match trigger {
            Trigger::Shutdown => {
                info!(
                    in_flight = ctl.in_flight.len(),
                    "shutting down: finishing actions in flight"
                );
                shutting_down = true;
            }
            Trigger::Files => files_dirty = true,
            Trigger::Event(at, ev) => ctl.note_event(at, ev),
            Trigger::Done(o) => ctl.finish(*o),
            Trigger::Timer => {
                if Instant::now() >= next_resync {
                    files_dirty = true;
                    next_resync = Instant::now() + ctl.config.resync;
                }
            }
        }
        // Fold whatever else is already waiting into this round.
        while let Ok(o) = done_rx.try_recv() {
            ctl.finish(o);
        }
        if file_rx.try_recv().is_ok() {
            files_dirty = true;
        }
        while let Ok((at, ev)) = event_rx.try_recv() {
            ctl.note_event(at, ev);
        }
    }
    events.abort();
    ctl.save(true);
    info!("stopped; containers keep running");
    Ok(())
}

struct Controller {
    config: Config,
    engine: Engine,
    /// What the engine said about its host at start.
    host: crate::model::HostFacts,
    store: Store,
    shared: Arc<Shared>,
    desired: Loaded,
    /// The manifests as loaded, when `hostPort: auto` makes each pass change `desired`.
    pristine: Option<Loaded>,
    cache: resolve::cache::Cache,
    runtime: Runtime,
    volume_memory: BTreeMap<String, VolumeMemory>,
    /// The last volume listing found some: keep listing volumes on every pass.
    volumes_seen: bool,
    /// The engine refused `GET /system/df`: the budget counts volumes instead.
    sizes_refused: bool,
    /// `hostPort: auto` assignments (saved in the state file).
    ports: PortAllocations,
    /// Pool exhaustion messages already logged.
    port_warnings: HashSet<String>,
    in_flight: HashSet<ObjectKey>,
    /// When an engine event that may call for an action on the object (its container died
    /// or turned unhealthy) was received and no action has followed yet.
    event_at: HashMap<ObjectKey, Instant>,
    last_actions: BTreeMap<ObjectKey, LastAction>,
    last_saved: Option<state::StateFile>,
    last_diagnostics: Vec<String>,
    overlay: Overlay,
    /// After a failed listing: no engine call before the instant, and the delay that led
    /// there (doubling up to [`LIST_BACKOFF_MAX`]), so a refusing proxy is not hammered.
    list_backoff: Option<(Instant, Duration)>,
    semaphore: Arc<Semaphore>,
    /// Passes that listed the engine successfully.
    passes: u64,
    /// Planner notes last logged, so each is said once when it appears.
    last_notes: Vec<String>,
}

/// The longest wait between two listings while the engine refuses or is away.
const LIST_BACKOFF_MAX: Duration = Duration::from_secs(60);

/// What engine events said about containers that a listing taken right after them may not
/// show yet (the engine emits `die` before its list view is updated). Applied on top of
/// each listing until the listing agrees or a later event replaces it.
#[derive(Debug, Default)]
struct Overlay {
    by_id: std::collections::HashMap<String, (Option<RunState>, Option<crate::model::Health>)>,
}

impl Overlay {
    fn note(&mut self, ev: Option<EngineEvent>) {
        let Some(ev) = ev else { return };
        match ev.action.as_str() {
            "die" => {
                self.by_id.entry(ev.container_id).or_default().0 =
                    Some(RunState::Exited { code: ev.exit_code });
            }
            "start" => {
                if let Some(e) = self.by_id.get_mut(&ev.container_id) {
                    e.0 = None;
                }
            }
            "destroy" => {
                self.by_id.remove(&ev.container_id);
            }
            "health_status" => {
                if let Some(h) = ev.health {
                    self.by_id.entry(ev.container_id).or_default().1 = Some(h);
                }
            }
            _ => {}
        }
    }

    fn apply(&mut self, observed: &mut [Observed]) {
        if self.by_id.is_empty() {
            return; // the usual case: nothing to correct
        }
        let listed: HashSet<&str> = observed.iter().map(|o| o.id.as_str()).collect();
        self.by_id.retain(|id, _| listed.contains(id.as_str()));
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

impl Controller {
    /// An engine event: the overlay learns from it, and a death or failing health check
    /// starts the clock of [`metrics::Metrics::event_to_action`].
    fn note_event(&mut self, at: Instant, ev: Option<EngineEvent>) {
        if let Some(e) = &ev {
            let calls_for_action = e.action == "die"
                || (e.action == "health_status"
                    && e.health == Some(crate::model::Health::Unhealthy));
            if let (true, Some(key)) = (calls_for_action, &e.key) {
                self.event_at.entry(key.clone()).or_insert(at);
            }
        }
        self.overlay.note(ev);
    }

    /// Re-reads the manifests if any file changed. Diagnostics are logged when they change,
    /// not on every resync.
    fn load(&mut self) {
        let Some(mut loaded) = self.cache.load(&self.config.sources) else {
            return; // nothing changed since the last read
        };
        for m in plan::host::check(&mut loaded.desired, &self.host) {
            loaded.diagnostics.push(manifest::Diagnostic::error(
                &m.source,
                (1, 1),
                "",
                format!(
                    "{}: {}; nothing is sent to the engine for it",
                    m.key, m.message
                ),
            ));
        }
        tracing::debug!(
            files = loaded.files,
            documents = loaded.documents,
            "manifests read"
        );
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
        self.pristine = auto_ports.then(|| loaded.clone());
        self.desired = loaded;
    }

    /// One reconcile pass. Returns when the planner next wants to look.
    async fn pass(&mut self, done: &mpsc::UnboundedSender<Outcome>) -> Option<Instant> {
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
            Err(e) => {
                self.shared
                    .metrics
                    .error(FailureClass::Infrastructure.as_str());
                let delay = match self.list_backoff {
                    Some((_, d)) => (d * 2).min(LIST_BACKOFF_MAX),
                    None => self
                        .config
                        .poll_interval
                        .clamp(Duration::from_secs(1), LIST_BACKOFF_MAX),
                };
                error!(class = "infrastructure", error = %e, retry_in_ms = delay.as_millis() as u64, "cannot list the engine's state; nothing is changed until it answers (retrying in {})", humantime::format_duration(delay));
                self.shared
                    .report
                    .write()
                    .expect("not poisoned")
                    .engine_error = Some(e.to_string());
                let until = Instant::now() + delay;
                self.list_backoff = Some((until, delay));
                return Some(until);
            }
        };
        self.overlay.apply(&mut observed);
        if let Some(p) = &self.pristine {
            self.desired = p.clone();
        }
        // hostPort: auto. An object that gets no port is held; each message is logged once
        // for as long as it lasts.
        let mut warnings = HashSet::new();
        for e in ports::assign(
            &mut self.desired.desired,
            &observed,
            &mut self.ports,
            self.config.port_pool,
        ) {
            let msg = format!("{}: {}", e.key, e.message);
            if !self.port_warnings.contains(&msg) {
                self.shared
                    .metrics
                    .error(FailureClass::Infrastructure.as_str());
                warn!(object = %e.key, class = "infrastructure", "{}; its container is left as it is", e.message);
            }
            warnings.insert(msg);
        }
        self.port_warnings = warnings;
        let now = SystemTime::now();
        memory::observe(
            &mut self.runtime,
            &self.desired.desired,
            &observed,
            now,
            self.passes == 0,
        );
        self.passes += 1;
        self.note_workload_failures(&observed, now);
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
        for action in p.actions.clone() {
            if action.key.kind == Kind::Volume
                && action.verb == Verb::Remove
                && self.volume_busy(&action, &observed)
            {
                continue; // a container still mounts it, or one may be about to: next pass
            }
            if !self.in_flight.insert(action.key.clone()) {
                continue; // never two actions at once on one object
            }
            // berth's own reaction time: from the event to this action's first engine call,
            // less the restart backoff the object is configured to wait.
            let reaction = self.event_at.remove(&action.key).and_then(|at| {
                let waited = match action.cause {
                    Cause::Crashed | Cause::Unhealthy => self
                        .runtime
                        .get(&action.key)
                        .and_then(|rt| rt.backoff)
                        .unwrap_or_default(),
                    _ => Duration::ZERO,
                };
                matches!(
                    action.verb,
                    Verb::Start | Verb::Restart | Verb::Create | Verb::Recreate
                )
                .then_some((at, waited))
            });
            let shared = self.shared.clone();
            let engine = self.engine.clone();
            let instance = self.config.instance.clone();
            let permit = self.semaphore.clone();
            let done = done.clone();
            tokio::spawn(async move {
                let _permit = permit
                    .acquire_owned()
                    .await
                    .expect("the semaphore is never closed");
                if let Some((at, waited)) = reaction {
                    let took = at.elapsed().saturating_sub(waited);
                    shared.metrics.event_to_action.observe(took.as_secs_f64());
                }
                let outcome = run_action(&engine, &instance, action).await;
                let _ = done.send(outcome);
            });
        }
        // An event that led to no action and waits for none is not waiting for anything.
        self.event_at
            .retain(|k, _| self.in_flight.contains(k) || p.waits.iter().any(|w| &w.key == k));
        self.shared.metrics.reconciles.inc();
        self.shared
            .metrics
            .reconcile_duration
            .observe(started.elapsed().as_secs_f64());
        self.publish(&observed, &p, volume_statuses, now);
        self.shared.ready.store(true, Ordering::Release);
        p.wake_at().map(|t| {
            let d = t.duration_since(SystemTime::now()).unwrap_or_default();
            // A little slack so the planner sees the deadline as passed.
            Instant::now() + d + Duration::from_millis(5)
        })
    }

    /// Exits and failing health checks become the object's last (workload) error.
    fn note_workload_failures(&mut self, observed: &[Observed], now: SystemTime) {
        for o in observed {
            let Some(key) = &o.key else { continue };
            let current = self
                .desired
                .desired
                .objects
                .get(key)
                .is_some_and(|w| o.spec_hash.as_deref() == Some(w.hash.as_str()));
            if !current || self.in_flight.contains(key) {
                continue;
            }
            let Some(rt) = self.runtime.get_mut(key) else {
                continue;
            };
            let msg = match (o.state, o.health) {
                (RunState::Exited { code: Some(c) }, _) if c != 0 && !rt.stopped_by_berth => {
                    if c == 137 {
                        format!("exited with code {c} (killed: SIGKILL or out of memory)")
                    } else {
                        format!("exited with code {c}")
                    }
                }
                (RunState::Running, Some(crate::model::Health::Unhealthy)) => {
                    "health check failing".to_string()
                }
                _ => continue,
            };
            if rt.last_error.as_ref().is_none_or(|e| e.message != msg) {
                self.shared.metrics.error(FailureClass::Workload.as_str());
                warn!(object = %key, class = "workload", "{msg}");
            }
            memory::note_workload(rt, msg, now);
        }
    }

    /// An action finished: log it, count it, remember it.
    fn finish(&mut self, o: Outcome) {
        let a = &o.action;
        self.in_flight.remove(&a.key);
        let now = SystemTime::now();
        let (result, res_for_memory) = match &o.result {
            Ok(_) => ("ok".to_string(), Ok(())),
            Err(e) => {
                let class = classify(e);
                (format!("failed: {e}"), Err((class, e.to_string())))
            }
        };
        match &o.result {
            Ok(id) => info!(
                object = %a.key,
                action = %a.verb,
                reason = %a.reason,
                result = "ok",
                container = %id.as_deref().map(|i| &i[..i.len().min(12)]).unwrap_or(""),
                "{} {}", a.verb, a.key
            ),
            Err(e) => {
                let class = classify(e);
                self.shared.metrics.error(class.as_str());
                warn!(
                    object = %a.key,
                    action = %a.verb,
                    reason = %a.reason,
                    result = "failed",
                    class = class.as_str(),
                    error = %e,
                    "{} {} failed", a.verb, a.key
                );
            }
        }
        self.shared.metrics.action(
            a.verb.as_str(),
            if o.result.is_ok() { "ok" } else { "error" },
        );
        if o.result.is_ok() {
            match (a.verb, a.cause) {
                (Verb::Start, Cause::Crashed) => self.restart_metric("crash"),
                (Verb::Restart, Cause::Unhealthy) => self.restart_metric("unhealthy"),
                _ => {}
            }
        }
        memory::record(&mut self.runtime, a, res_for_memory, now);
        self.last_actions.insert(
            a.key.clone(),
            LastAction {
                action: a.verb.to_string(),
                reason: a.reason.clone(),
                result,
                at_ms: unix_ms(&now),
            },
        );
    }

    /// Whether a volume must not be removed in this pass: a listed container still mounts it
    /// (being removed), or a container action is in flight for its owner (a create in flight
    /// mounts it a moment later; removing it first would let the engine recreate it without
    /// labels). Shared volumes wait while any container action is in flight.
    fn volume_busy(&self, action: &plan::Action, observed: &[Observed]) -> bool {
        if observed
            .iter()
            .any(|o| o.volumes.contains(&action.key.name))
        {
            return true;
        }
        let owner = action
            .volume
            .as_ref()
            .map(|v| v.owner.as_str())
            .unwrap_or("");
        self.in_flight
            .iter()
            .any(|k| k.kind != Kind::Volume && (owner == "shared" || k.to_string() == owner))
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

    fn restart_metric(&self, cause: &str) {
        self.shared
            .metrics
            .restarts
            .get_or_create(&crate::status::metrics::CauseLabels {
                cause: cause.into(),
            })
            .inc();
    }

    /// Updates `/status`, the phase gauges and the state file.
    fn publish(
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
        let mut phases = BTreeMap::new();
        let mut counts: BTreeMap<Phase, i64> = Phase::ALL.iter().map(|p| (*p, 0)).collect();
        let by_key = crate::model::by_key(observed);
        for key in &keys {
            let want = desired.objects.get(key);
            let have = by_key
                .get(key)
                .into_iter()
                .flatten()
                .copied()
                .max_by_key(|o| {
                    (
                        want.is_some_and(|w| o.spec_hash.as_deref() == Some(w.hash.as_str())),
                        o.created,
                    )
                });
            let held = want.is_none()
                && desired.is_held(Some(key), have.and_then(|h| h.source.as_deref()));
            let waits: Vec<_> = p.waits.iter().filter(|w| &w.key == key).collect();
            let rt = self.runtime.get(key);
            let removing = self.in_flight.contains(key)
                || p.actions
                    .iter()
                    .any(|a| &a.key == key && a.verb == Verb::Remove);
            let s = status::object_status(
                key,
                want,
                held,
                have,
                rt,
                &waits,
                removing,
                self.last_actions.get(key),
            );
            *counts.entry(s.phase).or_default() += 1;
            phases.insert(key.clone(), (s.phase.to_string(), s.next_retry_ms));
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
            };
        }
        let mut snapshot = state::snapshot(
            &self.config.instance,
            &self.runtime,
            &phases,
            &self.volume_memory,
        );
        snapshot.set_port_allocations(&self.ports);
        if self.last_saved.as_ref() != Some(&snapshot) {
            self.last_saved = Some(snapshot);
            self.save(false);
        }
    }

    fn save(&mut self, final_save: bool) {
        let snapshot = match (&self.last_saved, final_save) {
            (Some(s), _) => s.clone(),
            (None, _) => state::snapshot(
                &self.config.instance,
                &self.runtime,
                &BTreeMap::new(),
                &self.volume_memory,
            ),
        };
        if let Err(e) = self.store.save(&snapshot) {
            error!(error = %e, "cannot save the state file; session clocks may be lost on restart");
        }
    }
}

/// Engine errors are infrastructure failures except a missing image (the workload's).
fn classify(e: &EngineError) -> FailureClass {
    match e {
        EngineError::ImageMissing { .. } => FailureClass::Workload,
        _ => FailureClass::Infrastructure,
    }
}

/// Follows the engine's event stream and signals the loop on every event of this instance.
/// Reconnects with `since` after a drop; falls back to polling when the stream is refused,
/// and says so once.
async fn watch_events(
    engine: Engine,
    instance: String,
    poll: Duration,
    tx: mpsc::UnboundedSender<(Instant, Option<EngineEvent>)>,
    shared: Arc<Shared>,
) {
    let mut since: Option<String> = None;
    let mut delay = Duration::from_millis(250);
    loop {
        let mut stream = Box::pin(engine.events(&instance, since.clone()));
        let mut got_any = false;
        while let Some(item) = stream.next().await {
            match item {
                Ok(ev) => {
                    got_any = true;
                    shared.metrics.events.inc();
                    since = Some(ev.resume_since());
                    tracing::debug!(action = %ev.action, object = ?ev.key, "engine event");
                    let _ = tx.send((Instant::now(), Some(ev)));
                }
                Err(e @ EngineError::Forbidden { .. }) | Err(e @ EngineError::NotFound { .. }) => {
                    // Said once: from here on the loop only polls.
                    warn!(
                        class = "infrastructure",
                        error = %e,
                        "no engine events; polling every {} instead",
                        humantime::format_duration(poll)
                    );
                    loop {
                        tokio::time::sleep(poll).await;
                        let _ = tx.send((Instant::now(), None));
                    }
                }
                Err(e) => {
                    warn!(error = %e, "engine event stream broken; reconnecting");
                    break;
                }
            }
        }
        if since.is_none() {
            // Resume from now rather than replaying history after a first failure.
            since = Some(format!("{}", unix_ms(&SystemTime::now()) / 1000));
        }
        // Something may have happened while disconnected: look again.
        let _ = tx.send((Instant::now(), None));
        delay = if got_any {
            Duration::from_millis(250)
        } else {
            (delay * 2).min(Duration::from_secs(10))
        };
        tokio::time::sleep(delay).await;
    }
}
