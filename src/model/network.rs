//! Which network a container joins.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The network of an object's container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// The engine's default bridge, shared with other containers.
    #[default]
    Default,
    /// A bridge network of its own (named like the container), with egress.
    Isolated,
    /// A network of its own without egress: no route out of the host.
    Internal,
    /// A bridge network of the instance (with egress) that every object naming it joins:
    /// created with the first of their containers, removed with the last.
    Shared(String),
}

impl NetworkMode {
    pub fn is_default(&self) -> bool {
        *self == NetworkMode::Default
    }

    /// Whether berth makes a network for the object: its own, or a shared one.
    pub fn is_berths(&self) -> bool {
        !self.is_default()
    }

    /// Whether the engine's network has `internal` set (no egress).
    pub fn is_internal(&self) -> bool {
        *self == NetworkMode::Internal
    }
}

impl fmt::Display for NetworkMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetworkMode::Default => f.write_str("default"),
            NetworkMode::Isolated => f.write_str("isolated"),
            NetworkMode::Internal => f.write_str("internal"),
            NetworkMode::Shared(name) => write!(f, "shared {name}"),
        }
    }
}
