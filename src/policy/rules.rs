//! A Policy document compiled into rules: patterns parsed, paths normalized, quantities in
//! bytes. [`Policy::restricted`] is the built-in profile that applies when the manifests
//! declare no Policy; a Policy document starts from it and replaces the rules it sets.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use super::image::ImagePattern;
use super::{capabilities, paths};
use crate::manifest::types::{HostNamespaceAllowance, HostNamespaceName, PolicySpec};
use crate::model::{format_bytes, parse_quantity, HostNamespace};

/// The name of the built-in profile.
pub const RESTRICTED: &str = "restricted";

/// The rules of a Policy, one per field of its `spec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    AllowedImages,
    AllowPrivileged,
    AllowHostNamespaces,
    AllowedHostPaths,
    AllowedCapabilities,
    AllowedSeccompProfiles,
    AllowedApparmorProfiles,
    AllowDevices,
    AllowedSysctls,
    MaxResources,
    RequireReadOnlyRootFilesystem,
    RequireNonRoot,
    AllowPrivilegeEscalation,
    MaxTtl,
    MaxStopGracePeriod,
}

impl Rule {
    pub const ALL: [Rule; 15] = [
        Rule::AllowedImages,
        Rule::AllowPrivileged,
        Rule::AllowHostNamespaces,
        Rule::AllowedHostPaths,
        Rule::AllowedCapabilities,
        Rule::AllowedSeccompProfiles,
        Rule::AllowedApparmorProfiles,
        Rule::AllowDevices,
        Rule::AllowedSysctls,
        Rule::MaxResources,
        Rule::RequireReadOnlyRootFilesystem,
        Rule::RequireNonRoot,
        Rule::AllowPrivilegeEscalation,
        Rule::MaxTtl,
        Rule::MaxStopGracePeriod,
    ];

    /// The field of the Policy spec that holds the rule.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::AllowedImages => "allowedImages",
            Rule::AllowPrivileged => "allowPrivileged",
            Rule::AllowHostNamespaces => "allowHostNamespaces",
            Rule::AllowedHostPaths => "allowedHostPaths",
            Rule::AllowedCapabilities => "allowedCapabilities",
            Rule::AllowedSeccompProfiles => "allowedSeccompProfiles",
            Rule::AllowedApparmorProfiles => "allowedApparmorProfiles",
            Rule::AllowDevices => "allowDevices",
            Rule::AllowedSysctls => "allowedSysctls",
            Rule::MaxResources => "maxResources",
            Rule::RequireReadOnlyRootFilesystem => "requireReadOnlyRootFilesystem",
            Rule::RequireNonRoot => "requireNonRoot",
            Rule::AllowPrivilegeEscalation => "allowPrivilegeEscalation",
            Rule::MaxTtl => "maxTtl",
            Rule::MaxStopGracePeriod => "maxStopGracePeriod",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A compiled Policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// `metadata.name`, or [`RESTRICTED`] for the built-in profile.
    pub name: String,
    /// True for the built-in profile (no Policy document).
    pub builtin: bool,
    pub images: Vec<ImagePattern>,
    pub allow_privileged: bool,
    pub host_namespaces: BTreeSet<HostNamespace>,
    /// Canonical path prefixes.
    pub host_paths: Vec<String>,
    /// Canonical capability names; may hold `ALL`.
    pub capabilities: BTreeSet<String>,
    /// `default`, `unconfined` or patterns.
    pub seccomp: Vec<String>,
    /// `default`, `unconfined` or patterns.
    pub apparmor: Vec<String>,
    pub allow_devices: bool,
    /// Names or patterns.
    pub sysctls: Vec<String>,
    pub max_memory_bytes: Option<u64>,
    pub max_nano_cpus: Option<i64>,
    pub max_pids: Option<i64>,
    pub require_read_only_root_filesystem: bool,
    pub require_non_root: bool,
    pub allow_privilege_escalation: bool,
    /// The longest Session `ttl`.
    pub max_ttl: Duration,
    /// The longest `stopGracePeriod`.
    pub max_stop_grace: Duration,
}

/// The memory cap of the built-in profile: a container needs a `--policy` to go beyond it.
pub const RESTRICTED_MAX_MEMORY: u64 = 16 << 30;
/// The CPU cap of the built-in profile, in nano-CPUs (four cores).
pub const RESTRICTED_MAX_NANO_CPUS: i64 = 4_000_000_000;
/// The longest Session lifetime under the built-in profile.
pub const RESTRICTED_MAX_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// The longest stop grace period under the built-in profile.
pub const RESTRICTED_MAX_STOP_GRACE: Duration = Duration::from_secs(300);

impl Policy {
    /// The built-in `restricted` profile, modelled on the Kubernetes "restricted" Pod
    /// Security Standard. Documented in docs/security.md; change both together.
    pub fn restricted() -> Policy {
        Policy {
            name: RESTRICTED.into(),
            builtin: true,
            images: vec![ImagePattern::Any],
            allow_privileged: false,
            host_namespaces: BTreeSet::new(),
            host_paths: Vec::new(),
            capabilities: BTreeSet::from(["NET_BIND_SERVICE".to_string()]),
            seccomp: vec!["default".into(), "*".into()],
            apparmor: vec!["default".into(), "*".into()],
            allow_devices: false,
            sysctls: Vec::new(),
            max_memory_bytes: Some(RESTRICTED_MAX_MEMORY),
            max_nano_cpus: Some(RESTRICTED_MAX_NANO_CPUS),
            max_pids: None,
            require_read_only_root_filesystem: false,
            require_non_root: false,
            allow_privilege_escalation: false,
            max_ttl: RESTRICTED_MAX_TTL,
            max_stop_grace: RESTRICTED_MAX_STOP_GRACE,
        }
    }

