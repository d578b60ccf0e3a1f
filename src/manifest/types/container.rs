//! The container spec: the body of a Template and the overrides of an Agent or Session.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ABSOLUTE_PATH, APPARMOR_PROFILE, DEVICE_PERMISSIONS, DNS_LABEL, DURATION, QUANTITY};

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
    /// created and removed with its container), `internal` (the same, without egress) or
    /// `{ shared: NAME }` (a bridge network of the instance that every object naming it
    /// joins, created with the first of their containers and removed with the last).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkName>,
    /// An HTTP port reachable through the reverse proxy (`berth run --router`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose: Option<super::ExposeSpec>,
    /// When berth reports its resource use or restarts as an alert (log, `/status`,
    /// metrics, `--alert-webhook`), e.g. `{ memory: { above: 90%, for: 1m } }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<super::AlertsSpec>,
}

/// Network choices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NetworkName {
    /// The engine's default bridge.
    Default,
    /// A bridge network of the object's own, with egress.
    Isolated,
    /// A network of the object's own, without egress.
    Internal,
    /// A bridge network of the instance, with egress, shared by every object that names it:
    /// 1 to 32 lowercase letters, digits and `-` (checked by berth, which says why).
    Shared(String),
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
