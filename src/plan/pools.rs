//! Claims: which ready pool members a Session without a container may take, each at most
//! once per plan. A member is ready when it runs its template's current spec and is healthy
//! (or has no check); the oldest goes first.

use std::collections::HashMap;

use crate::model::{
    DesiredContainer, DesiredSet, Health, Kind, ObjectKey, Observed, PoolFit, RunState,
};

use super::{action::target, Action, Cause, Op};

/// The ready members of each pool, oldest last (taken from the end).
pub(super) struct Claimable<'a> {
    by_template: HashMap<&'a str, Vec<&'a Observed>>,
}

impl<'a> Claimable<'a> {
    pub(super) fn new(desired: &DesiredSet, observed: &'a [Observed]) -> Self {
        let mut by_template: HashMap<&str, Vec<&Observed>> = HashMap::new();
        for o in observed {
            let (Some(key), Some(template)) = (&o.key, &o.pool) else {
                continue;
            };
            let current = desired
                .objects
                .get(key)
                .is_some_and(|w| w.hash.as_str() == o.spec_hash.as_deref().unwrap_or(""));
            let healthy = matches!(o.health, None | Some(Health::Healthy));
            if key.kind == Kind::Pool && current && healthy && o.state == RunState::Running {
                by_template.entry(template).or_default().push(o);
            }
        }
        for members in by_template.values_mut() {
            members.sort_by_key(|o| (std::cmp::Reverse(o.created), o.name.clone()));
        }
        Claimable { by_template }
    }

    /// A ready member of `template`'s pool, never the same one twice.
    fn take(&mut self, template: &str) -> Option<&'a Observed> {
        self.by_template.get_mut(template)?.pop()
    }

    /// The claim of a ready member for `want`, a Session without a container, when it fits
    /// its template's pool and is not kept stopped.
    pub(super) fn claim_for(&mut self, want: &DesiredContainer) -> Option<Action> {
        let PoolFit::Fits { template } = &want.pool else {
            return None;
        };
        if want.keep_stopped() {
            return None;
        }
        let m = self.take(template)?;
        Some(Action {
            key: want.key.clone(),
            cause: Cause::Missing,
            reason: format!("not on the engine: claims {} from the pool", m.name),
            op: Op::Claim {
                member: target(m),
                from: m.key.clone()?,
                desired: Box::new(want.clone()),
            },
        })
    }
}

/// Creates for the members `claimed` took (their slots are free now): what a one-shot
/// `apply` runs after its claims, where `berth run` would simply plan again.
pub fn refill<'a>(
    desired: &DesiredSet,
    claimed: impl IntoIterator<Item = &'a ObjectKey>,
) -> Vec<Action> {
    claimed
        .into_iter()
        .filter_map(|k| desired.objects.get(k))
        .map(|w| Action {
            key: w.key.clone(),
            cause: Cause::Missing,
            reason: "refills the pool after a claim".into(),
            op: Op::Create {
                desired: Box::new(w.clone()),
            },
        })
        .collect()
}

/// Why a container whose object is no longer declared goes. A pool member has no manifest
/// of its own: it goes because the pool is smaller now (or gone), or the quotas leave its
/// slot no room.
pub(super) fn gone_reason(key: &ObjectKey) -> String {
    match key.kind {
        Kind::Pool => "beyond its pool: the pool's size, or the quotas, leave no room".into(),
        _ => "manifest gone".into(),
    }
}
