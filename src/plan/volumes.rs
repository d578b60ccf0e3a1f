//! Volumes: create what declared objects need; apply each orphan's cleanup policy (Delete,
//! Retain, RetainFor); keep the orphan budget. Pure, like the rest of the planner.
//!
//! Never removed: a volume some container still mounts (it is freed when the container
//! goes), one whose owner's manifest is in doubt, any volume while the desired set is empty
//! (without `--allow-empty`) or a path could not be read, and volumes of other instances
//! (they are never listed).

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Serialize;

use super::{Action, Cause, Note, Op, Verb, Wait, WaitKind};
use crate::model::{
    unix_ms, CleanupRule, DesiredSet, Kind, ObjectKey, Observed, ObservedVolume, Runtime,
    VolumeMemory, VolumeOwner,
};

/// Instance-wide volume settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeOptions {
    pub instance: String,
    /// Applies to volumes whose manifest names no cleanup policy.
    pub default_cleanup: CleanupRule,
    /// At most this many orphaned `RetainFor` volumes; the oldest go first.
    pub max_orphans: Option<usize>,
    /// At most this many bytes in orphaned `RetainFor` volumes, where the engine reports
    /// sizes; the oldest go first.
    pub max_orphan_bytes: Option<u64>,
    /// False while the desired set is empty (without `--allow-empty`) or in doubt.
    pub allow_removal: bool,
}

/// A volume some declared object needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub owner: VolumeOwner,
    pub cleanup: Option<CleanupRule>,
    pub users: Vec<ObjectKey>,
}

/// What the engine has and berth remembers, for one volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeStatus {
    pub name: String,
    pub owner: String,
    /// `InUse` (declared or mounted) or `Orphaned`.
    pub state: String,
    pub cleanup: String,
    pub orphaned_since_ms: Option<u64>,
    /// When a `RetainFor` orphan is due for removal.
    pub expires_ms: Option<u64>,
    pub size: Option<u64>,
}

/// Every volume the declared objects need, by engine name. Expired sessions need none.
pub fn wanted(instance: &str, desired: &DesiredSet, runtime: &Runtime) -> BTreeMap<String, Wanted> {
    let mut out: BTreeMap<String, Wanted> = BTreeMap::new();
    for (key, want) in &desired.objects {
        if runtime.get(key).is_some_and(|r| r.expired) {
            continue;
        }
        for claim in &want.volumes {
            let name = claim.source.engine_name(instance, key);
            let w = out.entry(name).or_insert_with(|| Wanted {
                owner: claim.source.owner(key),
                cleanup: claim.cleanup,
                users: Vec::new(),
            });
            w.users.push(key.clone());
            if w.cleanup.is_none() {
                w.cleanup = claim.cleanup;
            }
        }
    }
    out
}

/// Updates the volume memory: declared volumes carry their current policy (none when the
/// manifest names none: the instance default applies); an orphan's clock starts the first
/// time it is seen orphaned and survives restarts (state file).
pub fn observe(
    memory: &mut BTreeMap<String, VolumeMemory>,
    wanted: &BTreeMap<String, Wanted>,
    volumes: &[ObservedVolume],
    in_doubt: bool,
    now: SystemTime,
) {
    if !in_doubt {
        memory.retain(|name, _| volumes.iter().any(|v| &v.name == name));
    }
    for v in volumes {
        let m = memory.entry(v.name.clone()).or_default();
        match wanted.get(&v.name) {
            Some(w) => {
                m.orphaned_ms = None;
                m.cleanup = w.cleanup;
            }
            None => {
                m.orphaned_ms.get_or_insert(unix_ms(&now));
                if m.cleanup.is_none() {
                    m.cleanup = v.cleanup;
                }
            }
        }
    }
}

/// The volume part of a plan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VolumePlan {
    pub actions: Vec<Action>,
    pub waits: Vec<Wait>,
    pub notes: Vec<Note>,
    pub statuses: Vec<VolumeStatus>,
}

