//! The document envelope (`apiVersion`, `kind`, `metadata`) and the `spec` of each kind
//! that declares a container.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ContainerSpec, DNS_LABEL, DURATION};

/// The fields shared by every document.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metadata {
    /// Unique per kind within an instance; a DNS label (at most 63 characters).
    #[schemars(regex(pattern = DNS_LABEL))]
    pub name: String,
    /// Free-form labels for the object; they are also put on its container. Keys starting
    /// with `berth.` are reserved.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 1024))]
    pub labels: BTreeMap<String, String>,
}

/// `spec` of a Template: a reusable container spec.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct TemplateSpec {
    /// The `env` keys a Session from a `--sessions` directory may set (default: any). Env
    /// values set in trusted manifests are not limited by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub session_env: Option<Vec<String>>,
    /// Keep `size` containers of this template made and started, for Sessions that name it
    /// to claim instead of starting their own (docs/pools.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<PoolSpec>,
    #[serde(flatten)]
    pub container: ContainerSpec,
}

/// `pool` of a Template: warm containers waiting to be claimed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct PoolSpec {
    /// How many ready members to keep (0 to 100; 0 drains the pool).
    #[schemars(range(max = 100))]
    pub size: u32,
}

/// The largest pool a Template may keep.
pub const MAX_POOL_SIZE: u32 = 100;

/// `spec` of an Agent: an always-on container.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct AgentSpec {
    /// Name of a Template whose spec this one overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DNS_LABEL))]
    pub template: Option<String>,
    /// `Running` (default) or `Stopped`: flipping it stops or starts the container without
    /// recreating it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<AgentState>,
    /// Stop (or remove) the container when it has had no network traffic for a while.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle: Option<super::IdleSpec>,
    #[serde(flatten)]
    pub container: ContainerSpec,
}

/// The state an Agent should be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum AgentState {
    Running,
    Stopped,
}

/// `spec` of a Session: an ephemeral container with a time to live.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct SessionSpec {
    /// Name of a Template whose spec this one overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DNS_LABEL))]
    pub template: Option<String>,
    /// Lifetime counted from the first start, e.g. `2h`.
    #[schemars(regex(pattern = DURATION))]
    pub ttl: String,
    /// Stop (or remove) the container when it has had no network traffic for a while.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle: Option<super::IdleSpec>,
    #[serde(flatten)]
    pub container: ContainerSpec,
}

/// The document kinds.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum DocumentKind {
    Template,
    Agent,
    Session,
    Policy,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 4] = [
        DocumentKind::Template,
        DocumentKind::Agent,
        DocumentKind::Session,
        DocumentKind::Policy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Template => "Template",
            DocumentKind::Agent => "Agent",
            DocumentKind::Session => "Session",
            DocumentKind::Policy => "Policy",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The part of a document every kind shares; `spec` is read per kind.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub api_version: String,
    pub kind: DocumentKind,
    pub metadata: Metadata,
    pub spec: serde_json::Value,
}

/// The only apiVersion this release reads.
pub const API_VERSION: &str = "berth/v1";
