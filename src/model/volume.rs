//! Volumes: which volume a container mounts, what happens to it when its owner goes, and
//! what the engine reports about the instance's volumes.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::ObjectKey;

/// Which volume a mount refers to, independent of the instance name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeSource {
    /// The name in the manifest.
    pub name: String,
    /// One volume for the whole instance instead of one per object.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shared: bool,
}

impl VolumeSource {
    /// The engine volume name: `berth_<instance>_<kind>_<object>_<name>` for an object's own
    /// volume, `berth_<instance>_shared_<name>` for a shared one.
    pub fn engine_name(&self, instance: &str, owner: &ObjectKey) -> String {
        if self.shared {
            format!("berth_{instance}_shared_{}", self.name)
        } else {
            format!(
                "berth_{instance}_{}_{}_{}",
                owner.kind, owner.name, self.name
            )
        }
    }

    /// Who owns the volume: the object, or the instance when it is shared.
    pub fn owner(&self, object: &ObjectKey) -> VolumeOwner {
        if self.shared {
            VolumeOwner::Shared
        } else {
            VolumeOwner::Object(object.clone())
        }
    }
}

/// Whose a volume is: one object's own, or the instance's (shared). Written into the
/// volume's owner label as `agent/x`, `session/y` or `shared`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VolumeOwner {
    Object(ObjectKey),
    Shared,
}

impl VolumeOwner {
    /// Reads an owner label; `None` for one berth did not write.
    pub fn parse(label: &str) -> Option<VolumeOwner> {
        if label == "shared" {
            return Some(VolumeOwner::Shared);
        }
        let (kind, name) = label.split_once('/')?;
        Some(VolumeOwner::Object(ObjectKey::new(
            kind.parse().ok()?,
            name,
        )))
    }

    /// Whether `key` owns it (a shared volume is nobody's in particular).
    pub fn is(&self, key: &ObjectKey) -> bool {
        matches!(self, VolumeOwner::Object(k) if k == key)
    }
}

impl fmt::Display for VolumeOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VolumeOwner::Object(k) => write!(f, "{k}"),
            VolumeOwner::Shared => f.write_str("shared"),
        }
    }
}

impl Serialize for VolumeOwner {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A volume mounted into the container (part of the hashed spec).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeBinding {
    pub mount_path: String,
    pub source: VolumeSource,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
}

/// A host path bind-mounted into the container (part of the hashed spec).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostBinding {
    pub mount_path: String,
    pub host_path: String,
    pub read_only: bool,
}

/// What happens to a volume once no declared object uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "camelCase")]
pub enum CleanupRule {
    /// Removed when its owner is removed or expires.
    Delete,
    /// Never removed automatically.
    Retain,
    /// Removed this long after its owner is gone.
    RetainFor {
        #[serde(with = "secs")]
        after: Duration,
    },
}

impl CleanupRule {
    /// The label form: `Delete`, `Retain`, `RetainFor=7d`.
    pub fn label(&self) -> String {
        match self {
            CleanupRule::Delete => "Delete".into(),
            CleanupRule::Retain => "Retain".into(),
            CleanupRule::RetainFor { after } => {
                format!("RetainFor={}", humantime::format_duration(*after))
            }
        }
    }

    /// Parses the label form (also the `--volume-cleanup` flag).
    pub fn parse(s: &str) -> Result<CleanupRule, String> {
        match s.split_once('=') {
            None if s.eq_ignore_ascii_case("delete") => Ok(CleanupRule::Delete),
            None if s.eq_ignore_ascii_case("retain") => Ok(CleanupRule::Retain),
            Some((p, d)) if p.eq_ignore_ascii_case("retainfor") => humantime::parse_duration(d)
                .map(|after| CleanupRule::RetainFor { after })
                .map_err(|e| format!("{d:?} is not a duration: {e}")),
            _ => Err(format!(
                "{s:?} is not a cleanup policy: use Delete, Retain or RetainFor=<duration> (e.g. RetainFor=7d)"
            )),
        }
    }
}

impl fmt::Display for CleanupRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_secs(u64::deserialize(d)?))
    }
}

/// A volume a desired object needs, with its cleanup policy (not part of the spec hash:
/// changing the policy never recreates a container).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VolumeClaim {
    pub source: VolumeSource,
    /// `None`: the instance default applies.
    pub cleanup: Option<CleanupRule>,
}

/// A volume carrying this instance's label, as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedVolume {
    pub name: String,
    /// From the owner label; `None` when it is missing or unreadable.
    pub owner: Option<VolumeOwner>,
    /// The cleanup policy recorded at creation.
    pub cleanup: Option<CleanupRule>,
    /// Unix seconds, when the engine reports it.
    pub created: Option<i64>,
    /// Bytes, where the engine reports sizes.
    pub size: Option<u64>,
}

/// berth's memory of one volume (state file): when it became an orphan and the policy that
/// applied last, so the orphan clock survives restarts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMemory {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orphaned_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleanup: Option<CleanupRule>,
}

impl VolumeMemory {
    pub fn orphaned_since(&self) -> Option<SystemTime> {
        self.orphaned_ms.map(super::time_from_unix_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    #[test]
    fn names_are_per_object_unless_shared() {
        let k = ObjectKey::new(Kind::Session, "s1");
        let own = VolumeSource {
            name: "work".into(),
            shared: false,
        };
        let shared = VolumeSource {
            name: "cache".into(),
            shared: true,
        };
        assert_eq!(own.engine_name("prod", &k), "berth_prod_session_s1_work");
        assert_eq!(shared.engine_name("prod", &k), "berth_prod_shared_cache");
        assert_eq!(own.owner(&k).to_string(), "session/s1");
        assert_eq!(VolumeOwner::parse("session/s1"), Some(own.owner(&k)));
        assert_eq!(VolumeOwner::parse("shared"), Some(VolumeOwner::Shared));
        assert_eq!(VolumeOwner::parse("who?"), None);
    }

    #[test]
    fn cleanup_labels_round_trip() {
        for r in [
            CleanupRule::Delete,
            CleanupRule::Retain,
            CleanupRule::RetainFor {
                after: Duration::from_secs(7 * 86400),
            },
        ] {
            assert_eq!(CleanupRule::parse(&r.label()), Ok(r));
        }
        assert_eq!(
            CleanupRule::parse("RetainFor=7d").unwrap().label(),
            "RetainFor=7days"
        );
        assert!(CleanupRule::parse("Sometimes").is_err());
    }
}
