//! The manifest documents as users write them. The JSON Schema in `schemas/` is generated
//! from these types; doc comments become the descriptions editors show.
//!
//! - `document`: the envelope every document shares, and the Template, Agent and Session
//!   specs.
//! - `container`: the container spec those three carry.
//! - `expose`: `expose` and `idle`.
//! - `alerts`: `alerts`.
//! - `policy`: the Policy spec.

mod alerts;
mod container;
mod document;
mod expose;
mod policy;

pub use alerts::*;
pub use container::*;
pub use document::*;
pub use expose::*;
pub use policy::*;

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
