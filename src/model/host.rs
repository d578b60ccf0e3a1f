//! What the engine says about its host, when it says it (`GET /info`, which a socket proxy
//! allows only with INFO=1). Without it the engine itself refuses what does not fit.

use serde::Serialize;

/// The engine host's size and where the engine keeps its data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostFacts {
    /// CPUs the engine can give a container.
    pub cpus: Option<u32>,
    /// The host's memory.
    pub memory_bytes: Option<u64>,
    /// The engine's data root (`/var/lib/docker` unless configured elsewhere).
    pub data_root: Option<String>,
    /// Whether the host confines containers with AppArmor.
    pub apparmor: Option<bool>,
}
