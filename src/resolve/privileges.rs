//! The settings beyond the restricted baseline (privileged, host namespaces, devices,
//! sysctls, AppArmor): per-document checks and their normalized form. Whether they are
//! allowed is the Policy's business ([`super::admission`]).

use std::collections::HashMap;

use crate::manifest::diagnostic::Diagnostic;
use crate::manifest::load::Document;
use crate::manifest::types::ContainerSpec;
use crate::manifest::types::NetworkName;
use crate::model::{Device, HostNamespace, NetworkMode, Privileges};

/// Checks that need only the document: sysctl names, device paths.
pub(super) fn check(d: &Document, c: &ContainerSpec) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for name in c.sysctls.iter().flatten().map(|(k, _)| k) {
        if !valid_sysctl(name) {
            out.push(d.error_at(
                &format!("/spec/sysctls/{}", name.replace('~', "~0").replace('/', "~1")),
                format!("{name:?} is not a sysctl name: write it dotted, e.g. net.ipv4.ping_group_range"),
            ));
        }
    }
    let mut seen = HashMap::new();
    for (i, dev) in c.devices.iter().flatten().enumerate() {
        let target = dev.container_path.as_deref().unwrap_or(&dev.host_path);
        if let Some(prev) = seen.insert(target.to_string(), i) {
            out.push(d.error_at(
                &format!("/spec/devices/{i}"),
                format!("{target:?} is already used by spec.devices[{prev}]"),
            ));
        }
    }
    let host_net = c
        .host_namespaces
        .as_ref()
        .and_then(|h| h.network)
        .unwrap_or(false);
    if let Some(NetworkName::Shared(name)) = &c.network {
        if !valid_shared_network(name) {
            out.push(d.error_at(
                "/spec/network/shared",
                format!("{name:?} is not a shared network name: 1 to 32 lowercase letters, digits and '-', starting and ending with a letter or digit"),
            ));
        }
    }
    if host_net
        && c.network
            .as_ref()
            .is_some_and(|n| *n != NetworkName::Default)
    {
        out.push(d.error_at(
            "/spec/network",
            "a container on the host network (hostNamespaces.network) cannot have a network of its own".into(),
        ));
    }
    if host_net && c.ports.as_ref().is_some_and(|p| !p.is_empty()) {
        out.push(d.error_at(
            "/spec/ports",
            "ports cannot be published with the host network (hostNamespaces.network): the container binds host ports directly".into(),
        ));
    }
    out
}

/// A shared network's name: it ends up in the engine's network name after the instance, so
/// no `_` (which separates the parts of berth's names) and nothing a path or a label would
/// mind.
fn valid_shared_network(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

fn valid_sysctl(name: &str) -> bool {
    let mut parts = name.split('.');
    let first = parts.next().unwrap_or_default();
    !first.is_empty()
        && first
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.contains('.')
        && parts.all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        })
}

/// The network of the object's container.
pub(super) fn network(c: &ContainerSpec) -> NetworkMode {
    match &c.network {
        None | Some(NetworkName::Default) => NetworkMode::Default,
        Some(NetworkName::Isolated) => NetworkMode::Isolated,
        Some(NetworkName::Internal) => NetworkMode::Internal,
        Some(NetworkName::Shared(name)) => NetworkMode::Shared(name.clone()),
    }
}

/// The normalized form that goes into [`crate::model::Spec`].
pub(super) fn normalize(c: &ContainerSpec) -> Privileges {
    let s = c.security.clone().unwrap_or_default();
    let mut host_namespaces = Vec::new();
    if let Some(h) = &c.host_namespaces {
        for (on, ns) in [
            (h.network, HostNamespace::Network),
            (h.pid, HostNamespace::Pid),
            (h.ipc, HostNamespace::Ipc),
            (h.uts, HostNamespace::Uts),
            (h.user, HostNamespace::User),
        ] {
            if on == Some(true) {
                host_namespaces.push(ns);
            }
        }
    }
    host_namespaces.sort();
    Privileges {
        privileged: s.privileged.unwrap_or(false),
        host_namespaces,
        devices: c
            .devices
            .iter()
            .flatten()
            .map(|d| Device {
                host_path: d.host_path.clone(),
                container_path: d
                    .container_path
                    .clone()
                    .unwrap_or_else(|| d.host_path.clone()),
                permissions: d
                    .permissions
                    .clone()
                    .filter(|p| !p.is_empty())
                    .unwrap_or_else(|| "rwm".into()),
            })
            .collect(),
        sysctls: c.sysctls.clone().unwrap_or_default(),
        apparmor_profile: s.apparmor_profile.filter(|p| p != "default"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sysctl_names() {
        for ok in [
            "net.ipv4.ping_group_range",
            "kernel.shm_rmid_forced",
            "net.ipv4.conf.eth0-1.forwarding",
        ] {
            assert!(super::valid_sysctl(ok), "{ok}");
        }
        for bad in [
            "net/ipv4/ip_forward",
            "kernel",
            "",
            "net..x",
            "Net.x",
            "net.x y",
        ] {
            assert!(!super::valid_sysctl(bad), "{bad}");
        }
    }

    #[test]
    fn shared_network_names() {
        for ok in ["backend", "a", "team-7", &"x".repeat(32)] {
            assert!(super::valid_shared_network(ok), "{ok}");
        }
        for bad in ["", "Back", "a_b", "-a", "a-", "a.b", "a/b", &"x".repeat(33)] {
            assert!(!super::valid_shared_network(bad), "{bad}");
        }
    }
}
