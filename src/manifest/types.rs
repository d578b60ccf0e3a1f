//! The manifest documents as users write them. The JSON Schema in `schemas/` is generated
//! from these types; doc comments become the descriptions editors show.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A DNS label: lower-case letters, digits and '-', starting and ending with a letter or digit.
pub const DNS_LABEL: &str = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$";
/// A humantime duration: `30s`, `5m`, `2h`, `7d`, `1h 30m`.
pub const DURATION: &str = r"^\s*([0-9]+\s*(nsec|ns|usec|us|msec|ms|seconds|second|sec|s|minutes|minute|min|m|hours|hour|hr|h|days|day|d|weeks|week|w|months|month|M|years|year|y)\s*)+$";
/// A Kubernetes quantity: `512Mi`, `1Gi`, `1G`, `1.5Gi`.
pub const QUANTITY: &str = r"^([0-9]+(\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$";
/// An absolute path inside the container.
pub const ABSOLUTE_PATH: &str = r"^/";
/// cgroup device permissions.
pub const DEVICE_PERMISSIONS: &str = r"^(r?w?m?)$";
/// An AppArmor profile name (no whitespace).
pub const APPARMOR_PROFILE: &str = r"^[^\s]+$";

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

/// A container spec: the body of a Template and the overrides of an Agent or Session.
///
/// When an Agent or Session names a template, its own fields are merged over the template's:
/// mappings (env, labels, resources, security, health, ...) merge key by key, lists and
/// scalars replace.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerSpec {
    /// Image reference, e.g. `berth-runtime:1` or `registry.example.com/agents/runtime:1.4`.
    /// Required unless the template gives one. berth never pulls: the image must be present
    /// on the engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Replaces the image's entrypoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub command: Option<Vec<String>>,
    /// Replaces the image's default arguments (`CMD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub args: Option<Vec<String>>,
    /// Environment variables. Values are strings: quote numbers and booleans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxProperties" = 1024))]
    pub env: Option<BTreeMap<String, String>>,
    /// Working directory inside the container (absolute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = ABSOLUTE_PATH))]
    pub working_dir: Option<String>,
    /// Labels for the container. Keys starting with `berth.` are reserved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxProperties" = 1024))]
    pub labels: Option<BTreeMap<String, String>>,
    /// Resource limits. A memory and a pids limit always apply (see docs/manifests.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// Security settings. Defaults are restrictive; relaxing them is explicit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<Security>,
    /// An engine-native health check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthSpec>,
    /// What to do when the container stops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<RestartSpec>,
    /// How long a stop waits after SIGTERM before SIGKILL (default `10s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION))]
    pub stop_grace_period: Option<String>,
    /// In-memory scratch mounts with a size limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub tmpfs: Option<Vec<TmpfsMount>>,
    /// Published ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub ports: Option<Vec<PortSpec>>,
    /// Named volumes owned by berth, with a cleanup policy. Data survives a recreate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub volumes: Option<Vec<VolumeMount>>,
    /// Host directories bind-mounted into the container. Kept apart from volumes because a
    /// Policy checks them against an allowlist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub host_mounts: Option<Vec<HostMount>>,
    /// Host namespaces to join instead of private ones. Each is refused unless the Policy
    /// allows it (`allowHostNamespaces`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_namespaces: Option<HostNamespaces>,
    /// Host devices to expose. Refused unless the Policy sets `allowDevices: true` and the
    /// device lies under `allowedHostPaths`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub devices: Option<Vec<DeviceSpec>>,
    /// Namespaced kernel parameters, e.g. `net.ipv4.ip_unprivileged_port_start: "0"`. Each
    /// is refused unless the Policy lists it in `allowedSysctls`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxProperties" = 1024))]
    pub sysctls: Option<BTreeMap<String, String>>,
    /// `default` (the engine's shared bridge), `isolated` (a network of the object's own,
    /// created and removed with its container) or `internal` (the same, without egress).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkName>,
}

