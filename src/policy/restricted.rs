//! The `restricted` defaults, modelled on the Kubernetes "restricted" Pod Security profile.
//! Documented in docs/manifests.md ("Defaults"); change both together.

use std::time::Duration;

/// Memory limit when the manifest gives none.
pub const MEMORY_BYTES: u64 = 512 << 20;
/// CPU limit when the manifest gives none, in nano-CPUs: one core. On the 2-core hosts
/// berth is measured on, an unlimited busy loop takes the whole machine from its
/// neighbours; one core leaves the other for everything else (docs/security.md, "CIS").
pub const NANO_CPUS: i64 = 1_000_000_000;
/// Process limit when the manifest gives none.
pub const PIDS: i64 = 256;
/// The root filesystem is read-only unless the manifest says
/// `readOnlyRootFilesystem: false`.
pub const READ_ONLY_ROOT_FILESYSTEM: bool = true;
/// Where a read-only container gets a writable tmpfs when nothing else is mounted there.
pub const TMP_PATH: &str = "/tmp";
/// Capabilities dropped when the manifest gives no `capabilities.drop`.
pub const CAP_DROP: &[&str] = &["ALL"];
/// `no-new-privileges` unless the manifest sets `noNewPrivileges: false`.
pub const NO_NEW_PRIVILEGES: bool = true;
/// Size of a tmpfs mount that gives none.
pub const TMPFS_BYTES: u64 = 64 << 20;
/// Grace period between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// Health check defaults (closer to the kubelet's than to Docker's 30 s / 30 s).
pub const HEALTH_INTERVAL: Duration = Duration::from_secs(10);
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);
pub const HEALTH_RETRIES: u32 = 3;
pub const HEALTH_START_PERIOD: Duration = Duration::ZERO;

/// Restart backoff defaults (see docs/manifests.md for the reasoning).
pub const BACKOFF_INITIAL: Duration = Duration::from_secs(1);
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);
pub const BACKOFF_RESET_AFTER: Duration = Duration::from_secs(600);
/// Unhealthy restarts allowed per window before berth only reports.
pub const UNHEALTHY_MAX_RESTARTS: u32 = 5;
pub const UNHEALTHY_WINDOW: Duration = Duration::from_secs(600);
