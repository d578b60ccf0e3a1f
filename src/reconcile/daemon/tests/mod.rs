//! The daemon's logic on a paused clock against the in-memory engine: every wait below is
//! virtual time (tokio advances it when all tasks sleep), so a five-minute backoff takes no
//! real time and every run is the same.

mod fake;
mod idle;
mod operator;
mod podman;
mod quota;
mod usage;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use self::fake::FakeEngine;
use super::clock::TokioClock;
use super::{Config, Inputs, Manifests};
use crate::engine::EngineError;
use crate::manifest::discover::SourceFile;
use crate::manifest::{Limits, Trust};
use crate::model::{Health, Kind, ObjectKey};
use crate::resolve::Loaded;
use crate::status::http::Shared;

/// Manifests the test sets: each [`Scripted::set`] is read at the next load.
#[derive(Debug, Clone, Default)]
struct Scripted(Arc<Mutex<Option<Loaded>>>);

impl Scripted {
    fn set(&self, yaml: &str) {
        self.set_with_policy(yaml, None);
    }

    /// Manifests judged by a Policy (its `spec` lines).
    fn set_with_policy(&self, yaml: &str, policy: Option<&str>) {
        let policy = policy.map(|spec| {
            format!("apiVersion: berth/v1\nkind: Policy\nmetadata: {{ name: p }}\nspec:\n{spec}")
        });
        let file = SourceFile {
            display: "m/a.yaml".into(),
            canonical: "/m/a.yaml".into(),
            trust: Trust::Trusted,
        };
        let loaded = crate::resolve::load_texts(
            &[(file, yaml.to_string())],
            policy.as_deref().map(|p| ("/p/policy.yaml", p)),
            Limits::default(),
        );
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        *self.0.lock().unwrap() = Some(loaded);
    }
}

impl Manifests for Scripted {
    fn load(&mut self) -> Option<Loaded> {
        self.0.lock().unwrap().take()
    }
}

/// A running daemon and what drives it.
pub(super) struct Harness {
    engine: FakeEngine,
    manifests: Scripted,
    files: mpsc::Sender<()>,
    overrides: mpsc::Sender<()>,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    state: tempfile::TempDir,
}

impl Harness {
    fn start(engine: FakeEngine, yaml: &str, resync: Duration) -> Harness {
        Harness::start_in(engine, yaml, resync, None, tempfile::tempdir().unwrap())
    }

    /// With the loop's heartbeat on.
    fn start_beating(
        engine: FakeEngine,
        yaml: &str,
        resync: Duration,
        heartbeat: Option<Duration>,
    ) -> Harness {
        Harness::start_in(
            engine,
            yaml,
            resync,
            heartbeat,
            tempfile::tempdir().unwrap(),
        )
    }

    /// A daemon on the state directory `state` (another one's, to test a restart).
    fn start_in(
        engine: FakeEngine,
        yaml: &str,
        resync: Duration,
        heartbeat: Option<Duration>,
        state: tempfile::TempDir,
    ) -> Harness {
        let manifests = Scripted::default();
        manifests.set(yaml);
        let (files, file_changes) = mpsc::channel(1);
        let (overrides, override_changes) = mpsc::channel(1);
        let shared = Arc::new(Shared::new("t"));
        let (stop, stopped) = oneshot::channel::<()>();
        let config = Config {
            instance: "t".into(),
            state_dir: state.path().to_path_buf(),
            resync,
            allow_empty: false,
            concurrency: 4,
            poll_interval: Duration::from_secs(2),
            default_cleanup: crate::model::CleanupRule::Retain,
            max_orphans: None,
            max_orphan_bytes: None,
            port_pool: Default::default(),
            heartbeat,
            routers: Default::default(),
            wake_address: None,
            usage: super::UsageSettings {
                instance: "t".into(),
                interval: Duration::from_secs(10),
                metric_labels: vec!["user".into()],
                webhook: None,
            },
        };
        let inputs = Inputs {
            manifests: manifests.clone(),
            file_changes,
            override_changes,
            clock: Arc::new(TokioClock::starting_at(
                SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            )),
        };
        let task = tokio::spawn({
            let engine = engine.clone();
            let shared = shared.clone();
            async move {
                super::run(engine, config, inputs, shared, async {
                    let _ = stopped.await;
                })
                .await
                .expect("the daemon runs");
            }
        });
        Harness {
            engine,
            manifests,
            files,
            overrides,
            shared,
            stop: Some(stop),
            task: Some(task),
            state,
        }
    }

    /// New manifests, and the file signal the watcher would send.
    async fn write(&self, yaml: &str) {
        self.manifests.set(yaml);
        let _ = self.files.send(()).await;
    }

    /// New manifests under a Policy, and the file signal.
    async fn write_with_policy(&self, yaml: &str, policy: &str) {
        self.manifests.set_with_policy(yaml, Some(policy));
        let _ = self.files.send(()).await;
    }

    /// Stops the daemon the way SIGTERM does and waits for it; its state directory.
    async fn stop(mut self) -> tempfile::TempDir {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap();
        self.state
    }

