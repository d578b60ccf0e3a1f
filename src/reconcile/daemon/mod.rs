//! The control loop of `berth run`: level-triggered, keyed, crash-safe.
//!
//! Every trigger (a manifest change, an engine event, a due backoff or TTL, a finished
//! action, the periodic resync) leads to one pass: list the instance's containers (one
//! call), update berth's memory, plan, and dispatch the actions. Triggers that arrive during
//! a pass fold into the next one. Actions run as tasks under a semaphore (bounded
//! concurrency) and never two on one object. Nothing here deletes on an error: a failed
//! listing means no plan at all.
//!
//! - [`triggers`]: the engine's event stream (reconnecting, or polling) and the trigger kinds.
//! - [`overlay`]: what events said that a listing taken right after them may not show yet.
//! - [`pass`]: one pass: list, correct, remember, plan.
//! - [`dispatch`]: running a plan's actions, and what their outcomes teach.
//! - [`publish`]: `/status`, the phase gauges and the state file.
//! - `health`: health checks for engines that do not run them (Podman without systemd).
//! - `idle`: samples network counters of containers with an `idle` rule.
//! - `routing`: keeps the routers (`--router`) in step with the wanted routes.
//! - `usage`: samples what each container uses, judges the alert rules, tells the webhook.
//! - `exposure`: the loop's side of both, and wake requests from the status server.
//! - [`clock`]: the time the loop reads (the wall clock, or a paused test clock).

pub mod clock;
mod dispatch;
mod exposure;
mod health;
mod idle;
mod overlay;
mod pass;
mod publish;
mod routing;
#[cfg(test)]
mod tests;
pub mod triggers;
mod usage;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Semaphore};
use tokio::time::Instant;
use tracing::{info, warn};

pub use clock::{Clock, WallClock};
pub use usage::Settings as UsageSettings;

use super::execute::Outcome;
use crate::engine::Engine;
use crate::model::{
    CleanupRule, Declared, History, HostFacts, ObjectKey, Overrides, Runtime, VolumeMemory,
};
use crate::plan::ports::{PortAllocations, PortPool};
use crate::resolve::Loaded;
use crate::state::{self, OverrideStore, Store};
use crate::status::http::Shared;
use crate::status::LastAction;

/// Settings of `berth run`.
#[derive(Debug, Clone)]
pub struct Config {
    pub instance: String,
    pub state_dir: PathBuf,
    /// Full re-read of the manifests and relisting, as the safety net for missed events.
    pub resync: Duration,
    pub allow_empty: bool,
    pub concurrency: usize,
    /// How often to poll when the engine refuses the event stream.
    pub poll_interval: Duration,
    /// Cleanup policy for volumes whose manifest names none.
    pub default_cleanup: CleanupRule,
    pub max_orphans: Option<usize>,
    pub max_orphan_bytes: Option<u64>,
    /// Where `hostPort: auto` ports come from.
    pub port_pool: PortPool,
    /// Turn at least this often while idle, so that whoever watches the heartbeat
    /// ([`crate::status::liveness`]) sees the loop alive; such a turn runs no pass.
    pub heartbeat: Option<Duration>,
    /// The routers exposed objects' routes are kept in (`--router`).
    pub routers: Arc<Vec<crate::route::Router>>,
    /// Where routers reach berth's wake endpoint (`HOST:PORT`), for idle objects' routes.
    pub wake_address: Option<String>,
    /// Resource sampling, metric labels and the alert webhook.
    pub usage: UsageSettings,
}

/// Where the loop's desired state comes from: the manifest files through the resync cache
/// in `berth run`, a scripted sequence in the unit tests.
pub trait Manifests: Send {
    /// The manifests as they are now, or `None` when nothing changed since the last call.
    fn load(&mut self) -> Option<Loaded>;
}

/// The manifest files, read again only when one of their inputs changed.
#[derive(Debug)]
pub struct Files {
    sources: crate::manifest::Sources,
    cache: crate::resolve::cache::Cache,
}

impl Files {
    pub fn new(sources: crate::manifest::Sources) -> Files {
        Files {
            sources,
            cache: Default::default(),
        }
    }
}

impl Manifests for Files {
    fn load(&mut self) -> Option<Loaded> {
        self.cache.load(&self.sources)
    }
}

/// What the loop reads besides the engine: the manifests, a signal per batch of file
/// changes, a signal when the operator's overrides changed, and the clock.
pub struct Inputs<M: Manifests> {
    pub manifests: M,
    /// One `()` per debounced batch of file events (see [`crate::source::watch`]).
    pub file_changes: mpsc::Receiver<()>,
    /// One `()` when `<instance>.overrides.json` may have changed (`berth stop`, `start`,
    /// `restart`); the loop also reads it at start and on every resync.
    pub override_changes: mpsc::Receiver<()>,
    pub clock: Arc<dyn Clock>,
}

impl<M: Manifests> std::fmt::Debug for Inputs<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inputs")
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// Why `berth run` could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    State(#[from] state::StateError),
}

