//! Ownership labels. berth touches only engine objects that carry [`INSTANCE`] with its own
//! instance name.

/// The berth instance that owns the object.
pub const INSTANCE: &str = "berth.instance";
/// `agent`, `session` or `pool`.
pub const KIND: &str = "berth.kind";
/// The object's `metadata.name`.
pub const NAME: &str = "berth.name";
/// On a pool member (and on a claimed one, which stays labelled as made): the Template
/// whose pool made it. Labels cannot change on a container, so a claimed member is known
/// by its name, which the claim changed ([`crate::model::ObjectKey::container_name`]).
pub const POOL: &str = "berth.pool";
/// sha256 of the normalized spec: equal hash, nothing to do.
pub const SPEC_HASH: &str = "berth.spec-hash";
/// The normalized spec as JSON, so a recreate can say which fields changed.
pub const SPEC: &str = "berth.spec";
/// Canonical path of the manifest file that declared the object.
pub const SOURCE: &str = "berth.source";
/// On volumes: `agent/x`, `session/y` or `shared`.
pub const VOLUME_OWNER: &str = "berth.owner";
/// On volumes: the cleanup policy when the volume was created (`Delete`, `Retain`,
/// `RetainFor=7days`).
pub const VOLUME_CLEANUP: &str = "berth.cleanup";
/// Every label key under this prefix is reserved for berth.
pub const RESERVED_PREFIX: &str = "berth.";
