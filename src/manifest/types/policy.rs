//! The `spec` of a Policy document, as written (the `resolve` module compiles it).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{DURATION, QUANTITY};

/// `spec` of a Policy: the admission rules for every Agent and Session of the instance (at
/// most one Policy per instance). A field left out keeps the value of the built-in
/// `restricted` profile, so a Policy only says where it differs. See docs/security.md.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicySpec {
    /// Image patterns, e.g. `berth-runtime:*`, `registry.internal/agents/*`,
    /// `busybox@sha256:...`. Compared by registry, repository and tag or digest after
    /// normalization (`busybox` is `docker.io/library/busybox:latest`). In the repository
    /// `*` stays within one path segment and `**` crosses them; a pattern without tag or
    /// digest allows every tag and digest. `*` alone allows every image (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub allowed_images: Option<Vec<String>>,
    /// Allow `security.privileged: true` (default `false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_privileged: Option<bool>,
    /// Host namespaces a container may join: `true` (all), `false` (none, the default) or a
    /// list of `network`, `pid`, `ipc`, `uts`, `user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_host_namespaces: Option<HostNamespaceAllowance>,
    /// Host path prefixes a container may reach (devices, seccomp profile files, host
    /// mounts), matched by whole path segments after normalization. The engine socket (and
    /// any directory holding it) is refused unless the socket is listed by its exact path.
    /// Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub allowed_host_paths: Option<Vec<String>>,
    /// Capabilities a container may hold (added, or kept by not dropping `ALL`). Default
    /// `[NET_BIND_SERVICE]`; `ALL` allows every capability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub allowed_capabilities: Option<Vec<String>>,
    /// Seccomp profiles: `default`, `unconfined`, or patterns of profile paths. Default
    /// `[default, "*"]`: every profile but `unconfined`, which a pattern never matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub allowed_seccomp_profiles: Option<Vec<String>>,
    /// AppArmor profiles: `default`, `unconfined`, or patterns of profile names. Default
    /// `[default, "*"]`: every profile but `unconfined`, which a pattern never matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub allowed_apparmor_profiles: Option<Vec<String>>,
    /// Allow `devices` (default `false`); each device must also lie under
    /// `allowedHostPaths`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_devices: Option<bool>,
    /// Sysctls a container may set: exact names or patterns such as `net.ipv4.ping_*`.
    /// Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub allowed_sysctls: Option<Vec<String>>,
    /// Upper bounds for `resources` (each field left out keeps the built-in profile's). A
    /// container without a CPU limit exceeds any `cpus` bound; memory and pids always have a
    /// value (the defaults apply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_resources: Option<MaxResources>,
    /// Require `security.readOnlyRootFilesystem: true` (default `false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_read_only_root_filesystem: Option<bool>,
    /// Require `security.user` with a numeric uid other than 0 (default `false`; a user
    /// name cannot be checked without the image, so it is refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_non_root: Option<bool>,
    /// Allow `security.noNewPrivileges: false`, i.e. gaining privileges through setuid
    /// binaries (default `false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_privilege_escalation: Option<bool>,
    /// The longest `ttl` a Session may have (default `30d`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION))]
    pub max_ttl: Option<String>,
    /// The longest `stopGracePeriod` a container may have (default `5m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION))]
    pub max_stop_grace_period: Option<String>,
    /// At most this many Sessions at once in the instance (default: no limit). Counted:
    /// every declared Session that is not past its TTL. A Session beyond it is held (phase
    /// `OverQuota`, nothing created) until there is room; one that already has a container
    /// is never reaped by a quota. See docs/api.md.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1000000))]
    pub max_sessions: Option<u32>,
    /// At most this many Sessions per value of a label, e.g. `{ user: 3 }`: three for each
    /// user. Sessions without the label are not counted for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub max_sessions_per: Option<std::collections::BTreeMap<String, u32>>,
    /// At most this many Sessions made from a template, by template name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub max_sessions_per_template: Option<std::collections::BTreeMap<String, u32>>,
    /// Alert rules for every object (an object's own or its template's replace them rule
    /// by rule). See docs/monitoring.md.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<super::AlertsSpec>,
}

/// Which host namespaces a Policy allows.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum HostNamespaceAllowance {
    /// `true`: all of them; `false`: none.
    All(bool),
    /// These ones.
    Some(Vec<HostNamespaceName>),
}

/// Host namespace names.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum HostNamespaceName {
    Network,
    Pid,
    Ipc,
    Uts,
    User,
}

/// Upper bounds for container resources.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MaxResources {
    /// Largest memory limit, as a quantity (`4Gi`; default `16Gi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = QUANTITY))]
    pub memory: Option<String>,
    /// Largest CPU limit, in cores (default `4`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.01, max = 1024.0))]
    pub cpus: Option<f64>,
    /// Largest pids limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 4194304))]
    pub pids: Option<i64>,
}