    /// The state directory.
    fn state_dir(&self) -> &std::path::Path {
        self.state.path()
    }
}

/// Waits (in virtual time) until `cond` holds; panics after `limit` of virtual time.
pub(super) async fn until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "gave up waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub(super) const AGENT: &str = "apiVersion: berth/v1\nkind: Agent\nmetadata: { name: a }\nspec:\n  image: berth-runtime:1\n  restart: { backoff: { initial: 1s, max: 8s, resetAfter: 60s } }\n";

pub(super) fn a() -> ObjectKey {
    ObjectKey::new(Kind::Agent, "a")
}

/// The start calls made after `after`.
pub(super) fn starts_after(engine: &FakeEngine, after: Instant) -> Vec<Instant> {
    engine
        .calls_of("start_container")
        .into_iter()
        .filter(|c| c.at > after)
        .map(|c| c.at)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_crash_is_restarted_after_a_doubling_backoff() {
    let h = Harness::start(FakeEngine::default(), AGENT, Duration::from_secs(30));
    until("a runs", Duration::from_secs(5), || h.engine.runs(&a())).await;
    let mut gaps = Vec::new();
    for _ in 0..3 {
        let died = Instant::now();
        h.engine.kill(&a(), 1, true);
        until("restarted", Duration::from_secs(30), || {
            !starts_after(&h.engine, died).is_empty() && h.engine.runs(&a())
        })
        .await;
        gaps.push(starts_after(&h.engine, died)[0] - died);
    }
    for (gap, want) in gaps.iter().zip([1, 2, 4]) {
        let want = Duration::from_secs(want);
        assert!(
            *gap >= want && *gap <= want + want / 10 + Duration::from_millis(100),
            "gaps {gaps:?}"
        );
    }
    let report = h.shared.report.read().unwrap().clone();
    assert_eq!(report.objects[0].restarts, 3);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_stable_run_resets_the_backoff() {
    let h = Harness::start(FakeEngine::default(), AGENT, Duration::from_secs(30));
    until("a runs", Duration::from_secs(5), || h.engine.runs(&a())).await;
    for _ in 0..3 {
        let died = Instant::now();
        h.engine.kill(&a(), 1, true);
        until("restarted", Duration::from_secs(30), || {
            !starts_after(&h.engine, died).is_empty() && h.engine.runs(&a())
        })
        .await;
    }
    // Running longer than resetAfter (60s): the resyncs see it stable, the delay resets.
    tokio::time::sleep(Duration::from_secs(95)).await;
    let died = Instant::now();
    h.engine.kill(&a(), 1, true);
    until("restarted", Duration::from_secs(30), || {
        !starts_after(&h.engine, died).is_empty()
    })
    .await;
    let gap = starts_after(&h.engine, died)[0] - died;
    assert!(
        gap < Duration::from_millis(1200),
        "back to the initial 1s: {gap:?}"
    );
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_session_is_reaped_at_its_ttl_and_not_started_again() {
    let session = "apiVersion: berth/v1\nkind: Session\nmetadata: { name: s }\nspec:\n  image: berth-runtime:1\n  ttl: 90s\n";
    let h = Harness::start(FakeEngine::default(), session, Duration::from_secs(30));
    let s = ObjectKey::new(Kind::Session, "s");
    until("s runs", Duration::from_secs(5), || h.engine.runs(&s)).await;
    let started = Instant::now();
    until("s reaped", Duration::from_secs(120), || {
        h.engine.containers_of(&s).is_empty()
    })
    .await;
    let lived = Instant::now() - started;
    assert!(lived >= Duration::from_secs(89), "{lived:?}");
    // Later passes (resyncs) never bring it back while its manifest stays.
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert!(h.engine.containers_of(&s).is_empty());
    assert_eq!(h.engine.calls_of("create_container").len(), 1);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_lost_event_is_made_up_for_by_the_resync() {
    let h = Harness::start(FakeEngine::default(), AGENT, Duration::from_secs(30));
    until("a runs", Duration::from_secs(5), || h.engine.runs(&a())).await;
    let died = Instant::now();
    h.engine.kill(&a(), 1, false); // no die event
    until("restarted by a resync", Duration::from_secs(45), || {
        h.engine.runs(&a())
    })
    .await;
    let gap = Instant::now() - died;
    assert!(
        gap >= Duration::from_secs(25),
        "only the resync could see it: {gap:?}"
    );
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn one_action_at_a_time_per_object() {
    let engine = FakeEngine::default();
    engine.set_latency("create_container", Duration::from_secs(5));
    let h = Harness::start(engine, AGENT, Duration::from_secs(30));
    // Triggers while the slow create is in flight: file signals and a resync's worth of time.
    for _ in 0..5 {
        h.write(AGENT).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    until("a runs", Duration::from_secs(30), || h.engine.runs(&a())).await;
    let creates = h.engine.calls_of("create_container");
    assert_eq!(creates.len(), 1, "{creates:?}");
    assert_eq!(creates[0].subject, "agent/a");
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_failed_action_is_retried_after_its_delay() {
    let engine = FakeEngine::default();
    engine.fail_next(
        "create_container",
        EngineError::Engine {
            operation: "POST /containers/create".into(),
            status: 500,
            message: "boom".into(),
        },
    );
    let t0 = Instant::now();
    let h = Harness::start(engine, AGENT, Duration::from_secs(30));
    until("a runs", Duration::from_secs(10), || h.engine.runs(&a())).await;
    let creates = h.engine.calls_of("create_container");
    assert_eq!(creates.len(), 2, "{creates:?}");
    assert!(creates[1].at - t0 >= Duration::from_secs(1), "{creates:?}");
    let report = h.shared.report.read().unwrap().clone();
    assert!(
        report.objects[0].last_error.is_none(),
        "the success clears it"
    );
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_engine_that_goes_away_changes_nothing_until_it_is_back() {
    let two = format!("{AGENT}---\n{}", AGENT.replace("name: a", "name: b"));
    let h = Harness::start(FakeEngine::default(), &two, Duration::from_secs(30));
    let b = ObjectKey::new(Kind::Agent, "b");
    until("a and b run", Duration::from_secs(5), || {
        h.engine.runs(&a()) && h.engine.runs(&b)
    })
    .await;
    h.engine.set_away(true);
    // b's manifest goes while nothing answers: no removal is even tried.
    h.write(AGENT).await;
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert!(h.engine.calls_of("remove_container").is_empty());
    let engine_error = h.shared.report.read().unwrap().engine_error.clone();
    assert!(engine_error.is_some_and(|e| e.contains("away")));
    // Back: the next listing converges (within the listing backoff's minute).
    h.engine.set_away(false);
    until("b removed", Duration::from_secs(90), || {
        h.engine.containers_of(&b).is_empty()
    })
    .await;
    assert!(h.engine.runs(&a()));
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_unhealthy_container_is_restarted() {
    let checked = format!("{AGENT}  health: {{ exec: [\"true\"], interval: 1s }}\n");
    let h = Harness::start(FakeEngine::default(), &checked, Duration::from_secs(30));
    until("a runs", Duration::from_secs(5), || h.engine.runs(&a())).await;
    h.engine.set_health(&a(), Health::Healthy);
    let sick = Instant::now();
    h.engine.set_health(&a(), Health::Unhealthy);
    until("restarted", Duration::from_secs(10), || {
        !starts_after(&h.engine, sick).is_empty()
    })
    .await;
    assert_eq!(
        h.engine
            .calls_of("stop_container")
            .iter()
            .filter(|c| c.at > sick)
            .count(),
        1
    );
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn the_heartbeat_turns_an_idle_loop_without_a_pass_and_stops_with_a_stuck_one() {
    let beat = Duration::from_secs(5);
    let h = Harness::start_beating(
        FakeEngine::default(),
        AGENT,
        Duration::from_secs(3600),
        Some(beat),
    );
    until("a runs", Duration::from_secs(5), || h.engine.runs(&a())).await;
    until("ready", Duration::from_secs(5), || {
        h.shared.liveness.is_ready()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let lists = h.engine.calls_of("list_containers").len();
    // Idle for a minute: no trigger but the heartbeat, which runs no pass.
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(h.shared.liveness.pulse().alive(Instant::now(), beat));
    assert_eq!(h.engine.calls_of("list_containers").len(), lists);
    // A pass that hangs in an engine call: the loop no longer turns, the beat gets old.
    h.engine
        .set_latency("list_containers", Duration::from_secs(600));
    h.engine.kill(&a(), 1, true);
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(!h.shared.liveness.pulse().alive(Instant::now(), beat * 2));
    h.stop().await; // the paused clock runs the hung call out
}

#[tokio::test(start_paused = true)]
async fn an_exit_137_listed_before_its_die_event_waits_for_it_before_it_is_called_a_kill() {
    let never = AGENT.replace(
        "restart: { backoff: { initial: 1s, max: 8s, resetAfter: 60s } }",
        "restart: { policy: Never }",
    );
    let h = Harness::start(FakeEngine::default(), &never, Duration::from_secs(30));
    until("a runs", Duration::from_secs(5), || h.engine.runs(&a())).await;
    let error = || {
        h.shared.report.read().unwrap().objects[0]
            .last_error
            .as_ref()
            .map(|e| e.message.clone())
    };
    // The listing shows the exit; its `die` (and an `oom` before it) are still on the way.
    h.engine.kill(&a(), 137, false);
    let passes = h.shared.metrics.reconciles.get();
    h.write(&never).await;
    until("a pass that lists the exit", Duration::from_secs(1), || {
        h.shared.metrics.reconciles.get() > passes
    })
    .await;
    assert_eq!(error(), None, "not called anything before its die event");
    // No event comes: after the grace it is a kill, without another trigger.
    let waited = Instant::now();
    until("called a kill", Duration::from_secs(5), || {
        error().is_some()
    })
    .await;
    assert!(Instant::now() - waited >= Duration::from_secs(1));
    assert_eq!(
        error().unwrap(),
        "exited with code 137 (killed: SIGKILL or out of memory)"
    );
    h.stop().await;
}
