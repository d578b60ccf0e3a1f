//! `berth stop`, `berth start` and `berth restart`: the operator's switch outside the
//! manifests. `stop` records an override in the state directory that a running `berth run`
//! honours at once and keeps across its restarts (and `apply` too); `start` clears it;
//! `restart` asks for one stop-and-start in place, not counted as a crash. While a
//! `berth run` holds the instance it does the work and these commands wait for it; with
//! none running they act on the engine themselves. A manifest's `state: Stopped` still wins.

use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use super::{CliError, Context};
use crate::engine::{Client, Engine, EngineError};
use crate::model::{ObjectKey, Observed, RecordError, RunState, Verb};
use crate::reconcile::record;
use crate::state::{OverrideStore, StateFile};

/// How long to wait for a running `berth run` beyond the container's grace period.
const DAEMON_SLACK: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(200);

/// What one object is, as far as these commands go.
struct Object {
    key: ObjectKey,
    container: Option<Observed>,
    /// Its manifest declares `state: Stopped` (as the state file last saw it).
    declared_stopped: bool,
}

impl Object {
    fn up(&self) -> bool {
        self.container.as_ref().is_some_and(|c| {
            matches!(
                c.state,
                RunState::Running | RunState::Restarting | RunState::Paused
            )
        })
    }

    fn grace(&self) -> u64 {
        self.container
            .as_ref()
            .and_then(Observed::spec)
            .map_or(10, |s| s.stop_grace_period_secs)
    }
}

/// Runs `verb` (stop, start or restart) on each object. Exit 0 all done, 1 something was
/// refused or not done in time, 2 error.
pub async fn run(ctx: &Context, verb: Verb, keys: &[ObjectKey]) -> Result<ExitCode, CliError> {
    let engine = ctx.connect().await?;
    let mut ok = true;
    for key in keys {
        let Some(object) = find(ctx, &engine, key).await? else {
            eprintln!(
                "error: {key}: instance {:?} has no such object (no container, nothing in \
                 its state file {})",
                ctx.instance,
                ctx.store().path().display()
            );
            ok = false;
            continue;
        };
        let done = match verb {
            Verb::Stop => stop(ctx, &engine, &object).await?,
            Verb::Start => start(ctx, &engine, &object).await?,
            _ => restart(ctx, &engine, &object).await?,
        };
        ok &= done;
    }
    Ok(ExitCode::from(u8::from(!ok)))
}

/// The object's container and what the state file says of it; `None` when neither knows
/// it (a typo must not leave an override behind).
async fn find(ctx: &Context, engine: &Client, key: &ObjectKey) -> Result<Option<Object>, CliError> {
    let mut containers: Vec<Observed> = engine
        .list(&ctx.instance)
        .await?
        .into_iter()
        .filter(|o| o.key.as_ref() == Some(key))
        .collect();
    containers.sort_by_key(|o| (o.state == RunState::Running, o.created));
    let state = ctx.store().peek().unwrap_or_default();
    let entry = state.entry(key);
    let container = containers.pop();
    if container.is_none() && entry.is_none() {
        return Ok(None);
    }
    Ok(Some(Object {
        key: key.clone(),
        declared_stopped: entry
            .and_then(|e| e.declared.as_ref())
            .is_some_and(|d| d.stopped),
        container,
    }))
}

async fn up(ctx: &Context, engine: &Client, key: &ObjectKey) -> Result<bool, CliError> {
    Ok(find(ctx, engine, key).await?.is_some_and(|o| o.up()))
}

fn overrides(ctx: &Context) -> OverrideStore {
    OverrideStore::new(&ctx.state_dir, &ctx.instance)
}

async fn stop(ctx: &Context, engine: &Client, o: &Object) -> Result<bool, CliError> {
    overrides(ctx).modify(|ov| {
        ov.stopped
            .entry(o.key.clone())
            .or_insert_with(SystemTime::now);
    })?;
    if ctx.store().daemon_running() {
        let deadline = Duration::from_secs(o.grace()) + DAEMON_SLACK;
        let down = wait(deadline, || async { Ok(!up(ctx, engine, &o.key).await?) }).await?;
        report(
            &o.key,
            down,
            "stopped (by berth run)",
            "berth run has not stopped it yet",
        );
        return Ok(down);
    }
    match &o.container {
        Some(c) if o.up() => {
            let result = engine.stop(&c.id, o.grace()).await;
            remember(ctx, &o.key, Verb::Stop, &result);
            result?;
            outln!("{}: stopped", o.key);
        }
        Some(_) => outln!("{}: stopped (it was not running)", o.key),
        None => outln!("{}: stopped (no container; it is created stopped)", o.key),
    }
    Ok(true)
}

