//! The daemon at rest over 0, 100 and 1000 converged agents (sizes grow; berth apply adds
//! the missing agents, not timed). For each size and each of `repetitions` daemon starts:
//! resident memory once settled, then quiet resync rounds with a short `--resync`, each
//! measured between two scrapes taken in the quiet gaps around it. At the idle size, the
//! daemon's CPU over idle windows with the default resync.

use std::time::Duration;

use anyhow::{ensure, Result};

use super::Ctx;
use crate::daemon::{Daemon, Options};
use crate::manifests::{self, Agent};
use crate::metrics::{delta_by_label, Scrape};
use crate::results::{Idle, Resync, Round, Rss};
use crate::system;

const INSTANCE: &str = "bench-fp";

pub struct Plan {
    pub sizes: Vec<usize>,
    pub resync: String,
    pub rounds_per_start: usize,
    pub idle_manifests: usize,
    pub idle_window: Duration,
    pub idle_windows: usize,
}

pub struct Out<'a> {
    pub resync: &'a mut Vec<Resync>,
    pub rss: &'a mut Vec<Rss>,
    pub idle: &'a mut Option<Idle>,
}

pub async fn run(ctx: &Ctx, plan: &Plan, out: Out<'_>) -> Result<()> {
    let root = ctx.dir(INSTANCE)?;
    let dir = root.join("manifests");
    std::fs::create_dir_all(&dir)?;
    let period = humantime::parse_duration(&plan.resync)?;
    let mut sizes = plan.sizes.clone();
    sizes.sort_unstable();
    let most = sizes.last().copied().unwrap_or(0);
    crate::engine::ensure_bridge_room(&ctx.docker, most).await?;
    let mut have = 0;
    for &m in &sizes {
        if m > have {
            eprintln!("berth-bench: footprint: converging {m} agents (not timed)");
            manifests::write_range(&dir, have..m, Agent::default())?;
            let timeout = Duration::from_secs(600 + 3 * m as u64);
            ctx.berth.apply(INSTANCE, &dir, true, timeout).await?;
            have = m;
        }
        let mut rss = Rss {
            manifests: m,
            kib: Vec::new(),
        };
        let mut resync = Resync {
            manifests: m,
            rounds: Vec::new(),
        };
        for rep in 0..ctx.repetitions {
            eprintln!("berth-bench: footprint m={m} daemon start {rep}");
            let d = start(ctx, &root, &dir, m, Some(&plan.resync)).await?;
            let r = measure(&d, m, period, plan.rounds_per_start, &mut rss, &mut resync).await;
            d.stop().await?;
            r?;
        }
        out.rss.push(rss);
        out.resync.push(resync);

        if m == plan.idle_manifests && plan.idle_windows > 0 {
            eprintln!(
                "berth-bench: idle CPU at {m}: {} windows of {:?}",
                plan.idle_windows, plan.idle_window
            );
            let d = start(ctx, &root, &dir, m, None).await?;
            let mut idle = Idle {
                manifests: m,
                window_s: plan.idle_window.as_secs(),
                resync: "30s (default)".into(),
                cpu_s: Vec::new(),
            };
            let r = idle_windows(&d, plan, &mut idle).await;
            d.stop().await?;
            r?;
            *out.idle = Some(idle);
        }
    }
    ctx.berth.down(INSTANCE).await
}

async fn start(
    ctx: &Ctx,
    root: &std::path::Path,
    dir: &std::path::Path,
    m: usize,
    resync: Option<&str>,
) -> Result<Daemon> {
    let d = Daemon::start(Options {
        bin: &ctx.berth.bin,
        instance: INSTANCE,
        dir,
        resync,
        allow_empty: m == 0,
        concurrency: ctx.concurrency,
        log: &root.join("daemon.log"),
    })
    .await?;
    d.wait_running(m, Duration::from_secs(300)).await?;
    // Settled: the first round's work and allocations are behind it.
    tokio::time::sleep(Duration::from_secs(3)).await;
    Ok(d)
}

async fn measure(
    d: &Daemon,
    m: usize,
    period: Duration,
    rounds: usize,
    rss: &mut Rss,
    out: &mut Resync,
) -> Result<()> {
    rss.kib.push(system::rss_kib(d.pid)?);
    // Align on a round, then scrape half a period later, in the quiet gap.
    let n = d
        .metrics()
        .await?
        .get("berth_reconciles_total", &[])
        .unwrap_or(0.0);
    d.wait_reconcile(n, period * 3).await?;
    tokio::time::sleep(period / 2).await;
    let mut a = Gap::take(d).await?;
    for _ in 0..rounds {
        tokio::time::sleep(period).await;
        let b = Gap::take(d).await?;
        let round = a.round(&b);
        ensure!(
            round.reconciles >= 1.0,
            "no resync round in {period:?} at {m} manifests"
        );
        out.rounds.push(round);
        a = b;
    }
    Ok(())
}

/// A scrape plus the process CPU time at the same moment.
struct Gap {
    scrape: Scrape,
    cpu: Duration,
}

impl Gap {
    async fn take(d: &Daemon) -> Result<Gap> {
        let cpu = system::cpu_time(d.pid)?;
        Ok(Gap {
            scrape: d.metrics().await?,
            cpu,
        })
    }

    fn round(&self, later: &Gap) -> Round {
        let (a, b) = (&self.scrape, &later.scrape);
        let d = |name: &str| Some(b.get(name, &[])? - a.get(name, &[])?);
        let cpu_sum = d("berth_reconcile_cpu_seconds_sum");
        let cpu_count = d("berth_reconcile_cpu_seconds_count").unwrap_or(0.0);
        Round {
            reconciles: d("berth_reconciles_total").unwrap_or(0.0),
            requests: delta_by_label(a, b, "berth_engine_requests_total", "operation"),
            actions: d("berth_actions_total").unwrap_or(0.0),
            cpu_s: cpu_sum.filter(|_| cpu_count > 0.0).map(|s| s / cpu_count),
            process_cpu_s: (later.cpu.saturating_sub(self.cpu)).as_secs_f64(),
        }
    }
}

async fn idle_windows(d: &Daemon, plan: &Plan, idle: &mut Idle) -> Result<()> {
    for _ in 0..plan.idle_windows {
        let before = system::cpu_time(d.pid)?;
        tokio::time::sleep(plan.idle_window).await;
        let after = system::cpu_time(d.pid)?;
        idle.cpu_s.push(after.saturating_sub(before).as_secs_f64());
    }
    Ok(())
}
