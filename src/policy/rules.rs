//! The rules of a Policy: patterns parsed, paths normalized, quantities in bytes (a Policy
//! document becomes one in `resolve::policy_compile`). [`Policy::restricted`] is the
//! built-in profile that applies when no `--policy` is given; a Policy document starts from
//! it and replaces the rules it sets.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use super::glob::{is_pattern, Pattern, PatternError};
use super::image::ImagePattern;
use super::paths;
use crate::model::HostNamespace;

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

/// A compiled Policy: every pattern in it is compiled once, here.
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
    /// `default`, `unconfined`, paths or patterns of paths.
    pub seccomp: Vec<Profile>,
    /// `default`, `unconfined`, names or patterns.
    pub apparmor: Vec<Profile>,
    pub allow_devices: bool,
    /// Names or patterns.
    pub sysctls: Vec<Pattern>,
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
    /// How many Sessions may run at once.
    pub quotas: super::Quotas,
    /// Alert rules for every object (its own replace them rule by rule).
    pub alerts: crate::model::AlertRules,
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
            seccomp: vec![Profile::Default, Profile::Pattern(Pattern::any())],
            apparmor: vec![Profile::Default, Profile::Pattern(Pattern::any())],
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
            quotas: super::Quotas::default(),
            alerts: Default::default(),
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

/// An entry of `allowedSeccompProfiles` or `allowedApparmorProfiles`. `default` and
/// `unconfined` allow only themselves; a path or pattern allows every other profile it
/// matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Profile {
    /// The engine's own profile.
    Default,
    /// No confinement.
    Unconfined,
    /// An absolute path without wildcards, compared in its canonical form.
    Path { written: String, canonical: String },
    /// A name, or a pattern of names or paths.
    Pattern(Pattern),
}

impl Profile {
    /// The entry written as `text`.
    pub fn parse(text: &str) -> Result<Profile, PatternError> {
        Ok(match text {
            "default" => Profile::Default,
            "unconfined" => Profile::Unconfined,
            _ if text.starts_with('/') && !is_pattern(text) => Profile::Path {
                written: text.to_string(),
                canonical: paths::normalize(text).unwrap_or_else(|_| text.to_string()),
            },
            _ => Profile::Pattern(Pattern::plain(text)?),
        })
    }

    /// Whether a profile other than `default` and `unconfined` (a path in its canonical
    /// form, or a name) is allowed by this entry.
    pub fn allows(&self, subject: &str) -> bool {
        match self {
            Profile::Default | Profile::Unconfined => false,
            Profile::Path { canonical, .. } => canonical == subject,
            Profile::Pattern(p) => p.matches(subject),
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Profile::Default => f.write_str("default"),
            Profile::Unconfined => f.write_str("unconfined"),
            Profile::Path { written, .. } => f.write_str(written),
            Profile::Pattern(p) => write!(f, "{p}"),
        }
    }
}