async fn start(ctx: &Context, engine: &Client, o: &Object) -> Result<bool, CliError> {
    let was = overrides(ctx).modify(|ov| {
        let idle = ov.idle.remove(&o.key).is_some();
        ov.stopped.remove(&o.key).is_some() || idle
    })?;
    if o.declared_stopped {
        outln!(
            "{}: its manifest declares state: Stopped; edit the manifest to run it",
            o.key
        );
        return Ok(false);
    }
    if o.up() {
        outln!("{}: running", o.key);
        return Ok(true);
    }
    if ctx.store().daemon_running() {
        let deadline = Duration::from_secs(o.grace()) + DAEMON_SLACK;
        let up = wait(deadline, || async { up(ctx, engine, &o.key).await }).await?;
        report(
            &o.key,
            up,
            "started (by berth run)",
            "berth run has not started it yet",
        );
        return Ok(up);
    }
    match &o.container {
        Some(c) if was || stopped_by_berth(ctx, &o.key) => {
            let result = engine.start(&c.id).await;
            remember(ctx, &o.key, Verb::Start, &result);
            result?;
            outln!("{}: started", o.key);
            Ok(true)
        }
        Some(_) => {
            outln!(
                "{}: not stopped by berth; `berth apply` or `berth run` starts it if its \
                 restart policy says so",
                o.key
            );
            Ok(false)
        }
        None => {
            outln!("{}: no container; `berth apply` creates it", o.key);
            Ok(true)
        }
    }
}

fn stopped_by_berth(ctx: &Context, key: &ObjectKey) -> bool {
    ctx.store()
        .peek()
        .ok()
        .and_then(|f| f.entry(key).map(|e| e.runtime.stopped_by_berth))
        .unwrap_or(false)
}

async fn restart(ctx: &Context, engine: &Client, o: &Object) -> Result<bool, CliError> {
    let stopped = overrides(ctx).read()?.stopped.contains_key(&o.key);
    let refusal = if o.declared_stopped {
        Some("its manifest declares state: Stopped")
    } else if stopped {
        Some("it is stopped by berth stop; `berth start` it")
    } else if o.container.is_none() {
        Some("it has no container to restart")
    } else {
        None
    };
    if let Some(why) = refusal {
        outln!("{}: not restarted: {why}", o.key);
        return Ok(false);
    }
    if ctx.store().daemon_running() {
        let store = overrides(ctx);
        let id = store.modify(|ov| {
            let id = ov.next_restart_id(&o.key, SystemTime::now());
            ov.restarts
                .insert(o.key.clone(), crate::model::RestartRequest { id });
            id
        })?;
        let deadline = Duration::from_secs(o.grace()) + DAEMON_SLACK;
        let done = wait(deadline, || async {
            Ok(restart_done(&ctx.store().peek(), &o.key, id))
        })
        .await?;
        if done {
            store.modify(|ov| {
                if ov.restarts.get(&o.key).is_some_and(|r| r.id == id) {
                    ov.restarts.remove(&o.key);
                }
            })?;
        }
        report(
            &o.key,
            done,
            "restarted (by berth run)",
            "berth run has not restarted it yet (the request stands for 10 minutes)",
        );
        return Ok(done);
    }
    let c = o.container.as_ref().expect("checked above");
    let result = match engine.stop(&c.id, o.grace()).await {
        Ok(()) => engine.start(&c.id).await,
        Err(e) => Err(e),
    };
    remember(ctx, &o.key, Verb::Restart, &result);
    result?;
    outln!("{}: restarted", o.key);
    Ok(true)
}

fn restart_done(
    state: &Result<StateFile, crate::state::StateError>,
    key: &ObjectKey,
    id: u64,
) -> bool {
    state
        .as_ref()
        .ok()
        .and_then(|f| f.entry(key))
        .and_then(|e| e.runtime.restart_done)
        .is_some_and(|d| d >= id)
}

/// Records what this command did in the state file (no `berth run` holds it).
fn remember(ctx: &Context, key: &ObjectKey, verb: Verb, result: &Result<(), EngineError>) {
    let result = result.as_ref().map(|_| ()).map_err(|e| RecordError {
        class: e.class(),
        message: e.to_string(),
    });
    let saved = ctx.store().update(|file| {
        file.instance = ctx.instance.clone();
        record::operator(file, key, verb, result, SystemTime::now());
    });
    if let Err(e) = saved {
        eprintln!("warning: {e}; this {verb} is not in the history");
    }
}

fn report(key: &ObjectKey, done: bool, yes: &str, no: &str) {
    if done {
        outln!("{key}: {yes}");
    } else {
        outln!("{key}: {no}");
    }
}

/// Polls `cond` until it holds or `limit` passes.
async fn wait<F, Fut>(limit: Duration, mut cond: F) -> Result<bool, CliError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, CliError>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if cond().await? {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(POLL).await;
    }
}
