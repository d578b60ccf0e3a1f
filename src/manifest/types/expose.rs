//! `expose` (an HTTP port reachable through the reverse proxy berth drives) and `idle` (stop
//! what nobody uses).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::DURATION;

/// An HTTP port of the container and where it appears in the reverse proxy (`--router`).
/// `path` and `host` may use the placeholders `{name}`, `{kind}` and `{label.KEY}` (the
/// object's own labels). At least one of them is required. The route exists while the
/// object runs (and is healthy, when it has a health check).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExposeSpec {
    /// The container port that serves HTTP.
    #[schemars(range(min = 1, max = 65535))]
    pub port: u16,
    /// A path prefix such as `/s/{name}/`: starts and ends with `/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^/"), length(max = 512))]
    pub path: Option<String>,
    /// A host name such as `{name}.sessions.example.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub host: Option<String>,
    /// Strip the path prefix before the request reaches the container (default `true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strip_prefix: Option<bool>,
}

/// When an object counts as idle and what then happens to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdleSpec {
    /// No network traffic in or out of the container for this long, e.g. `15m`.
    #[schemars(regex(pattern = DURATION))]
    pub after: String,
    /// `Stop` (default: a request to its route wakes it) or `Remove`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<IdleActionName>,
}

/// What happens to an idle object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum IdleActionName {
    /// Stop its container; the next request to its route starts it again.
    Stop,
    /// Remove its container (a Session is then gone for good).
    Remove,
}
