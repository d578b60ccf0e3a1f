//! Cold converge of N agents: `berth apply --wait` against the floor (bollard create+start
//! at the same concurrency) and `docker compose up -d`, interleaved per repetition.

use std::time::Duration;

use anyhow::{Context, Result};

use super::{compose_file, rotation, secs, Ctx, Tool};
use crate::manifests::{self, Agent};
use crate::results::Cold;

pub async fn run(ctx: &Ctx, n: usize, out: &mut Cold) -> Result<()> {
    out.n = n;
    crate::engine::ensure_bridge_room(&ctx.docker, n).await?;
    let timeout = Duration::from_secs(600 + 2 * n as u64);
    for rep in 0..ctx.repetitions {
        for tool in rotation(rep, &[Tool::Berth, Tool::Floor, Tool::Compose]) {
            let what = format!("cold n={n} rep={rep} {tool:?}");
            eprintln!("berth-bench: {what}");
            let took = one(ctx, tool, n, rep, timeout).await.context(what)?;
            match tool {
                Tool::Berth => out.berth_s.push(took),
                Tool::Floor => out.floor_s.push(took),
                Tool::Compose => out.compose_s.push(took),
            }
            ctx.cleanup().await?;
        }
    }
    Ok(())
}

async fn one(ctx: &Ctx, tool: Tool, n: usize, rep: usize, timeout: Duration) -> Result<f64> {
    match tool {
        Tool::Berth => {
            let instance = format!("bench-cold-berth-{n}-{rep}");
            let dir = ctx.dir(&instance)?;
            manifests::write_range(&dir, 0..n, Agent::default())?;
            let took = ctx.berth.apply(&instance, &dir, true, timeout).await?;
            ctx.expect_running("berth.instance", &instance, n).await?;
            Ok(secs(took))
        }
        Tool::Floor => {
            let instance = format!("bench-cold-floor-{n}-{rep}");
            let took = crate::floor::create_and_start(
                &ctx.docker,
                ctx.template()?,
                &instance,
                n,
                ctx.concurrency,
            )
            .await?;
            ctx.expect_running("berth.instance", &instance, n).await?;
            Ok(secs(took))
        }
        Tool::Compose => {
            let project = format!("bench-cold-compose-{n}-{rep}");
            let dir = ctx.dir(&project)?;
            let file = compose_file(&dir);
            crate::compose::write_file(&file, ctx.template()?, &project, n, 0)?;
            let took = ctx.compose.up(&project, &file, false, true).await?;
            ctx.expect_running("com.docker.compose.project", &project, n)
                .await?;
            Ok(secs(took))
        }
    }
}