/// Runs the loop until `shutdown` resolves; then finishes the actions in flight, saves the
/// state and returns. Containers keep running.
pub async fn run<E: Engine, M: Manifests>(
    engine: E,
    config: Config,
    inputs: Inputs<M>,
    shared: Arc<Shared>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), RunError> {
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
    let Inputs {
        manifests,
        mut file_changes,
        mut override_changes,
        clock,
    } = inputs;
    let override_store = OverrideStore::new(&config.state_dir, &config.instance);
    let declared = file
        .entries()
        .filter_map(|(k, e)| Some((k, e.declared.clone()?)))
        .collect();
    let mut ctl = Controller {
        host,
        history: file.history.clone(),
        declared,
        overrides: Default::default(),
        health: None,
        idle: None,
        usage: None,
        oom_seen: HashMap::new(),
        exits: Default::default(),
        routing: None,
        last_routes: Vec::new(),
        override_store,
        override_error: None,
        runtime: file.runtime(),
        volume_memory: file.volumes.clone(),
        volumes_seen: true,
        sizes_refused: false,
        ports: file.port_allocations(),
        port_warnings: HashSet::new(),
        store,
        shared,
        engine,
        manifests,
        clock,
        desired: Loaded::default(),
        pristine: None,
        in_flight: HashSet::new(),
        event_at: HashMap::new(),
        last_actions: BTreeMap::new(),
        last_saved: None,
        last_diagnostics: Vec::new(),
        overlay: overlay::Overlay::default(),
        passes: 0,
        last_notes: Vec::new(),
        list_backoff: None,
        semaphore: Arc::new(Semaphore::new(config.concurrency.max(1))),
        config,
    };

    let (event_tx, mut event_rx) = mpsc::unbounded_channel();
    if !ctl.engine.runs_health_checks() {
        info!("the engine runs no health checks itself (Podman without systemd): berth runs them");
        ctl.health = Some(health::Driver::start(ctl.engine.clone(), event_tx.clone()));
    }
    let (idle_tx, mut idle_rx) = mpsc::unbounded_channel();
    ctl.idle = Some(idle::Driver::start(ctl.engine.clone(), idle_tx));
    ctl.usage = Some(usage::Driver::start(
        ctl.engine.clone(),
        ctl.config.usage.clone(),
        ctl.shared.metrics.usage.clone(),
        ctl.clock.clone(),
    ));
    let (wake_tx, mut wake_rx) = mpsc::unbounded_channel();
    *ctl.shared.wake.lock().expect("not poisoned") = Some(wake_tx);
    if !ctl.config.routers.is_empty() {
        for r in ctl.config.routers.iter() {
            info!(router = %r.describe(), "keeping routes");
        }
        ctl.routing = Some(routing::Driver::start(
            ctl.config.routers.clone(),
            ctl.config.instance.clone(),
            ctl.config.resync,
            ctl.shared.clone(),
        ));
    }
    let events = tokio::spawn(triggers::watch_events(
        ctl.engine.clone(),
        ctl.config.instance.clone(),
        ctl.config.poll_interval,
        event_tx,
        ctl.shared.clone(),
    ));
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Outcome>();

    tokio::pin!(shutdown);
    ctl.read_overrides();
    let mut files_dirty = true;
    let mut next_resync = Instant::now() + ctl.config.resync;
    let mut wake: Option<Instant> = None;
    let mut shutting_down = false;
    // False only after a turn that was nothing but a heartbeat.
    let mut pass_due = true;
    loop {
        if !shutting_down && pass_due {
            let cpu = crate::status::metrics::process_cpu();
            if files_dirty {
                ctl.load();
                files_dirty = false;
            }
            wake = ctl.pass(&done_tx).await;
            let used = crate::status::metrics::process_cpu().saturating_sub(cpu);
            ctl.shared.metrics.reconcile_cpu.observe(used.as_secs_f64());
        }
        if shutting_down && ctl.in_flight.is_empty() {
            break;
        }
        ctl.shared.liveness.beat();
        let deadline = match wake {
            Some(w) if !shutting_down => w.min(next_resync),
            _ => next_resync,
        };
        let heartbeat = ctl.config.heartbeat.unwrap_or(Duration::MAX);
        let trigger = tokio::select! {
            _ = &mut shutdown, if !shutting_down => triggers::Trigger::Shutdown,
            Some(()) = file_changes.recv() => triggers::Trigger::Files,
            Some(()) = override_changes.recv() => triggers::Trigger::Overrides,
            Some((at, ev)) = event_rx.recv() => triggers::Trigger::Event(at, ev),
            Some(o) = done_rx.recv() => triggers::Trigger::Done(Box::new(o)),
            Some(k) = idle_rx.recv() => triggers::Trigger::Idle(k),
            Some(k) = wake_rx.recv() => triggers::Trigger::Wake(k),
            _ = tokio::time::sleep_until(deadline) => triggers::Trigger::Timer,
            _ = tokio::time::sleep(heartbeat), if ctl.config.heartbeat.is_some() => triggers::Trigger::Heartbeat,
        };
        pass_due = !matches!(trigger, triggers::Trigger::Heartbeat);
        match trigger {
            triggers::Trigger::Shutdown => {
                info!(
                    in_flight = ctl.in_flight.len(),
                    "shutting down: finishing actions in flight"
                );
                shutting_down = true;
            }
            triggers::Trigger::Files => files_dirty = true,
            triggers::Trigger::Overrides => ctl.read_overrides(),
            triggers::Trigger::Event(at, ev) => ctl.note_event(at, ev),
            triggers::Trigger::Done(o) => ctl.finish(*o),
            triggers::Trigger::Idle(k) => ctl.mark_idle(k),
            triggers::Trigger::Wake(k) => ctl.wake(k),
            triggers::Trigger::Timer => {
                if Instant::now() >= next_resync {
                    files_dirty = true;
                    ctl.read_overrides();
                    next_resync = Instant::now() + ctl.config.resync;
                }
            }
            triggers::Trigger::Heartbeat => {}
        }
        // Fold whatever else is already waiting into this round.
        while let Ok(o) = done_rx.try_recv() {
            ctl.finish(o);
            pass_due = true;
        }
        if file_changes.try_recv().is_ok() {
            files_dirty = true;
            pass_due = true;
        }
        while let Ok((at, ev)) = event_rx.try_recv() {
            ctl.note_event(at, ev);
            pass_due = true;
        }
    }
    events.abort();
    ctl.save(true);
    info!("stopped; containers keep running");
    Ok(())
}

