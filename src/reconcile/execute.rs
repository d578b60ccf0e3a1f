use futures_util::stream::{self, StreamExt};

use crate::engine::{Engine, EngineError};
use crate::model::DesiredContainer;
use crate::plan::{Action, Op};

/// An action and how it ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub action: Action,
    /// The id of the container the action left behind, if any.
    pub result: Result<Option<String>, EngineError>,
}

/// Runs `actions` with at most `concurrency` engine operations at once. Removals run first
/// (they may free names and ports), then everything else. A plan names each object once,
/// except duplicate containers of one object, which are only ever removed: no object sees
/// two actions at the same time. `report` is called as each action finishes.
pub async fn execute<E: Engine>(
    engine: &E,
    instance: &str,
    actions: Vec<Action>,
    concurrency: usize,
    mut report: impl FnMut(&Outcome),
) -> Vec<Outcome> {
    let concurrency = concurrency.max(1);
    // Containers are removed first (freeing names, ports and volumes), volumes are created
    // before the containers that mount them, and removed last.
    let mut phases: [Vec<Action>; 4] = Default::default();
    for a in actions {
        let i = match &a.op {
            Op::Remove { .. } => 0,
            Op::CreateVolume { .. } => 1,
            Op::RemoveVolume { .. } => 3,
            _ => 2,
        };
        phases[i].push(a);
    }
    let mut outcomes = Vec::new();
    for phase in phases {
        let mut running = stream::iter(phase)
            .map(|action| run_action(engine, instance, action))
            .buffer_unordered(concurrency);
        while let Some(o) = running.next().await {
            report(&o);
            outcomes.push(o);
        }
    }
    outcomes
}

/// Carries out one action against the engine.
pub async fn run_action<E: Engine>(engine: &E, instance: &str, action: Action) -> Outcome {
    let result = run(engine, instance, &action).await;
    Outcome { action, result }
}

async fn run<E: Engine>(
    engine: &E,
    instance: &str,
    a: &Action,
) -> Result<Option<String>, EngineError> {
    match &a.op {
        Op::CreateVolume { owner, cleanup } => engine
            .create_volume(instance, &a.key.name, owner, cleanup.as_ref())
            .await
            .map(|()| None),
        // Never forced: a volume in use answers 409 and is tried again later.
        Op::RemoveVolume { .. } => engine.remove_volume(&a.key.name).await.map(|()| None),
        Op::Remove { target, grace_secs } => {
            engine.stop(&target.id, *grace_secs).await?;
            engine.remove(&target.id).await?;
            Ok(None)
        }
        Op::Stop {
            target, grace_secs, ..
        } => {
            engine.stop(&target.id, *grace_secs).await?;
            Ok(Some(target.id.clone()))
        }
        Op::Start { target, .. } => {
            engine.start(&target.id).await?;
            Ok(Some(target.id.clone()))
        }
        Op::Restart {
            target, grace_secs, ..
        } => {
            engine.stop(&target.id, *grace_secs).await?;
            engine.start(&target.id).await?;
            Ok(Some(target.id.clone()))
        }
        Op::Create { desired } => create_and_start(engine, instance, desired).await,
        Op::Claim {
            member, desired, ..
        } => {
            // By name: a member claimed already (or gone) is not found, and is never taken
            // twice. Then the Session is made cold, as without a pool.
            let name = desired.key.container_name(instance);
            match engine.rename(&member.name, &name).await {
                Ok(()) => Ok(Some(member.id.clone())),
                Err(EngineError::NotFound { .. }) => {
                    create_and_start(engine, instance, desired).await
                }
                Err(e) => Err(e),
            }
        }
        Op::Recreate {
            target,
            grace_secs,
            desired,
        } => {
            engine.stop(&target.id, *grace_secs).await?;
            engine.remove(&target.id).await?;
            create_and_start(engine, instance, desired).await
        }
    }
}

async fn create_and_start<E: Engine>(
    engine: &E,
    instance: &str,
    want: &DesiredContainer,
) -> Result<Option<String>, EngineError> {
    // Its volumes first, with berth's labels: a container that mounted a missing named
    // volume would make the engine create it unlabelled.
    for claim in &want.volumes {
        let name = claim.source.engine_name(instance, &want.key);
        let owner = claim.source.owner(&want.key);
        engine
            .create_volume(instance, &name, &owner, claim.cleanup.as_ref())
            .await?;
    }
    if want.spec.network.is_berths() {
        engine.ensure_network(instance, want).await?;
    }
    // A 409 here means a container with this name appeared since the listing: it is not
    // touched; the next listing observes it and plans again.
    let id = engine.create(instance, want).await?;
    if !want.keep_stopped() {
        if let Err(e) = engine.start(&id).await {
            // Never leave a half-made container behind: one that was created but could not
            // start goes again (the next pass creates it anew, after the retry delay).
            if let Err(cleanup) = engine.remove(&id).await {
                tracing::warn!(object = %want.key, container = %id, error = %cleanup, "cannot remove the container that failed to start");
            }
            return Err(e);
        }
    }
    Ok(Some(id))
}