/// Plans volume creations and removals. `container_actions` is the container plan of the
/// same pass: a volume whose last user is removed in it may go in the same pass (the
/// executor removes containers before volumes).
#[allow(clippy::too_many_arguments)]
pub fn plan(
    desired: &DesiredSet,
    wanted: &BTreeMap<String, Wanted>,
    observed: &[Observed],
    volumes: &[ObservedVolume],
    memory: &BTreeMap<String, VolumeMemory>,
    container_actions: &[Action],
    now: SystemTime,
    options: &VolumeOptions,
) -> VolumePlan {
    let mut p = VolumePlan::default();
    for (name, w) in wanted {
        if !volumes.iter().any(|v| &v.name == name) {
            let users: Vec<String> = w.users.iter().map(ToString::to_string).collect();
            p.actions.push(volume_action(
                name,
                Cause::Missing,
                format!("needed by {}", users.join(", ")),
                Op::CreateVolume {
                    owner: w.owner.clone(),
                    // No label without an explicit policy: the instance default applies
                    // then, as it is when the volume becomes an orphan.
                    cleanup: w.cleanup,
                },
            ));
        }
    }

    let removed: Vec<&str> = container_actions
        .iter()
        .filter(|a| a.verb() == Verb::Remove)
        .filter_map(|a| a.target().map(|t| t.id.as_str()))
        .collect();
    let mounted = |name: &str| {
        observed
            .iter()
            .filter(|o| !removed.contains(&o.id.as_str()))
            .any(|o| o.volumes.iter().any(|v| v == name))
    };
    let mut candidates: Vec<(SystemTime, &ObservedVolume)> = Vec::new();
    for v in volumes {
        let owner = v.owner.as_ref().map_or("?".into(), ToString::to_string);
        let m = memory.get(&v.name).cloned().unwrap_or_default();
        let cleanup = m.cleanup.or(v.cleanup).unwrap_or(options.default_cleanup);
        let since = m.orphaned_since().unwrap_or(now);
        let mut status = VolumeStatus {
            name: v.name.clone(),
            owner: owner.clone(),
            state: "InUse".into(),
            cleanup: cleanup.label(),
            orphaned_since_ms: None,
            expires_ms: None,
            size: v.size,
        };
        let held = v
            .owner
            .as_ref()
            .is_some_and(|o| desired.held_keys.iter().any(|k| o.is(k)));
        if wanted.contains_key(&v.name) || held {
            p.statuses.push(status);
            continue;
        }
        if mounted(&v.name) {
            p.statuses.push(status); // freed when its container goes
            continue;
        }
        status.state = "Orphaned".into();
        status.orphaned_since_ms = Some(unix_ms(&since));
        let key = ObjectKey::new(Kind::Volume, v.name.clone());
        match cleanup {
            CleanupRule::Delete if options.allow_removal => p.actions.push(volume_action(
                &v.name,
                Cause::Gone,
                format!("owner {owner} is gone (cleanup Delete)"),
                Op::RemoveVolume {
                    owner: v.owner.clone(),
                },
            )),
            CleanupRule::RetainFor { after } => {
                let due = since + after;
                status.expires_ms = Some(unix_ms(&due));
                if !options.allow_removal {
                } else if due <= now {
                    p.actions.push(volume_action(
                        &v.name,
                        Cause::Gone,
                        format!(
                            "orphaned for {} (cleanup {})",
                            humantime::format_duration(after),
                            cleanup.label()
                        ),
                        Op::RemoveVolume {
                            owner: v.owner.clone(),
                        },
                    ));
                } else {
                    p.waits.push(Wait {
                        key,
                        kind: WaitKind::Retention,
                        until: due,
                        reason: format!("orphaned; removed at the end of {}", cleanup.label()),
                    });
                    candidates.push((since, v));
                }
            }
            CleanupRule::Delete | CleanupRule::Retain => {}
        }
        p.statuses.push(status);
    }

    // The orphan budget: oldest first, among the volumes berth may remove.
    candidates.sort_by(|a, b| (a.0, &a.1.name).cmp(&(b.0, &b.1.name)));
    let mut evict = 0;
    if let Some(max) = options.max_orphans {
        evict = candidates.len().saturating_sub(max);
    }
    if let Some(max_bytes) = options.max_orphan_bytes {
        if candidates.iter().all(|(_, v)| v.size.is_some()) {
            let mut total: u64 = candidates.iter().filter_map(|(_, v)| v.size).sum();
            let mut n = 0;
            while total > max_bytes && n < candidates.len() {
                total -= candidates[n].1.size.unwrap_or(0);
                n += 1;
            }
            evict = evict.max(n);
        }
    }
    for (_, v) in candidates.iter().take(evict) {
        p.waits.retain(|w| w.key.name != v.name);
        p.actions.push(volume_action(
            &v.name,
            Cause::Gone,
            "over the orphan budget (oldest first)".into(),
            Op::RemoveVolume {
                owner: v.owner.clone(),
            },
        ));
    }
    p
}

fn volume_action(name: &str, cause: Cause, reason: String, op: Op) -> Action {
    Action {
        key: ObjectKey::new(Kind::Volume, name.to_string()),
        cause,
        reason,
        op,
    }
}

#[cfg(test)]
#[path = "tests_volumes.rs"]
mod tests;
