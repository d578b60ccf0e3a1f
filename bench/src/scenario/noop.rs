//! With N agents converged by berth and by Compose: the no-op (`berth apply` against
//! `compose up -d`, nothing changed), then one change among N (one agent's env, which
//! recreates it: `berth apply --wait` against `compose up -d -t 0`; grace period zero on
//! both sides).

use std::time::Duration;

use anyhow::Result;

use super::{compose_file, rotation, secs, Ctx, Tool};
use crate::manifests::{self, Agent};
use crate::results::Versus;

const INSTANCE: &str = "bench-noop-berth";
const PROJECT: &str = "bench-noop-compose";

pub async fn run(ctx: &Ctx, n: usize, noop: &mut Versus, recreate: &mut Versus) -> Result<()> {
    noop.n = n;
    recreate.n = n;
    crate::engine::ensure_bridge_room(&ctx.docker, 2 * n).await?;
    let timeout = Duration::from_secs(600);
    let dir = ctx.dir(INSTANCE)?;
    manifests::write_range(&dir, 0..n, Agent::default())?;
    let cdir = ctx.dir(PROJECT)?;
    let file = compose_file(&cdir);
    crate::compose::write_file(&file, ctx.template()?, PROJECT, n, 0)?;
    eprintln!("berth-bench: no-op: converging {n} agents with berth and with Compose (not timed)");
    ctx.berth.apply(INSTANCE, &dir, true, timeout).await?;
    ctx.compose.up(PROJECT, &file, false, false).await?;
    // One untimed no-op each: both start from warm caches.
    ctx.berth.apply(INSTANCE, &dir, false, timeout).await?;
    ctx.compose.up(PROJECT, &file, false, false).await?;

    for rep in 0..ctx.repetitions {
        eprintln!("berth-bench: no-op n={n} rep={rep}");
        for tool in rotation(rep, &[Tool::Berth, Tool::Compose]) {
            match tool {
                Tool::Berth => noop
                    .berth_s
                    .push(secs(ctx.berth.apply(INSTANCE, &dir, false, timeout).await?)),
                _ => noop
                    .compose_s
                    .push(secs(ctx.compose.up(PROJECT, &file, false, false).await?)),
            }
        }
    }

    let name = manifests::name(0);
    for rep in 0..ctx.repetitions {
        eprintln!("berth-bench: one change among {n}, rep={rep}");
        let generation = u32::try_from(rep + 1)?;
        for tool in rotation(rep, &[Tool::Berth, Tool::Compose]) {
            match tool {
                Tool::Berth => {
                    let a = Agent {
                        generation,
                        ..Agent::default()
                    };
                    std::fs::write(manifests::path(&dir, &name), manifests::render(&name, a))?;
                    let took = ctx.berth.apply(INSTANCE, &dir, true, timeout).await?;
                    recreate.berth_s.push(secs(took));
                    ctx.expect_running("berth.instance", INSTANCE, n).await?;
                }
                _ => {
                    crate::compose::write_file(&file, ctx.template()?, PROJECT, n, generation)?;
                    let took = ctx.compose.up(PROJECT, &file, true, true).await?;
                    recreate.compose_s.push(secs(took));
                    ctx.expect_running("com.docker.compose.project", PROJECT, n)
                        .await?;
                }
            }
        }
        check_generation(ctx, generation).await?;
    }
    Ok(())
}

/// Both agents 0 now carry the new generation (each tool did recreate them).
async fn check_generation(ctx: &Ctx, generation: u32) -> Result<()> {
    let want = format!("BENCH_GEN={generation}");
    let name = manifests::name(0);
    let berth = super::berth_container(INSTANCE, &name);
    let ids =
        crate::engine::containers(&ctx.docker, Some(("com.docker.compose.service", &name))).await?;
    for id in std::iter::once(berth).chain(ids) {
        let c = ctx.docker.inspect_container(&id, None).await?;
        let env = c.config.and_then(|c| c.env).unwrap_or_default();
        anyhow::ensure!(env.contains(&want), "{id} was not recreated: no {want}");
    }
    Ok(())
}
