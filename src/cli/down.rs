use std::process::ExitCode;

use super::{CliError, Context};
use crate::engine::Engine;
use crate::plan;
use crate::reconcile;

/// `berth down`: remove every container of the instance (and nothing else); with
/// `volumes`, its volumes too, whatever their cleanup policy.
pub async fn run(ctx: &Context, concurrency: usize, volumes: bool) -> Result<ExitCode, CliError> {
    let instance = ctx.instance.as_str();
    let engine = ctx.connect().await?;
    let observed = engine.list(instance).await?;
    let volumes_listed = if volumes {
        engine.list_volumes(instance).await?
    } else {
        Vec::new()
    };
    let actions = plan::teardown(&observed, &volumes_listed);
    if actions.is_empty() {
        println!("nothing to remove: instance {instance:?} owns no containers");
        return Ok(ExitCode::from(u8::from(
            !remove_networks(&engine, instance).await,
        )));
    }
    let outcomes = reconcile::execute(&engine, instance, actions, concurrency, |o| {
        match &o.result {
            Ok(_) => println!("- {}: removed", o.action.key),
            Err(e) => println!("- {}: FAILED: {e}", o.action.key),
        }
    })
    .await;
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    println!(
        "removed {} object(s), {failed} failed",
        outcomes.len() - failed
    );
    let networks_ok = remove_networks(&engine, instance).await;
    if !volumes {
        if let Ok(vs) = engine.list_volumes(instance).await {
            if !vs.is_empty() {
                println!(
                    "kept {} volume(s); `berth down --volumes` removes them too",
                    vs.len()
                );
            }
        }
    }
    Ok(ExitCode::from(u8::from(failed > 0 || !networks_ok)))
}

/// Networks of the instance left behind (a crash between a container's removal and its
/// network's). A proxy without NETWORKS=1 means none were ever created: nothing to do.
async fn remove_networks(engine: &crate::engine::Client, instance: &str) -> bool {
    let networks = match engine.list_networks(instance).await {
        Ok(n) => n,
        Err(crate::engine::EngineError::Forbidden { .. }) => return true,
        Err(e) => {
            eprintln!("warning: cannot list the instance's networks: {e}");
            return true;
        }
    };
    let mut ok = true;
    for (name, _) in networks {
        match engine.remove_network(&name).await {
            Ok(()) => println!("- network {name}: removed"),
            Err(e) => {
                ok = false;
                println!("- network {name}: FAILED: {e}");
            }
        }
    }
    ok
}
