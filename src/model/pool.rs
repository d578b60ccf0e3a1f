//! Warm pools: how a Session relates to its Template's pool, and how pool members are named.
//!
//! A pool member is a container made from the Template alone (key `pool/<template>-<slot>`,
//! container `berth_<instance>_pool_<template>-<slot>`). A Session claims one by renaming
//! it to the Session's own container name: the engine renames atomically and names are
//! unique, so the name alone says whose a container is, and it is the only thing a claim
//! changes (labels cannot change on a container).

use serde::Serialize;

use super::{Kind, ObjectKey};

/// Whether a Session can take a warm container of its Template's pool.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "fit", rename_all = "camelCase")]
pub enum PoolFit {
    /// Not a Session, or its Template has no pool.
    #[default]
    NoPool,
    /// Its container would be the pool's exactly (its labels aside): it may claim a member.
    Fits { template: String },
    /// Its Template has a pool, but the Session sets something a running container cannot
    /// be given: it is created cold, and `describe` says why.
    Cold { template: String, reason: String },
}

impl PoolFit {
    /// What `describe` says of it, when its template has a pool.
    pub fn describe(&self) -> Option<String> {
        match self {
            PoolFit::NoPool => None,
            PoolFit::Fits { template } => Some(format!("claims from the pool of {template}")),
            PoolFit::Cold { template, reason } => {
                Some(format!("not from the pool of {template}: {reason}"))
            }
        }
    }
}

/// The key of slot `slot` of `template`'s pool.
pub fn member_key(template: &str, slot: usize) -> ObjectKey {
    ObjectKey::new(Kind::Pool, format!("{template}-{slot}"))
}

/// Who a container labelled as a member of a pool is, from its name: still the member its
/// labels name, or the Session that claimed it. `None` for any other name.
pub fn owner_of(instance: &str, labelled: &str, container_name: &str) -> Option<ObjectKey> {
    let member = ObjectKey::new(Kind::Pool, labelled);
    if container_name == member.container_name(instance) {
        return Some(member);
    }
    let session = container_name.strip_prefix(&format!("berth_{instance}_session_"))?;
    (!session.is_empty() && !session.contains('_')).then(|| ObjectKey::new(Kind::Session, session))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_is_known_by_its_name() {
        assert_eq!(
            owner_of("i", "web-0", "berth_i_pool_web-0"),
            Some(member_key("web", 0))
        );
        assert_eq!(
            owner_of("i", "web-0", "berth_i_session_s1"),
            Some(ObjectKey::new(Kind::Session, "s1"))
        );
        assert_eq!(owner_of("i", "web-0", "berth_i_agent_a"), None);
        assert_eq!(owner_of("i", "web-0", "berth_j_pool_web-0"), None);
        assert_eq!(owner_of("i", "web-0", "berth_i_session_"), None);
    }
}
