//! One observe-and-plan, used by `diff`, `apply` and the daemon alike: fill `hostPort:
//! auto` from the pool, hold what does not fit the engine's host, then plan containers and
//! volumes. The one-shot form ([`once`]) lists the engine itself and plans without berth
//! run's backoff and TTL memory, but with the volumes' orphan clocks, so `RetainFor`
//! expires under `apply` as under `run`.

use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::engine::{Engine, EngineError};
use crate::model::{
    CleanupRule, DesiredSet, FailureClass, HostFacts, ObjectKey, Observed, Overrides, Runtime,
    VolumeMemory,
};
use crate::plan::ports::{self, PortAllocations, PortPool};
use crate::plan::volumes::VolumeOptions;
use crate::plan::{self, Plan};
use crate::policy::quota::{self, Counted, Quotas};

/// An object held before planning, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub key: ObjectKey,
    /// The manifest file that declares it.
    pub source: String,
    pub message: String,
    pub class: FailureClass,
}

/// `hostPort: auto` ports from `pool` (remembered in `ports`); an object that gets none
/// is held.
pub fn assign_ports(
    desired: &mut DesiredSet,
    observed: &[Observed],
    ports: &mut PortAllocations,
    pool: PortPool,
) -> Vec<Held> {
    let sources: std::collections::HashMap<ObjectKey, String> = desired
        .objects
        .iter()
        .filter(|(_, o)| o.spec.ports.iter().any(|p| p.host_port_auto))
        .map(|(k, o)| (k.clone(), o.source.clone()))
        .collect();
    ports::assign(desired, observed, ports, pool)
        .into_iter()
        .map(|e| Held {
            source: sources.get(&e.key).cloned().unwrap_or_default(),
            key: e.key,
            message: e.message,
            class: FailureClass::Infrastructure,
        })
        .collect()
}

/// Objects that ask for more than the engine's host has are held.
pub fn hold_misfits(desired: &mut DesiredSet, host: &HostFacts) -> Vec<Held> {
    plan::host::check(desired, host)
        .into_iter()
        .map(|m| Held {
            key: m.key,
            source: m.source,
            message: format!("{}; nothing is sent to the engine for it", m.message),
            class: FailureClass::Manifest,
        })
        .collect()
}

/// The operator's overrides onto the declared objects: `berth stop` always, and with
/// `restarts` (the loop's memory and listing) each pending `berth restart`. One-shot
/// commands pass `None`: `berth restart` acts itself when no loop runs.
pub fn apply_overrides(
    desired: &mut DesiredSet,
    overrides: &Overrides,
    restarts: Option<(&Runtime, &[Observed])>,
    now: SystemTime,
) {
    let by_key = restarts.map(|(_, o)| crate::model::by_key(o));
    for (key, want) in desired.objects.iter_mut() {
        want.operator.stopped = overrides.stopped.contains_key(key);
        want.operator.idle = overrides.idle.contains_key(key);
        want.operator.restart = match (restarts, &by_key) {
            (Some((runtime, _)), Some(by_key)) => overrides
                .restarts
                .get(key)
                .filter(|r| {
                    let created = by_key
                        .get(key)
                        .and_then(|cs| cs.iter().map(|c| c.created).max());
                    r.pending(runtime.get(key).and_then(|m| m.restart_done), created, now)
                })
                .map(|r| r.id),
            _ => None,
        };
    }
}

