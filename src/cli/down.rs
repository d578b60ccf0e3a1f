use crate::plan;
use crate::reconcile;

/// `berth down`: remove every container of the instance (and nothing else); with
/// `volumes`, its volumes too, whatever their cleanup policy.
pub async fn run(instance: &str, concurrency: usize, volumes: bool) -> u8 {
    let Some(engine) = super::connect().await else {
        return 2;
    };
    let observed = match engine.list(instance).await {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let volumes_listed = if volumes {
        match engine.list_volumes(instance).await {
            Ok(vs) => vs,
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        }
    } else {
        Vec::new()
    };
    let actions = plan::teardown(&observed, &volumes_listed);
    if actions.is_empty() {
        println!("nothing to remove: instance {instance:?} owns no containers");
        return u8::from(!remove_networks(&engine, instance).await);
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
    u8::from(failed > 0 || !networks_ok)
}

/// Networks of the instance left behind (a crash between a container's removal and its
/// network's). A proxy without NETWORKS=1 means none were ever created: nothing to do.
async fn remove_networks(engine: &crate::engine::Engine, instance: &str) -> bool {
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