/// Network choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NetworkName {
    /// The engine's default bridge.
    Default,
    /// A bridge network of the object's own, with egress.
    Isolated,
    /// A network of the object's own, without egress.
    Internal,
}

/// Host namespaces a container joins (each `false` unless set).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HostNamespaces {
    /// The host's network stack (`--network host`): every host interface and port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<bool>,
    /// The host's process table (`--pid host`): sees and signals every host process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<bool>,
    /// The host's System V IPC and POSIX message queues (`--ipc host`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipc: Option<bool>,
    /// The host's hostname and domain name (`--uts host`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uts: Option<bool>,
    /// Opt out of the engine's user-namespace remapping (`--userns host`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<bool>,
}

/// A host device exposed to the container.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceSpec {
    /// The device on the host, e.g. `/dev/fuse`.
    #[schemars(regex(pattern = ABSOLUTE_PATH))]
    pub host_path: String,
    /// Where it appears in the container (default: the host path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = ABSOLUTE_PATH))]
    pub container_path: Option<String>,
    /// cgroup permissions: `r`, `w`, `m` or a combination (default `rwm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DEVICE_PERMISSIONS))]
    pub permissions: Option<String>,
}

/// A named volume mounted into the container.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VolumeMount {
    /// Name of the volume within its owner (a DNS label). Each Agent and Session gets its own
    /// volume of this name, unless `shared` is set.
    #[schemars(regex(pattern = DNS_LABEL))]
    pub name: String,
    /// Absolute path inside the container.
    #[schemars(regex(pattern = ABSOLUTE_PATH))]
    pub mount_path: String,
    /// Mount read-only (default `false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// One volume of this name for the whole instance, mounted by every object that declares
    /// it shared (default `false`: one volume per object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared: Option<bool>,
    /// What happens to the volume once no object declares it any more (default: the
    /// instance's `--volume-cleanup`, itself `Retain` unless set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleanup: Option<Cleanup>,
}

/// A volume's cleanup policy.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cleanup {
    /// `Delete`: removed when its owner is removed or expires. `Retain`: never removed
    /// automatically. `RetainFor`: removed `after` its owner is gone.
    pub policy: CleanupPolicy,
    /// With `RetainFor`: how long an orphaned volume is kept, e.g. `7d`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION))]
    pub after: Option<String>,
}

/// Cleanup policy names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum CleanupPolicy {
    Delete,
    Retain,
    RetainFor,
}

/// A host directory or file bind-mounted into the container.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HostMount {
    /// Absolute path on the host.
    #[schemars(regex(pattern = ABSOLUTE_PATH))]
    pub host_path: String,
    /// Absolute path inside the container.
    #[schemars(regex(pattern = ABSOLUTE_PATH))]
    pub mount_path: String,
    /// Mount read-only (default `true`: writing to the host is the exception).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// Resource limits.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resources {
    /// Memory limit as a Kubernetes quantity (`512Mi`, `1Gi`). Default `512Mi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = QUANTITY))]
    pub memory: Option<String>,
    /// CPU limit in cores (`0.5`, `1.5`), at least `0.01`. Default `1`; the engine's CPU
    /// weight (`CpuShares`) follows it (1000 per core).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.01, max = 1024.0))]
    pub cpus: Option<f64>,
    /// Maximum number of processes. Default `256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 4194304))]
    pub pids: Option<i64>,
}

/// Security settings. Unless relaxed here: all capabilities dropped and no-new-privileges.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Security {
    /// Mount the root filesystem read-only (default `true`, with a writable tmpfs at `/tmp`
    /// unless something else is mounted there; `false` is the explicit opt-out, which a
    /// Policy can forbid with `requireReadOnlyRootFilesystem`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_root_filesystem: Option<bool>,
    /// Forbid privilege escalation through setuid binaries (default `true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_new_privileges: Option<bool>,
    /// `uid`, `uid:gid` or a user name known to the image. Default: the image's user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Linux capabilities to drop and add (default: drop `ALL`, add none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Capabilities>,
    /// Seccomp profile: `default` (the engine's), `unconfined` (refused unless the Policy
    /// lists it) or an absolute path to a JSON profile, read by berth (the path counts as a
    /// host path for `allowedHostPaths`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp_profile: Option<String>,
    /// Run privileged: every capability, every host device, no seccomp or AppArmor
    /// confinement. Refused unless the Policy sets `allowPrivileged: true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    /// AppArmor profile: `default` (the engine's), `unconfined` (refused unless the Policy
    /// lists it) or the name of a profile loaded on the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = APPARMOR_PROFILE))]
    pub apparmor_profile: Option<String>,
}

