//! Which network a container joins.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The network of an object's container.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// The engine's default bridge, shared with other containers.
    #[default]
    Default,
    /// A bridge network of its own (named like the container), with egress.
    Isolated,
    /// A network of its own without egress: no route out of the host.
    Internal,
}

impl NetworkMode {
    pub fn is_default(&self) -> bool {
        *self == NetworkMode::Default
    }

    /// Whether the object gets a network of its own.
    pub fn is_own(&self) -> bool {
        !self.is_default()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NetworkMode::Default => "default",
            NetworkMode::Isolated => "isolated",
            NetworkMode::Internal => "internal",
        }
    }
}

impl fmt::Display for NetworkMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
