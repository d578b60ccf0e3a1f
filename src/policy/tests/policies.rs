//! The policies of the escape matrix, built directly. Each stands for a Policy document:
//! `resolve::policy_compile`'s tests hold the documents and check that each compiles to
//! exactly the Policy here.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::model::HostNamespace;
use crate::policy::glob::Pattern;
use crate::policy::image::ImagePattern;
use crate::policy::rules::Profile;
use crate::policy::Policy;

/// A Policy document's rules before its fields: the built-in profile under another name.
fn custom() -> Policy {
    Policy {
        name: "test".into(),
        builtin: false,
        ..Policy::restricted()
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn profiles(items: &[&str]) -> Vec<Profile> {
    items
        .iter()
        .map(|p| Profile::parse(p).expect("profile"))
        .collect()
}

fn sysctls(items: &[&str]) -> Vec<Pattern> {
    items
        .iter()
        .map(|p| Pattern::plain(p).expect("sysctl pattern"))
        .collect()
}

fn images(patterns: &[&str]) -> Vec<ImagePattern> {
    patterns
        .iter()
        .map(|p| ImagePattern::parse(p).expect("image pattern"))
        .collect()
}

pub(crate) fn restricted() -> Policy {
    Policy::restricted()
}
pub(crate) fn root_ok() -> Policy {
    Policy {
        host_paths: strings(&["/"]),
        allow_devices: true,
        ..custom()
    }
}
pub(crate) fn srv_ok() -> Policy {
    Policy {
        host_paths: strings(&["/srv/agents"]),
        ..custom()
    }
}
pub(crate) fn run_ok() -> Policy {
    Policy {
        host_paths: strings(&["/run", "/var/lib", "/home", "/etc"]),
        ..custom()
    }
}
pub(crate) fn socket_listed() -> Policy {
    Policy {
        host_paths: strings(&["/srv", "/run/docker.sock"]),
        ..custom()
    }
}
pub(crate) fn strict() -> Policy {
    Policy {
        images: images(&["berth-runtime:1", "registry.internal/agents/*"]),
        require_non_root: true,
        require_read_only_root_filesystem: true,
        max_memory_bytes: Some(1 << 30),
        max_nano_cpus: Some(2_000_000_000),
        max_pids: Some(512),
        max_ttl: Duration::from_secs(8 * 3600),
        max_stop_grace: Duration::from_secs(30),
        ..custom()
    }
}
pub(crate) fn ns_network() -> Policy {
    Policy {
        host_namespaces: BTreeSet::from([HostNamespace::Network]),
        ..custom()
    }
}
pub(crate) fn sysctl_v4() -> Policy {
    Policy {
        sysctls: sysctls(&["net.ipv4.*"]),
        ..custom()
    }
}
pub(crate) fn apparmor_default() -> Policy {
    Policy {
        apparmor: profiles(&["default"]),
        ..custom()
    }
}
pub(crate) fn unconfined_ok() -> Policy {
    Policy {
        seccomp: profiles(&["default", "unconfined"]),
        apparmor: profiles(&["default", "unconfined"]),
        ..custom()
    }
}
pub(crate) fn relaxed() -> Policy {
    Policy {
        images: images(&["berth-runtime:*", "registry.internal/agents/*"]),
        allow_privileged: true,
        host_namespaces: BTreeSet::from([HostNamespace::Network, HostNamespace::Pid]),
        host_paths: strings(&[
            "/srv/agents",
            "/dev/fuse",
            "/run/docker.sock",
            "/etc/berth/seccomp",
        ]),
        capabilities: BTreeSet::from(["NET_BIND_SERVICE".to_string(), "NET_ADMIN".to_string()]),
        seccomp: profiles(&["default", "unconfined", "/etc/berth/seccomp/*.json"]),
        apparmor: profiles(&["default", "unconfined"]),
        allow_devices: true,
        sysctls: sysctls(&["net.ipv4.ping_group_range", "net.core.*"]),
        max_memory_bytes: Some(1 << 30),
        max_nano_cpus: Some(2_000_000_000),
        max_pids: Some(512),
        require_non_root: true,
        require_read_only_root_filesystem: true,
        allow_privilege_escalation: true,
        ..custom()
    }
}

pub(crate) fn allowing_images(allowed: &[&str]) -> Policy {
    Policy {
        images: images(allowed),
        ..custom()
    }
}
