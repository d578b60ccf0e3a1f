use crate::model::DesiredSet;
use crate::plan::{self, Verb};
use crate::reconcile;

/// `berth down`: remove every container of the instance (and nothing else).
pub async fn run(instance: &str, concurrency: usize) -> u8 {
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
    let p = plan::plan(
        &DesiredSet::default(),
        &observed,
        &Default::default(),
        std::time::SystemTime::now(),
        plan::Options { allow_empty: true },
    );
    let mut actions = p.actions;
    // Containers whose labels name no object still belong to the instance: remove them too.
    for o in observed.iter().filter(|o| o.key.is_none()) {
        actions.push(plan::Action {
            key: crate::model::ObjectKey::new(crate::model::Kind::Agent, o.name.clone()),
            verb: Verb::Remove,
            cause: plan::Cause::Gone,
            reason: "berth down".into(),
            target: Some(plan::Target {
                id: o.id.clone(),
                name: o.name.clone(),
            }),
            desired: None,
            stop_grace_secs: 10,
        });
    }
    for a in &mut actions {
        a.reason = "berth down".into();
    }
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
        "removed {} container(s), {failed} failed",
        outcomes.len() - failed
    );
    let networks_ok = remove_networks(&engine, instance).await;
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
