//! berth-bench: measures berth against the engine's floor and Docker Compose on the real
//! engine, and writes docs/benchmarks.md, a plot and the raw numbers (see `make bench`).

mod berth;
mod compose;
mod daemon;
mod engine;
mod floor;
mod manifests;
mod metrics;
mod report;
mod results;
mod scenario;
mod stats;
mod system;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;

use results::{Cold, Load, Reaction, Results, ScenarioError, Settings, Versus};
use scenario::Ctx;

/// Benchmarks berth against a minimal bollard loop (the floor) and Docker Compose v2.
#[derive(Debug, Parser)]
#[command(name = "berth-bench")]
struct Args {
    /// The markdown report (its explanations block is kept).
    #[arg(long, default_value = "docs/benchmarks.md")]
    out: PathBuf,
    /// The PNG plot (drawn by bench/plot.py).
    #[arg(long, default_value = "docs/benchmarks.png")]
    plot: PathBuf,
    /// The raw numbers.
    #[arg(long, default_value = "bench/results.json")]
    json: PathBuf,
    /// A fast smoke run: small sizes, one repetition, few trials, a short idle window.
    /// Refuses to write under docs/.
    #[arg(long)]
    quick: bool,
    /// Only these scenarios (comma-separated): cold, noop, reaction, footprint.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// With --only: measure those scenarios again and put their rows into the --json of an
    /// earlier run (the report says which rows come from which run).
    #[arg(long, requires = "only")]
    merge: bool,
    /// Override the number of repetitions.
    #[arg(long)]
    repetitions: Option<usize>,
    /// Override the number of latency trials.
    #[arg(long)]
    trials: Option<usize>,
    /// Re-render the report and the plot from --json without measuring anything.
    #[arg(long)]
    report_only: bool,
    #[arg(long, default_value = "target/release/berth")]
    berth: PathBuf,
    /// The Compose v2 Go binary (bench/setup.sh prints it).
    #[arg(long)]
    compose: Option<PathBuf>,
    /// The Python with matplotlib that runs bench/plot.py.
    #[arg(long, default_value = "target/bench-venv/bin/python")]
    python: PathBuf,
}

const SCENARIOS: [&str; 4] = ["cold", "noop", "reaction", "footprint"];

fn settings(a: &Args) -> Settings {
    let q = a.quick;
    let mut s = Settings {
        repetitions: if q { 1 } else { 3 },
        trials: if q { 5 } else { 20 },
        concurrency: 8,
        cold_sizes: if q { vec![3, 10] } else { vec![20, 200] },
        noop_size: if q { 10 } else { 50 },
        footprint_sizes: if q {
            vec![0, 10, 30]
        } else {
            vec![0, 100, 1000]
        },
        idle_manifests: if q { 10 } else { 100 },
        idle_window_s: if q { 10 } else { 60 },
        idle_windows: if q { 1 } else { 3 },
        resync_period: "2s".into(),
        resync_rounds_per_start: if q { 2 } else { 3 },
        reaction_agents: if q { 5 } else { 10 },
    };
    if let Some(r) = a.repetitions {
        s.repetitions = r;
    }
    if let Some(t) = a.trials {
        s.trials = t;
    }
    s
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("berth-bench: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> Result<ExitCode> {
    if args.quick && args.out.starts_with("docs") {
        bail!(
            "--quick writes a smoke-run report: give --out outside docs/ (make bench-quick does)"
        );
    }
    if args.report_only {
        let text = std::fs::read_to_string(&args.json)
            .with_context(|| format!("reading {}", args.json.display()))?;
        let r: Results = serde_json::from_str(&text)?;
        publish(&args, &r)?;
        return Ok(ExitCode::SUCCESS);
    }
    for s in &args.only {
        if !SCENARIOS.contains(&s.as_str()) {
            bail!("unknown scenario {s:?} (known: {})", SCENARIOS.join(", "));
        }
    }
    let compose = args
        .compose
        .clone()
        .context("--compose PATH is required (bash bench/setup.sh prints it)")?;
    let docker = engine::connect().await?;
    let work = tempfile::Builder::new().prefix("berth-bench-").tempdir()?;
    let st = settings(&args);
    let mut ctx = Ctx {
        docker: docker.clone(),
        berth: berth::Berth {
            bin: args.berth.clone(),
            concurrency: st.concurrency,
        },
        compose: compose::Compose {
            bin: compose.clone(),
        },
        work: work.path().to_path_buf(),
        repetitions: st.repetitions,
        trials: st.trials,
        concurrency: st.concurrency,
        template: None,
    };
    let mut r = Results {
        quick: args.quick,
        system: Some(system::SystemInfo::collect(&docker, &args.berth, &compose).await?),
        settings: st,
        ..Results::default()
    };
    let left = engine::cleanup(&docker).await?;
    if left > 0 {
        eprintln!("berth-bench: removed {left} container(s) left by an earlier run");
    }

    let outcome = tokio::select! {
        _ = measure(&args, &mut ctx, &mut r) => None,
        s = signalled() => Some(s),
    };
    // Interrupted or not: leave nothing behind.
    let cleaned = engine::cleanup(&docker).await;
    if let Some(signal) = outcome {
        cleaned?;
        // A create the engine was still serving for a killed client may land after the
        // first sweep.
        tokio::time::sleep(Duration::from_secs(2)).await;
        engine::cleanup(&docker).await?;
        eprintln!("berth-bench: interrupted by {signal}; cleaned up, no report written");
        return Ok(ExitCode::from(130));
    }
    cleaned?;
    let r = if args.merge {
        let text = std::fs::read_to_string(&args.json)
            .with_context(|| format!("reading {} to merge into", args.json.display()))?;
        let mut base: Results = serde_json::from_str(&text)?;
        base.merge(r, &args.only);
        base
    } else {
        r
    };
    publish(&args, &r)?;
    if r.errors.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        for e in &r.errors {
            eprintln!("berth-bench: scenario {} failed: {}", e.scenario, e.error);
        }
        Ok(ExitCode::from(1))
    }
}

