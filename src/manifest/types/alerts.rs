//! `alerts`: when berth reports an object's resource use or restarts (docs/monitoring.md).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::DURATION;

/// A percentage such as `90%` (of the container's limit).
pub const PERCENT: &str = r"^[0-9]{1,3}(\.[0-9]+)?%$";

/// Alert rules. In a Template, an Agent or a trusted Session, and as defaults for every
/// object in the Policy; each rule an object sets replaces the Policy's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertsSpec {
    /// Memory working set above this share of the memory limit for a while.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<ThresholdSpec>,
    /// CPU above this share of the CPU limit (of one core without one) for a while.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<ThresholdSpec>,
    /// More restarts by berth (crash or unhealthy) than `above` within `within`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarts: Option<RestartAlertSpec>,
}

/// `{ above: 90%, for: 1m }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThresholdSpec {
    /// A percentage of the limit, e.g. `90%`.
    #[schemars(regex(pattern = PERCENT))]
    pub above: String,
    /// How long it must hold before the alert fires (default `0s`: at the first reading).
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION))]
    pub for_: Option<String>,
}

/// `{ above: 5, within: 10m }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestartAlertSpec {
    #[schemars(range(min = 0, max = 100000))]
    pub above: u32,
    #[schemars(regex(pattern = DURATION))]
    pub within: String,
}