/// Sessions beyond the Policy's quotas are held: nothing is created for them until there
/// is room. Counted first and always kept: Sessions with a container, being created
/// (`busy`) or idle; never counted: Sessions past their TTL. The others get the places
/// left in name order, then pool members; a member with no place is no longer declared.
pub fn hold_over_quota(
    desired: &mut DesiredSet,
    quotas: &Quotas,
    observed: &[Observed],
    runtime: &Runtime,
    busy: &std::collections::HashSet<ObjectKey>,
) -> Vec<Held> {
    if quotas.is_empty() {
        return Vec::new();
    }
    let have: std::collections::HashSet<&ObjectKey> =
        observed.iter().filter_map(|o| o.key.as_ref()).collect();
    fn counted(w: &crate::model::DesiredContainer) -> Counted<'_> {
        Counted {
            labels: &w.spec.labels,
            template: w.template.as_deref(),
        }
    }
    let sessions = desired.objects.values().filter(|w| {
        w.key.kind == crate::model::Kind::Session && !runtime.get(&w.key).is_some_and(|r| r.expired)
    });
    let (kept, mut candidates): (Vec<_>, Vec<_>) =
        sessions.partition(|w| have.contains(&w.key) || busy.contains(&w.key) || w.operator.idle);
    // Pool members count like Sessions of their template, after every Session: a pool
    // never takes a Session's place, and one past the quota is not kept (its container goes).
    let sessions_wanted = candidates.len();
    candidates.extend(
        desired
            .objects
            .values()
            .filter(|w| w.key.kind == crate::model::Kind::Pool),
    );
    let refused = quota::admit(
        quotas,
        kept.iter().map(|w| counted(w)),
        &candidates.iter().map(|w| counted(w)).collect::<Vec<_>>(),
    );
    let (refused, members): (Vec<_>, Vec<_>) =
        refused.into_iter().partition(|(i, _)| *i < sessions_wanted);
    let members: Vec<ObjectKey> = members
        .into_iter()
        .map(|(i, _)| candidates[i].key.clone())
        .collect();
    let refused: Vec<(ObjectKey, String, String)> = refused
        .into_iter()
        .map(|(i, why)| {
            let w = candidates[i];
            (w.key.clone(), w.source.clone(), why.0)
        })
        .collect();
    for key in members {
        desired.objects.remove(&key);
    }
    refused
        .into_iter()
        .map(|(key, source, why)| {
            desired.objects.remove(&key);
            desired.held_keys.insert(key.clone());
            desired.over_quota.insert(key.clone(), why.clone());
            Held {
                key,
                source,
                message: format!("over quota: {why}; it is created when there is room"),
                class: FailureClass::Policy,
            }
        })
        .collect()
}

/// Settings of a one-shot plan.
#[derive(Debug, Clone)]
pub struct Once {
    pub instance: String,
    pub allow_empty: bool,
    pub cleanup: CleanupRule,
    pub pool: PortPool,
}

/// What a one-shot plan starts from besides the engine: the `hostPort: auto` ports to
/// keep, the volumes' orphan clocks (both as `berth run` or the last `apply` left them in
/// the state file) and the operator's overrides. The ports and clocks are updated.
#[derive(Debug, Default)]
pub struct Memory {
    pub ports: PortAllocations,
    pub volumes: BTreeMap<String, VolumeMemory>,
    pub overrides: Overrides,
}

/// Lists the instance's containers and volumes (two calls), prepares `desired` against them
/// (ports, host fit, `berth stop`), starts the orphan clock of volumes nobody mounts any
/// more and plans, as a one-shot command does: no backoff, no TTL clock, but `RetainFor`
/// expiry from the remembered clocks.
pub async fn once<E: Engine>(
    engine: &E,
    desired: &mut DesiredSet,
    memory: &mut Memory,
    quotas: &Quotas,
    opts: &Once,
) -> Result<(Plan, Vec<Held>), EngineError> {
    let observed = engine.list(&opts.instance).await?;
    let facts = engine.host_facts().await;
    let mut held = assign_ports(desired, &observed, &mut memory.ports, opts.pool);
    held.extend(hold_misfits(desired, &facts));
    let now = SystemTime::now();
    apply_overrides(desired, &memory.overrides, None, now);
    held.extend(hold_over_quota(
        desired,
        quotas,
        &observed,
        &Runtime::default(),
        &Default::default(),
    ));
    let volumes = engine.list_volumes(&opts.instance).await?;
    let runtime = Runtime::default();
    let wanted = plan::volumes::wanted(&opts.instance, desired, &runtime);
    plan::volumes::observe(
        &mut memory.volumes,
        &wanted,
        &volumes,
        desired.incomplete || !desired.held_sources.is_empty(),
        now,
    );
    let (p, _) = plan::plan_all(
        desired,
        &observed,
        &volumes,
        &runtime,
        &memory.volumes,
        now,
        plan::Options {
            allow_empty: opts.allow_empty,
        },
        &VolumeOptions {
            instance: opts.instance.clone(),
            default_cleanup: opts.cleanup,
            max_orphans: None,
            max_orphan_bytes: None,
            allow_removal: true,
        },
    );
    Ok((p, held))
}
