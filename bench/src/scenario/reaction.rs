//! Reaction latency of `berth run` (default debounce and resync), over `trials` trials each:
//! - a manifest renamed into the watched directory → the engine's `start` event of its
//!   container;
//! - a container killed (SIGKILL through the API) → its `start` event, with berth's own part
//!   (event received → start call issued) from `berth_event_to_action_seconds`. The agents
//!   have `restart.backoff.initial: 0s`, so no configured backoff is included.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use bollard::query_parameters::KillContainerOptionsBuilder;

use super::{berth_container, Ctx};
use crate::daemon::{Daemon, Options};
use crate::engine::{events, wait_event};
use crate::manifests::{self, Agent};
use crate::results::{KillTrial, Reaction};

const INSTANCE: &str = "bench-react";
const EVENT_TIMEOUT: Duration = Duration::from_secs(60);
const HIST: &str = "berth_event_to_action_seconds";

pub async fn run(ctx: &Ctx, agents: usize, out: &mut Reaction) -> Result<()> {
    out.agents = agents;
    out.debounce = "100ms (the default)".into();
    let agent = Agent {
        no_backoff: true,
        ..Agent::default()
    };
    let root = ctx.dir(INSTANCE)?;
    let dir = root.join("manifests");
    manifests::write_range(&dir, 0..agents, agent)?;
    let mut rx = events(&ctx.docker, INSTANCE);
    let log = root.join("daemon.log");
    let daemon = Daemon::start(Options {
        bin: &ctx.berth.bin,
        instance: INSTANCE,
        dir: &dir,
        resync: None,
        allow_empty: false,
        concurrency: ctx.concurrency,
        log: &log,
    })
    .await?;
    let result = trials(ctx, &daemon, &dir, agents, agent, &mut rx, out).await;
    let stopped = daemon.stop().await;
    let down = ctx.berth.down(INSTANCE).await;
    result.and(stopped).and(down)?;
    floor_reactor(ctx, out).await
}

async fn trials(
    ctx: &Ctx,
    daemon: &Daemon,
    dir: &std::path::Path,
    agents: usize,
    agent: Agent,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<crate::engine::Event>,
    out: &mut Reaction,
) -> Result<()> {
    daemon
        .wait_running(agents, Duration::from_secs(600))
        .await?;
    settle(rx).await;

    for t in 0..ctx.trials {
        let name = format!("f-{t:03}");
        let t0 = manifests::write_atomically(dir, &name, agent)?;
        let start = wait_event(rx, &name, "start", EVENT_TIMEOUT)
            .await
            .with_context(|| format!("file trial {t}"))?;
        out.file_to_running_s.push(since(t0, start.time_nano));
        std::fs::remove_file(manifests::path(dir, &name))?;
        wait_event(rx, &name, "destroy", EVENT_TIMEOUT).await?;
        daemon.wait_running(agents, Duration::from_secs(60)).await?;
        settle(rx).await;
    }
    eprintln!(
        "berth-bench: reaction: {} file trials done",
        out.file_to_running_s.len()
    );

    let name = manifests::name(0);
    let container = berth_container(INSTANCE, &name);
    for t in 0..ctx.trials {
        let before = daemon.metrics().await?;
        let sent = SystemTime::now();
        let opts = KillContainerOptionsBuilder::new().signal("SIGKILL").build();
        ctx.docker
            .kill_container(&container, Some(opts))
            .await
            .with_context(|| format!("kill trial {t}: killing {container}"))?;
        let die = wait_event(rx, &name, "die", EVENT_TIMEOUT).await?;
        let start = wait_event(rx, &name, "start", EVENT_TIMEOUT)
            .await
            .with_context(|| format!("kill trial {t}"))?;
        daemon.wait_running(agents, Duration::from_secs(60)).await?;
        let after = daemon.metrics().await?;
        let delta = |s: &str| {
            let key = format!("{HIST}_{s}");
            Some(after.get(&key, &[])? - before.get(&key, &[])?)
        };
        let (sum, count) = (delta("sum"), delta("count").unwrap_or(0.0));
        out.kill.push(KillTrial {
            kill_to_die_s: since(sent, die.time_nano),
            die_to_start_s: (start.time_nano - die.time_nano) as f64 / 1e9,
            berth_part_s: sum.filter(|_| count > 0.0).map(|s| s / count),
            metric_count: count,
        });
        settle(rx).await;
    }
    Ok(())
}

/// The reference for kill → running: a floor container (not berth's) killed the same way and
/// started again by this process as soon as its `die` event arrives.
async fn floor_reactor(ctx: &Ctx, out: &mut Reaction) -> Result<()> {
    const FLOOR: &str = "bench-react-floor";
    let mut rx = events(&ctx.docker, FLOOR);
    crate::floor::create_and_start(&ctx.docker, ctx.template()?, FLOOR, 1, 1).await?;
    let name = manifests::name(0);
    let container = format!("{FLOOR}-{name}");
    settle(&mut rx).await;
    for t in 0..ctx.trials {
        let opts = KillContainerOptionsBuilder::new().signal("SIGKILL").build();
        ctx.docker
            .kill_container(&container, Some(opts))
            .await
            .with_context(|| format!("floor kill trial {t}"))?;
        let die = wait_event(&mut rx, &name, "die", EVENT_TIMEOUT).await?;
        ctx.docker.start_container(&container, None).await?;
        let start = wait_event(&mut rx, &name, "start", EVENT_TIMEOUT).await?;
        out.floor_die_to_start_s
            .push((start.time_nano - die.time_nano) as f64 / 1e9);
        settle(&mut rx).await;
    }
    Ok(())
}

/// Seconds from `t0` (this machine's clock) to an engine timestamp (same clock).
fn since(t0: SystemTime, engine_nano: i64) -> f64 {
    let t0 = t0
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos() as i64;
    (engine_nano - t0) as f64 / 1e9
}

/// A pause between trials, dropping the events it brings.
async fn settle(rx: &mut tokio::sync::mpsc::UnboundedReceiver<crate::engine::Event>) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    while rx.try_recv().is_ok() {}
}
