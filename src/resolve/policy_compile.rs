//! A Policy document → the rules of a [`Policy`]: image patterns parsed, host paths
//! normalized, capability names canonical, quantities in bytes. Every field that does not
//! compile is reported at its JSON pointer.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::manifest::types::{HostNamespaceAllowance, HostNamespaceName, PolicySpec};
use crate::model::{parse_quantity, HostNamespace};
use crate::policy::glob::Pattern;
use crate::policy::image::ImagePattern;
use crate::policy::rules::Profile;
use crate::policy::{capabilities, paths, Policy};

/// A field of a Policy document that does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pointer}: {message}")]
pub struct CompileError {
    /// JSON pointer of the field, e.g. `/spec/allowedHostPaths/0`.
    pub pointer: String,
    pub message: String,
}

impl CompileError {
    fn at(pointer: impl Into<String>, message: impl Into<String>) -> CompileError {
        CompileError {
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

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
                Err(e) => errors.push(CompileError::at(
                    format!("/spec/allowedImages/{i}"),
                    e.to_string(),
                )),
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
                Err(e) => errors.push(CompileError::at(
                    format!("/spec/allowedHostPaths/{i}"),
                    e.to_string(),
                )),
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
                None => errors.push(CompileError::at(
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
            let pointer = format!("/spec/allowedSysctls/{i}");
            if text.is_empty() || text.contains(char::is_whitespace) || text.contains('/') {
                let why = "is not a sysctl name or pattern (dotted, such as net.ipv4.ping_group_range or net.ipv4.*)";
                errors.push(CompileError::at(pointer, format!("{text:?} {why}")));
            } else {
                match Pattern::plain(text) {
                    Ok(pat) => p.sysctls.push(pat),
                    Err(e) => errors.push(CompileError::at(pointer, e.to_string())),
                }
            }
        }
    }
    if let Some(m) = &spec.max_resources {
        if let Some(q) = &m.memory {
            match parse_quantity(q) {
                Ok(b) => p.max_memory_bytes = Some(b),
                Err(e) => errors.push(CompileError::at("/spec/maxResources/memory", e.to_string())),
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
                Ok(_) => errors.push(CompileError::at(pointer, "must be longer than zero")),
                Err(e) => errors.push(CompileError::at(pointer, format!("not a duration: {e}"))),
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
    p.quotas.max_sessions = spec.max_sessions;
    for (key, max) in spec.max_sessions_per.iter().flatten() {
        if key.is_empty() || key.contains(|c: char| c.is_whitespace() || c == '=' || c == ',') {
            errors.push(CompileError::at(
                format!(
                    "/spec/maxSessionsPer/{}",
                    key.replace('~', "~0").replace('/', "~1")
                ),
                format!("{key:?} is not a label key"),
            ));
        } else {
            p.quotas.per_label.insert(key.clone(), *max);
        }
    }
    match super::alerts::rules_of(spec.alerts.as_ref(), "/spec/alerts") {
        Ok(rules) => p.alerts = rules,
        Err((pointer, message)) => errors.push(CompileError::at(pointer, message)),
    }
    if let Some(m) = &spec.max_sessions_per_template {
        p.quotas.per_template = m.clone();
    }
    if errors.is_empty() {
        Ok(p)
    } else {
        Err(errors)
    }
}

fn profile_list(list: &[String], pointer: &str, errors: &mut Vec<CompileError>) -> Vec<Profile> {
    let mut out = Vec::new();
    for (i, text) in list.iter().enumerate() {
        let pointer = format!("{pointer}/{i}");
        if text.is_empty() || text.contains(char::is_whitespace) {
            let why = "is not a profile name, path or pattern";
            errors.push(CompileError::at(pointer, format!("{text:?} {why}")));
        } else {
            match Profile::parse(text) {
                Ok(profile) => out.push(profile),
                Err(e) => errors.push(CompileError::at(pointer, e.to_string())),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::policy::tests::policies;

    /// A Policy compiled from YAML-like JSON.
    fn policy(json: serde_json::Value) -> Policy {
        let spec: PolicySpec = serde_json::from_value(json).expect("policy spec");
        compile("test", &spec).expect("compiles")
    }

    /// (the matrix's name for it, the Policy as the matrix builds it, its document).
    type Case = (&'static str, fn() -> Policy, serde_json::Value);

    /// The escape matrix (`policy/tests.rs`) builds its policies directly: each is exactly
    /// what its document compiles to.
    #[test]
    fn the_escape_matrix_policies_are_what_their_documents_compile_to() {
        let cases: [Case; 10] = [
            (
                "root_ok",
                policies::root_ok,
                json!({ "allowedHostPaths": ["/"], "allowDevices": true }),
            ),
            (
                "srv_ok",
                policies::srv_ok,
                json!({ "allowedHostPaths": ["/srv/agents"] }),
            ),
            (
                "run_ok",
                policies::run_ok,
                json!({ "allowedHostPaths": ["/run", "/var/lib", "/home", "/etc"] }),
            ),
            (
                "socket_listed",
                policies::socket_listed,
                json!({ "allowedHostPaths": ["/srv", "/var/run/docker.sock"] }),
            ),
            (
                "strict",
                policies::strict,
                json!({
                    "allowedImages": ["berth-runtime:1", "registry.internal/agents/*"],
                    "requireNonRoot": true,
                    "requireReadOnlyRootFilesystem": true,
                    "maxResources": { "memory": "1Gi", "cpus": 2, "pids": 512 },
                    "maxTtl": "8h",
                    "maxStopGracePeriod": "30s",
                }),
            ),
            (
                "ns_network",
                policies::ns_network,
                json!({ "allowHostNamespaces": ["network"] }),
            ),
            (
                "sysctl_v4",
                policies::sysctl_v4,
                json!({ "allowedSysctls": ["net.ipv4.*"] }),
            ),
            (
                "apparmor_default",
                policies::apparmor_default,
                json!({ "allowedApparmorProfiles": ["default"] }),
            ),
            (
                "unconfined_ok",
                policies::unconfined_ok,
                json!({
                    "allowedSeccompProfiles": ["default", "unconfined"],
                    "allowedApparmorProfiles": ["default", "unconfined"],
                }),
            ),
            (
                "relaxed",
                policies::relaxed,
                json!({
                    "allowedImages": ["berth-runtime:*", "registry.internal/agents/*"],
                    "allowPrivileged": true,
                    "allowHostNamespaces": ["network", "pid"],
                    "allowedHostPaths": ["/srv/agents", "/dev/fuse", "/var/run/docker.sock", "/etc/berth/seccomp"],
                    "allowedCapabilities": ["NET_BIND_SERVICE", "NET_ADMIN"],
                    "allowedSeccompProfiles": ["default", "unconfined", "/etc/berth/seccomp/*.json"],
                    "allowedApparmorProfiles": ["default", "unconfined"],
                    "allowDevices": true,
                    "allowedSysctls": ["net.ipv4.ping_group_range", "net.core.*"],
                    "maxResources": { "memory": "1Gi", "cpus": 2, "pids": 512 },
                    "requireNonRoot": true,
                    "requireReadOnlyRootFilesystem": true,
                    "allowPrivilegeEscalation": true,
                }),
            ),
        ];
        for (name, built, document) in cases {
            assert_eq!(built(), policy(document), "{name}");
        }
        for allowed in [
            &["*"][..],
            &["berth-runtime:*"],
            &["docker.io/library/*"],
            &["**"],
        ] {
            assert_eq!(
                policies::allowing_images(allowed),
                policy(json!({ "allowedImages": allowed })),
                "{allowed:?}"
            );
        }
    }

    #[test]
    fn a_policy_document_starts_from_the_restricted_profile() {
        let p = policy(
            serde_json::json!({ "allowedImages": ["berth-runtime:*"], "maxResources": { "cpus": 2 } }),
        );
        let r = Policy::restricted();
        assert!(!p.builtin);
        assert_eq!(p.capabilities, r.capabilities);
        assert_eq!(p.host_paths, r.host_paths);
        assert!(!p.allow_privileged && !p.allow_devices && !p.allow_privilege_escalation);
        assert_eq!(p.images.len(), 1);
        assert_eq!(
            p.max_memory_bytes, r.max_memory_bytes,
            "a cap left out keeps the built-in one"
        );
        assert_eq!(p.max_ttl, r.max_ttl);
    }

    #[test]
    fn policy_fields_that_do_not_compile_are_each_reported() {
        let spec: PolicySpec = serde_json::from_value(serde_json::json!({
            "allowedImages": ["Bad Image", "sha256:abc"],
            "allowedHostPaths": ["relative", "/ok", "/a/../b"],
            "allowedCapabilities": ["SYS_ADMINN"],
            "allowedSysctls": ["net/ipv4/ip_forward"],
            "maxResources": { "memory": "1m" },
            "maxTtl": "0s",
            "maxStopGracePeriod": "soon",
        }))
        .unwrap();
        let errs = compile("p", &spec).unwrap_err();
        let pointers: Vec<&str> = errs.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/spec/allowedImages/0",
                "/spec/allowedImages/1",
                "/spec/allowedHostPaths/0",
                "/spec/allowedHostPaths/2",
                "/spec/allowedCapabilities/0",
                "/spec/allowedSysctls/0",
                "/spec/maxResources/memory",
                "/spec/maxTtl",
                "/spec/maxStopGracePeriod",
            ]
        );
    }
}
