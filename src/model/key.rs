use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The kinds of object that own a container. In JSON lower-case, as in labels, container
/// names and `berth get` (the capitalized forms of older output are still read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    #[serde(alias = "Agent")]
    Agent,
    #[serde(alias = "Session")]
    Session,
    /// A warm container of a Template's `pool`, waiting to be claimed by a Session; its
    /// key's name is `<template>-<slot>`.
    #[serde(alias = "Pool")]
    Pool,
    /// A berth-owned volume; its key's name is the engine volume name.
    #[serde(alias = "Volume")]
    Volume,
}

impl Kind {
    /// Lower-case form used in container names and labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Agent => "agent",
            Kind::Session => "session",
            Kind::Pool => "pool",
            Kind::Volume => "volume",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "agent" => Ok(Kind::Agent),
            "session" => Ok(Kind::Session),
            "pool" => Ok(Kind::Pool),
            "volume" => Ok(Kind::Volume),
            other => Err(format!("unknown kind {other:?}")),
        }
    }
}

/// Identifies one object of an instance: its kind and its name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjectKey {
    pub kind: Kind,
    pub name: String,
}

impl ObjectKey {
    pub fn new(kind: Kind, name: impl Into<String>) -> Self {
        ObjectKey {
            kind,
            name: name.into(),
        }
    }

    /// The engine container name for this object in `instance`.
    ///
    /// Instance and object names are DNS labels (no `_`), so the underscore separator keeps
    /// names unique across instances: `berth_<instance>_<kind>_<name>`.
    pub fn container_name(&self, instance: &str) -> String {
        format!("berth_{instance}_{}_{}", self.kind, self.name)
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

impl FromStr for ObjectKey {
    type Err = String;
    /// `kind/name`, as [`fmt::Display`] writes it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, name) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not kind/name"))?;
        if name.is_empty() || name.contains('/') {
            return Err(format!("{s:?} is not kind/name"));
        }
        Ok(ObjectKey::new(kind.parse()?, name))
    }
}
