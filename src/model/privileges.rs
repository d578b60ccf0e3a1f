//! What a container may do beyond the restricted baseline: privileged mode, host namespaces,
//! host devices, sysctls and an AppArmor profile. Every one of these is checked by the
//! admission policy ([`crate::policy`]) before it can reach the engine.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A namespace the container can share with the host instead of getting its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HostNamespace {
    Network,
    Pid,
    Ipc,
    Uts,
    /// Opt out of the engine's user-namespace remapping (`--userns=host`).
    User,
}

impl HostNamespace {
    pub const ALL: [HostNamespace; 5] = [
        HostNamespace::Network,
        HostNamespace::Pid,
        HostNamespace::Ipc,
        HostNamespace::Uts,
        HostNamespace::User,
    ];

    /// The manifest and policy spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            HostNamespace::Network => "network",
            HostNamespace::Pid => "pid",
            HostNamespace::Ipc => "ipc",
            HostNamespace::Uts => "uts",
            HostNamespace::User => "user",
        }
    }
}

impl fmt::Display for HostNamespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A host device exposed to the container.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub host_path: String,
    pub container_path: String,
    /// cgroup permissions: a combination of `r`, `w` and `m`.
    pub permissions: String,
}

/// Settings beyond the restricted baseline. All empty by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Privileges {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub privileged: bool,
    /// Sorted, without duplicates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host_namespaces: Vec<HostNamespace>,
    /// In manifest order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<Device>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<String, String>,
    /// `unconfined` or a profile name; `None` is the engine's default profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apparmor_profile: Option<String>,
}

impl Privileges {
    pub fn is_empty(&self) -> bool {
        *self == Privileges::default()
    }

    pub fn has_host(&self, ns: HostNamespace) -> bool {
        self.host_namespaces.contains(&ns)
    }

    /// Readable changes from `old`, in the style of [`super::Spec::changes_from`].
    pub fn changes_from(&self, old: &Privileges) -> Vec<String> {
        let mut out = Vec::new();
        if self.privileged != old.privileged {
            out.push(format!(
                "privileged {} → {}",
                old.privileged, self.privileged
            ));
        }
        if self.host_namespaces != old.host_namespaces {
            let show = |v: &[HostNamespace]| {
                format!(
                    "[{}]",
                    v.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", ")
                )
            };
            out.push(format!(
                "hostNamespaces {} → {}",
                show(&old.host_namespaces),
                show(&self.host_namespaces)
            ));
        }
        if self.devices != old.devices {
            let show = |v: &[Device]| {
                format!(
                    "[{}]",
                    v.iter()
                        .map(|d| format!("{}:{}:{}", d.host_path, d.container_path, d.permissions))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            out.push(format!(
                "devices {} → {}",
                show(&old.devices),
                show(&self.devices)
            ));
        }
        for (k, v) in &self.sysctls {
            match old.sysctls.get(k) {
                None => out.push(format!("sysctls.{k} added ({v})")),
                Some(o) if o != v => out.push(format!("sysctls.{k} {o} → {v}")),
                Some(_) => {}
            }
        }
        for k in old
            .sysctls
            .keys()
            .filter(|k| !self.sysctls.contains_key(*k))
        {
            out.push(format!("sysctls.{k} removed"));
        }
        if self.apparmor_profile != old.apparmor_profile {
            let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "default".into());
            out.push(format!(
                "apparmorProfile {} → {}",
                show(&old.apparmor_profile),
                show(&self.apparmor_profile)
            ));
        }
        out
    }
}