/// Capability changes. Names are case-insensitive, with or without the `CAP_` prefix.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Capabilities {
    /// Capabilities to drop (default `[ALL]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub drop: Option<Vec<String>>,
    /// Capabilities to add back (default none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub add: Option<Vec<String>>,
}

/// An engine-native health check, run inside the container without a shell.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthSpec {
    /// Command to run; exit code 0 means healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub exec: Option<Vec<String>>,
    /// Time between checks (default `10s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION))]
    pub interval: Option<String>,
    /// How long one check may take (default `2s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION))]
    pub timeout: Option<String>,
    /// Consecutive failures before the container is unhealthy (default `3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub retries: Option<u32>,
    /// Grace time after start during which failures do not count (default `0s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION))]
    pub start_period: Option<String>,
    /// What berth does with an unhealthy container (default `restart`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_unhealthy: Option<OnUnhealthy>,
    /// At most this many unhealthy restarts within `restartWindow` (default `5`); after
    /// that the container is only reported, so a flapping check cannot cause a storm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub max_restarts: Option<u32>,
    /// The window for `maxRestarts` (default `10m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION))]
    pub restart_window: Option<String>,
}

/// Reaction to an unhealthy container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnUnhealthy {
    /// Restart it (under the restart backoff).
    Restart,
    /// Only report it.
    Ignore,
}

/// Restart behaviour, carried out by berth (the engine's own restart policy is off).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestartSpec {
    /// `Always` (default), `OnFailure` (non-zero exit only) or `Never`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<RestartPolicyName>,
    /// Delay between restarts, doubling from `initial` to `max`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
}

/// Restart policy names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum RestartPolicyName {
    Always,
    OnFailure,
    Never,
}

/// Exponential restart backoff.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Backoff {
    /// First delay (default `1s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION))]
    pub initial: Option<String>,
    /// Largest delay (default `5m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION))]
    pub max: Option<String>,
    /// Running this long without a restart resets the delay to `initial` (default `10m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION))]
    pub reset_after: Option<String>,
}

/// An in-memory filesystem.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TmpfsMount {
    /// Absolute path inside the container.
    #[schemars(regex(pattern = ABSOLUTE_PATH))]
    pub mount_path: String,
    /// Size limit as a quantity (default `64Mi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = QUANTITY))]
    pub size: Option<String>,
}

/// A published port.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortSpec {
    /// Port inside the container.
    #[schemars(range(min = 1, max = 65535))]
    pub container_port: u16,
    /// Port on the host: a number, or `auto` for one from the instance's pool
    /// (`--host-port-range`), kept across recreation and restarts. Without it the port is
    /// only exposed, not published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<HostPortSpec>,
    /// `tcp` (default) or `udp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<ProtocolName>,
    /// Host address to bind (default: all addresses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "hostIP")]
    pub host_ip: Option<String>,
}

/// A host port, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum HostPortSpec {
    /// This port.
    Number(#[schemars(range(min = 1, max = 65535))] u16),
    /// One from the pool.
    Auto(AutoKeyword),
}

/// The word `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AutoKeyword {
    Auto,
}

/// Port protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProtocolName {
    Tcp,
    Udp,
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
    #[serde(flatten)]
    pub container: ContainerSpec,
}

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
    #[serde(flatten)]
    pub container: ContainerSpec,
}

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