    /// How messages name the policy: `Policy "default"` or `built-in profile "restricted"`.
    pub fn describe(&self) -> String {
        if self.builtin {
            format!("built-in profile {:?}", self.name)
        } else {
            format!("Policy {:?}", self.name)
        }
    }
}

/// A field of a Policy document that does not compile: (JSON pointer, message).
pub type CompileError = (String, String);

/// Compiles a Policy document. Every error is reported, each at its field.
pub fn compile(name: &str, spec: &PolicySpec) -> Result<Policy, Vec<CompileError>> {
    let mut p = Policy {
        name: name.to_string(),
        builtin: false,
        ..Policy::restricted()
    };
    let mut errors: Vec<CompileError> = Vec::new();
    if let Some(list) = &spec.allowed_images {
        p.images.clear();
        for (i, text) in list.iter().enumerate() {
            match ImagePattern::parse(text) {
                Ok(pat) => p.images.push(pat),
                Err(e) => errors.push((format!("/spec/allowedImages/{i}"), e.to_string())),
            }
        }
    }
    if let Some(b) = spec.allow_privileged {
        p.allow_privileged = b;
    }
    if let Some(a) = &spec.allow_host_namespaces {
        p.host_namespaces = match a {
            HostNamespaceAllowance::All(true) => HostNamespace::ALL.into_iter().collect(),
            HostNamespaceAllowance::All(false) => BTreeSet::new(),
            HostNamespaceAllowance::Some(list) => list
                .iter()
                .map(|n| match n {
                    HostNamespaceName::Network => HostNamespace::Network,
                    HostNamespaceName::Pid => HostNamespace::Pid,
                    HostNamespaceName::Ipc => HostNamespace::Ipc,
                    HostNamespaceName::Uts => HostNamespace::Uts,
                    HostNamespaceName::User => HostNamespace::User,
                })
                .collect(),
        };
    }
    if let Some(list) = &spec.allowed_host_paths {
        p.host_paths.clear();
        for (i, text) in list.iter().enumerate() {
            match paths::normalize(text) {
                Ok(n) => p.host_paths.push(n),
                Err(e) => errors.push((format!("/spec/allowedHostPaths/{i}"), e.to_string())),
            }
        }
    }
    if let Some(list) = &spec.allowed_capabilities {
        p.capabilities.clear();
        for (i, text) in list.iter().enumerate() {
            match capabilities::normalize(text) {
                Some(c) => {
                    p.capabilities.insert(c);
                }
                None => errors.push((
                    format!("/spec/allowedCapabilities/{i}"),
                    format!("unknown capability {text:?}"),
                )),
            }
        }
    }
    if let Some(list) = &spec.allowed_seccomp_profiles {
        p.seccomp = profile_list(list, "/spec/allowedSeccompProfiles", &mut errors);
    }
    if let Some(list) = &spec.allowed_apparmor_profiles {
        p.apparmor = profile_list(list, "/spec/allowedApparmorProfiles", &mut errors);
    }
    if let Some(b) = spec.allow_devices {
        p.allow_devices = b;
    }
    if let Some(list) = &spec.allowed_sysctls {
        p.sysctls.clear();
        for (i, text) in list.iter().enumerate() {
            if text.is_empty() || text.contains(char::is_whitespace) || text.contains('/') {
                errors.push((
                    format!("/spec/allowedSysctls/{i}"),
                    format!("{text:?} is not a sysctl name or pattern (dotted, such as net.ipv4.ping_group_range or net.ipv4.*)"),
                ));
            } else {
                p.sysctls.push(text.clone());
            }
        }
    }
    if let Some(m) = &spec.max_resources {
        if let Some(q) = &m.memory {
            match parse_quantity(q) {
                Ok(b) => p.max_memory_bytes = Some(b),
                Err(e) => errors.push(("/spec/maxResources/memory".into(), e.to_string())),
            }
        }
        if let Some(c) = m.cpus {
            p.max_nano_cpus = Some((c * 1e9).round() as i64);
        }
        if m.pids.is_some() {
            p.max_pids = m.pids;
        }
    }
    for (pointer, text, slot) in [
        ("/spec/maxTtl", &spec.max_ttl, &mut p.max_ttl),
        (
            "/spec/maxStopGracePeriod",
            &spec.max_stop_grace_period,
            &mut p.max_stop_grace,
        ),
    ] {
        if let Some(t) = text {
            match humantime::parse_duration(t) {
                Ok(d) if d > Duration::ZERO => *slot = d,
                Ok(_) => errors.push((pointer.into(), "must be longer than zero".into())),
                Err(e) => errors.push((pointer.into(), format!("not a duration: {e}"))),
            }
        }
    }
    if let Some(b) = spec.require_read_only_root_filesystem {
        p.require_read_only_root_filesystem = b;
    }
    if let Some(b) = spec.require_non_root {
        p.require_non_root = b;
    }
    if let Some(b) = spec.allow_privilege_escalation {
        p.allow_privilege_escalation = b;
    }
    if errors.is_empty() {
        Ok(p)
    } else {
        Err(errors)
    }
}

fn profile_list(list: &[String], pointer: &str, errors: &mut Vec<CompileError>) -> Vec<String> {
    let mut out = Vec::new();
    for (i, text) in list.iter().enumerate() {
        if text.is_empty() || text.contains(char::is_whitespace) {
            errors.push((
                format!("{pointer}/{i}"),
                format!("{text:?} is not a profile name, path or pattern"),
            ));
        } else {
            out.push(text.clone());
        }
    }
    out
}

/// `512Mi`-style text for a byte count (for messages).
pub(crate) fn bytes(n: u64) -> String {
    format_bytes(n)
}
