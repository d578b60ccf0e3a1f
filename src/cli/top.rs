//! `berth top`: what each running container of the instance uses now, as the daemon's
//! metrics count it: two readings of each (one stats call each, a second apart, at most 16
//! at once) give the CPU; memory is the working set against the limit.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};

use super::output::table;
use super::{CliError, Context};
use crate::engine::Engine;
use crate::model::{format_bytes, Observed, RunState, Sample, Selector};

/// Flags of `berth top`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only objects whose labels match (`user=u1`, as `berth get -l`).
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<Selector>,
}

/// Between the two readings of each container.
const GAP: Duration = Duration::from_secs(1);

pub async fn run(ctx: &Context, args: Args) -> Result<ExitCode, CliError> {
    let engine = ctx.connect().await?;
    let selector = args.selector.unwrap_or_default();
    let observed: Vec<Observed> = engine
        .list(&ctx.instance)
        .await?
        .into_iter()
        .filter(|o| o.state == RunState::Running && o.key.is_some())
        .filter(|o| selector.matches(&o.labels))
        .collect();
    let read = |round: Vec<Observed>| {
        let engine = engine.clone();
        async move {
            stream::iter(round)
                .map(|o| {
                    let engine = engine.clone();
                    async move {
                        let s = engine.usage(&o.id).await.ok().flatten();
                        (o.id, s)
                    }
                })
                .buffer_unordered(16)
                .collect::<BTreeMap<String, Option<Sample>>>()
                .await
        }
    };
    let first = read(observed.clone()).await;
    tokio::time::sleep(GAP).await;
    let started = std::time::Instant::now();
    let second = read(observed.clone()).await;
    let wall = (started.elapsed() + GAP).as_secs_f64();
    let mut rows: Vec<Vec<String>> = Vec::new();
    for o in &observed {
        let key = o.key.as_ref().expect("filtered");
        let (Some(Some(a)), Some(Some(b))) = (first.get(&o.id), second.get(&o.id)) else {
            rows.push(vec![
                key.name.clone(),
                key.kind.to_string(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
            ]);
            continue;
        };
        let cpu = 100.0 * (b.cpu_seconds - a.cpu_seconds).max(0.0) / wall;
        let mem_pct = if b.memory_limit_bytes > 0 {
            format!(
                "{:.0}%",
                100.0 * b.memory_bytes as f64 / b.memory_limit_bytes as f64
            )
        } else {
            "-".into()
        };
        rows.push(vec![
            key.name.clone(),
            key.kind.to_string(),
            format!("{cpu:.1}%"),
            format!(
                "{} / {}",
                format_bytes(b.memory_bytes),
                format_bytes(b.memory_limit_bytes)
            ),
            mem_pct,
            format!(
                "{} / {}",
                format_bytes(b.rx_bytes),
                format_bytes(b.tx_bytes)
            ),
            b.pids.to_string(),
        ]);
    }
    rows.sort();
    crate::cli::output::write_out(format_args!(
        "{}",
        table(
            &[
                "NAME",
                "KIND",
                "CPU",
                "MEMORY",
                "MEM%",
                "NET RX / TX",
                "PIDS"
            ],
            &rows
        )
    ));
    if observed.is_empty() {
        eprintln!("no running container in instance {:?}", ctx.instance);
    }
    Ok(ExitCode::SUCCESS)
}