async fn signalled() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}

fn wanted(args: &Args, name: &str) -> bool {
    args.only.is_empty() || args.only.iter().any(|o| o == name)
}

/// Runs the scenarios in order; each failure is recorded and the next one runs.
async fn measure(args: &Args, ctx: &mut Ctx, r: &mut Results) {
    let cal = scenario::calibrate::run(ctx).await;
    match cal {
        Ok(diffs) => r.fairness = diffs,
        Err(e) => {
            r.errors.push(ScenarioError {
                scenario: "calibrate".into(),
                error: format!("{e:#}"),
            });
            let _ = ctx.cleanup().await;
            return;
        }
    }
    let _ = ctx.cleanup().await;

    if wanted(args, "cold") {
        for n in r.settings.cold_sizes.clone() {
            begin(r, &format!("cold-{n}"));
            let mut c = Cold::default();
            let res = scenario::cold::run(ctx, n, &mut c).await;
            r.cold.push(c);
            end(ctx, r, &format!("cold-{n}"), res).await;
        }
    }
    if wanted(args, "noop") {
        begin(r, "noop");
        let (mut a, mut b) = (Versus::default(), Versus::default());
        let res = scenario::noop::run(ctx, r.settings.noop_size, &mut a, &mut b).await;
        r.noop = Some(a);
        r.recreate = Some(b);
        end(ctx, r, "noop", res).await;
    }
    if wanted(args, "reaction") {
        begin(r, "reaction");
        let mut re = Reaction::default();
        let res = scenario::reaction::run(ctx, r.settings.reaction_agents, &mut re).await;
        r.reaction = Some(re);
        end(ctx, r, "reaction", res).await;
    }
    if wanted(args, "footprint") {
        begin(r, "footprint");
        let s = &r.settings;
        let plan = scenario::footprint::Plan {
            sizes: s.footprint_sizes.clone(),
            resync: s.resync_period.clone(),
            rounds_per_start: s.resync_rounds_per_start,
            idle_manifests: s.idle_manifests,
            idle_window: Duration::from_secs(s.idle_window_s),
            idle_windows: s.idle_windows,
        };
        let out = scenario::footprint::Out {
            resync: &mut r.resync,
            rss: &mut r.rss,
            idle: &mut r.idle,
        };
        let res = scenario::footprint::run(ctx, &plan, out).await;
        end(ctx, r, "footprint", res).await;
    }
}

fn begin(r: &mut Results, scenario: &str) {
    let load1 = system::load1();
    eprintln!("berth-bench: == {scenario} (load {load1:.2})");
    r.loads.push(Load {
        scenario: scenario.into(),
        load1,
    });
}

async fn end(ctx: &Ctx, r: &mut Results, scenario: &str, res: Result<()>) {
    if let Err(e) = res {
        eprintln!("berth-bench: {scenario} failed: {e:#}");
        r.errors.push(ScenarioError {
            scenario: scenario.into(),
            error: format!("{e:#}"),
        });
    }
    if let Err(e) = ctx.cleanup().await {
        r.errors.push(ScenarioError {
            scenario: format!("{scenario} (cleanup)"),
            error: format!("{e:#}"),
        });
    }
}

/// Writes the JSON, the plot and the report.
fn publish(args: &Args, r: &Results) -> Result<()> {
    for p in [&args.json, &args.plot, &args.out] {
        if let Some(d) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(d)?;
        }
    }
    if !args.report_only {
        std::fs::write(&args.json, serde_json::to_string_pretty(r)? + "\n")?;
    }
    let plotted = plot(&args.python, &args.json, &args.plot);
    if let Err(e) = &plotted {
        eprintln!("berth-bench: no plot: {e:#}");
    }
    let plot_name = plotted.ok().map(|()| relative(&args.plot, &args.out));
    report::write(&args.out, r, plot_name.as_deref())?;
    eprintln!(
        "berth-bench: wrote {}, {}, {}",
        args.out.display(),
        args.json.display(),
        args.plot.display()
    );
    Ok(())
}

fn plot(python: &Path, json: &Path, png: &Path) -> Result<()> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("plot.py");
    let status = std::process::Command::new(python)
        .arg(&script)
        .arg(json)
        .arg(png)
        .status()
        .with_context(|| format!("running {}", python.display()))?;
    if !status.success() {
        bail!("{} failed ({status})", script.display());
    }
    Ok(())
}

/// How the report links the plot: by file name when both sit in one directory.
fn relative(plot: &Path, out: &Path) -> String {
    if plot.parent() == out.parent() {
        plot.file_name().map_or_else(
            || plot.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    } else {
        std::fs::canonicalize(plot)
            .unwrap_or_else(|_| plot.to_path_buf())
            .display()
            .to_string()
    }
}
