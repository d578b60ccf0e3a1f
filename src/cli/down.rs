use std::process::ExitCode;
use std::time::SystemTime;

use serde::Serialize;

use super::report::{print_json, ActionReport};
use super::{CliError, Context, PlanFormat};
use crate::engine::Engine;
use crate::model::{Actor, Kind};
use crate::plan;
use crate::reconcile::{self, record, Outcome};
use crate::state::{OverrideStore, StateError};

/// `berth down -o json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    actions: Vec<ActionReport>,
    failed: usize,
    /// Networks removed (`ok`) or not (the error).
    networks: Vec<NetworkReport>,
    /// Volumes kept (without `--volumes`).
    kept_volumes: Vec<String>,
}

#[derive(Debug, Serialize)]
struct NetworkReport {
    name: String,
    result: String,
}

/// `berth down`: remove every container of the instance (and nothing else); with
/// `volumes`, its volumes too, whatever their cleanup policy. What it removed is forgotten:
/// its memory (restart counts, ports, session clocks) and its `berth stop` overrides, so a
/// later `apply` starts afresh.
pub async fn run(
    ctx: &Context,
    concurrency: usize,
    volumes: bool,
    output: PlanFormat,
) -> Result<ExitCode, CliError> {
    let instance = ctx.instance.as_str();
    let text = output == PlanFormat::Text;
    let engine = ctx.connect().await?;
    let observed = engine.list(instance).await?;
    let volumes_listed = if volumes {
        engine.list_volumes(instance).await?
    } else {
        Vec::new()
    };
    let actions = plan::teardown(&observed, &volumes_listed);
    if actions.is_empty() && text {
        outln!("nothing to remove: instance {instance:?} owns no containers");
    }
    let outcomes = reconcile::execute(&engine, instance, actions, concurrency, |o| {
        if text {
            match &o.result {
                Ok(_) => outln!("- {}: removed", o.action.key),
                Err(e) => outln!("- {}: FAILED: {e}", o.action.key),
            }
        }
    })
    .await;
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    if text && !outcomes.is_empty() {
        outln!(
            "removed {} object(s), {failed} failed",
            outcomes.len() - failed
        );
    }
    forget(ctx, &outcomes);
    let networks = remove_networks(&engine, instance).await;
    for n in networks.iter().filter(|_| text) {
        match n.result.as_str() {
            "ok" => outln!("- network {}: removed", n.name),
            e => outln!("- network {}: FAILED: {e}", n.name),
        }
    }
    let kept_volumes: Vec<String> = if volumes {
        Vec::new()
    } else {
        engine
            .list_volumes(instance)
            .await
            .map(|vs| vs.into_iter().map(|v| v.name).collect())
            .unwrap_or_default()
    };
    if text && !kept_volumes.is_empty() {
        outln!(
            "kept {} volume(s); `berth down --volumes` removes them too",
            kept_volumes.len()
        );
    }
    let networks_ok = networks.iter().all(|n| n.result == "ok");
    if !text {
        print_json(&Report {
            actions: outcomes.iter().map(ActionReport::from).collect(),
            failed,
            networks,
            kept_volumes,
        });
    }
    Ok(ExitCode::from(u8::from(failed > 0 || !networks_ok)))
}

/// Forgets what was removed: the state file's entries (history kept) and the overrides.
/// While a `berth run` holds the instance, it forgets by itself what is gone.
fn forget(ctx: &Context, outcomes: &[Outcome]) {
    let removed: Vec<_> = outcomes
        .iter()
        .filter(|o| o.result.is_ok() && o.action.key.kind != Kind::Volume)
        .map(|o| o.action.key.clone())
        .collect();
    let overrides = OverrideStore::new(&ctx.state_dir, &ctx.instance);
    if !removed.is_empty() && overrides.path().exists() {
        let cleared = overrides.modify(|o| {
            for k in &removed {
                o.stopped.remove(k);
                o.restarts.remove(k);
            }
        });
        if let Err(e) = cleared {
            eprintln!("warning: {e}; the removed objects' overrides stay");
        }
    }
    if outcomes.is_empty() {
        return;
    }
    match ctx.store().update(|file| {
        record::outcomes(file, outcomes, Actor::Down, SystemTime::now());
        record::torn_down(file, outcomes);
    }) {
        Ok(()) => {}
        Err(StateError::Locked { .. }) => eprintln!(
            "note: a berth run holds instance {:?}: it will create again what its manifests \
             declare",
            ctx.instance
        ),
        Err(e) => eprintln!("warning: {e}; what was removed is still remembered"),
    }
}

/// Networks of the instance left behind (a crash between a container's removal and its
/// network's). A proxy without NETWORKS=1 means none were ever created: nothing to do.
async fn remove_networks(engine: &crate::engine::Client, instance: &str) -> Vec<NetworkReport> {
    let networks = match engine.list_networks(instance).await {
        Ok(n) => n,
        Err(crate::engine::EngineError::Forbidden { .. }) => return Vec::new(),
        Err(e) => {
            eprintln!("warning: cannot list the instance's networks: {e}");
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (name, _) in networks {
        let result = match engine.remove_network(&name).await {
            Ok(()) => "ok".to_string(),
            Err(e) => e.to_string(),
        };
        out.push(NetworkReport { name, result });
    }
    out
}
