//! Confinement: capabilities, and the seccomp and AppArmor profiles.

use std::collections::BTreeSet;

use super::{allowed_list, Violation};
use crate::model::Spec;
use crate::policy::rules::{Policy, Profile, Rule};
use crate::policy::{paths, seccomp};

/// Capabilities a container keeps when `capabilities.drop` does not include `ALL`: the
/// Docker engine's default set (Podman's is a subset of it).
pub const ENGINE_DEFAULT_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "NET_RAW",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

pub(super) fn check_capabilities(policy: &Policy, s: &Spec, out: &mut Vec<Violation>) {
    if policy.capabilities.contains("ALL") {
        return;
    }
    let allowed = |c: &str| policy.capabilities.contains(c);
    let refused_added: Vec<&str> = s
        .cap_add
        .iter()
        .map(String::as_str)
        .filter(|c| !allowed(c))
        .collect();
    if !refused_added.is_empty() {
        out.push(Violation::new(
            "/spec/security/capabilities/add",
            Rule::AllowedCapabilities,
            format!(
                "{} {} not allowed{}",
                refused_added.join(", "),
                if refused_added.len() == 1 {
                    "is"
                } else {
                    "are"
                },
                allowed_list(policy.capabilities.iter().map(String::as_str))
            ),
        ));
    }
    if !s.cap_drop.iter().any(|c| c == "ALL") {
        let dropped: BTreeSet<&str> = s.cap_drop.iter().map(String::as_str).collect();
        let kept: Vec<&str> = ENGINE_DEFAULT_CAPABILITIES
            .iter()
            .copied()
            .filter(|c| !dropped.contains(c) && !allowed(c) && !s.cap_add.iter().any(|a| a == c))
            .collect();
        if !kept.is_empty() {
            out.push(Violation::new(
                "/spec/security/capabilities/drop",
                Rule::AllowedCapabilities,
                format!(
                    "without ALL in capabilities.drop the engine's default capabilities stay, and {} {} not allowed{}: drop ALL and add back what is needed",
                    kept.join(", "),
                    if kept.len() == 1 { "is" } else { "are" },
                    allowed_list(policy.capabilities.iter().map(String::as_str))
                ),
            ));
        }
    }
}

pub(super) fn check_seccomp(policy: &Policy, seccomp: Option<&str>, out: &mut Vec<Violation>) {
    let Some(profile) = seccomp else { return };
    // A path is compared in its canonical form; one that has none is reported by the
    // host path rule.
    let subject = if profile.starts_with('/') {
        match paths::normalize(profile) {
            Ok(p) => p,
            Err(_) => return,
        }
    } else {
        profile.to_string()
    };
    if !profile_allowed(&policy.seccomp, profile, &subject) {
        out.push(Violation::new(
            "/spec/security/seccompProfile",
            Rule::AllowedSeccompProfiles,
            format!(
                "seccomp profile {} is not allowed{}",
                crate::model::quoted(profile),
                allowed_list(policy.seccomp.iter())
            ),
        ));
    }
}

/// A custom seccomp profile (its JSON) that confines nothing counts as `unconfined`: refused
/// unless the Policy lists `unconfined`.
pub fn check_seccomp_content(policy: &Policy, profile: &serde_json::Value) -> Option<Violation> {
    let why = seccomp::permissive(profile)?;
    if policy.seccomp.contains(&Profile::Unconfined) {
        return None;
    }
    Some(Violation::new(
        "/spec/security/seccompProfile",
        Rule::AllowedSeccompProfiles,
        format!(
            "the seccomp profile confines nothing ({why}): that is unconfined, which is not allowed{}",
            allowed_list(policy.seccomp.iter())
        ),
    ))
}

/// `default` and `unconfined` match only themselves; paths and patterns match everything
/// else (`subject`: the profile in the form entries compare, a path canonical).
pub(super) fn profile_allowed(allowed: &[Profile], written: &str, subject: &str) -> bool {
    match written {
        "default" => allowed.contains(&Profile::Default),
        "unconfined" => allowed.contains(&Profile::Unconfined),
        _ => allowed.iter().any(|a| a.allows(subject)),
    }
}