/// Everything the loop remembers between passes.
struct Controller<E: Engine, M: Manifests> {
    config: Config,
    engine: E,
    manifests: M,
    clock: Arc<dyn Clock>,
    store: Store,
    shared: Arc<Shared>,
    /// What the engine said about its host at start.
    host: HostFacts,
    desired: Loaded,
    /// The manifests as loaded, when `hostPort: auto` makes each pass change `desired`.
    pristine: Option<Loaded>,
    runtime: Runtime,
    volume_memory: BTreeMap<String, VolumeMemory>,
    /// The last volume listing found some: keep listing volumes on every pass.
    volumes_seen: bool,
    /// The engine refused `GET /system/df`: the budget counts volumes instead.
    sizes_refused: bool,
    /// `hostPort: auto` assignments (saved in the state file).
    ports: PortAllocations,
    /// Messages about held objects already logged.
    port_warnings: HashSet<String>,
    in_flight: HashSet<ObjectKey>,
    /// When an engine event that may call for an action on the object (its container died
    /// or turned unhealthy) was received and no action has followed yet.
    event_at: HashMap<ObjectKey, Instant>,
    last_actions: BTreeMap<ObjectKey, LastAction>,
    last_saved: Option<state::StateFile>,
    last_diagnostics: Vec<String>,
    overlay: overlay::Overlay,
    /// After a failed listing: no engine call before the instant, and the delay that led
    /// there, so a refusing proxy is not hammered.
    list_backoff: Option<(Instant, Duration)>,
    semaphore: Arc<Semaphore>,
    /// Passes that listed the engine successfully.
    passes: u64,
    /// Planner notes last logged, so each is said once when it appears.
    last_notes: Vec<String>,
    /// The recent actions and failures (saved in the state file).
    history: History,
    /// What the manifests last declared per object, kept while an object is held.
    declared: BTreeMap<ObjectKey, Arc<Declared>>,
    /// The operator's overrides as last read.
    overrides: Overrides,
    /// Runs health checks where the engine does not (Podman without systemd).
    health: Option<health::Driver>,
    /// Samples network counters of containers with an `idle` rule.
    idle: Option<idle::Driver>,
    /// Samples what containers use; judges alerts.
    usage: Option<usage::Driver>,
    /// Containers (by id) the engine reported an `oom` event for: when, and whether their
    /// exit was taken for the OOM kill (counted once, said as long as the container stays).
    oom_seen: HashMap<String, (Instant, bool)>,
    /// Exits the event stream has told (`die`, until the container starts again or goes),
    /// and exits with code 137 a listing showed before their `die` arrived (since when).
    exits: pass::Exits,
    /// Keeps the routers in step (with `--router`).
    routing: Option<routing::Driver>,
    /// The routes last handed to the route task.
    last_routes: Vec<crate::model::Route>,
    override_store: OverrideStore,
    /// The last error reading the overrides (said once; the last good ones stay).
    override_error: Option<String>,
}

impl<E: Engine, M: Manifests> Controller<E, M> {
    /// Reads the operator's overrides. An unreadable file keeps the last good ones (a
    /// `berth stop` must not be dropped because the file was damaged) and is said once.
    fn read_overrides(&mut self) {
        match self.override_store.read() {
            Ok(o) => {
                if self.override_error.take().is_some() {
                    info!("overrides are readable again");
                }
                self.overrides = o;
            }
            Err(e) => {
                let msg = e.to_string();
                if self.override_error.as_deref() != Some(msg.as_str()) {
                    warn!(
                        class = "infrastructure",
                        "{msg}; keeping the overrides last read"
                    );
                }
                self.override_error = Some(msg);
            }
        }
    }
}
