//! Admission: one container spec against one Policy → every rule it breaks, each at the
//! manifest field that breaks it. Pure: the caller turns violations into diagnostics.

use std::collections::BTreeSet;

use std::time::Duration;

use super::rules::{Policy, Profile, Rule};
use super::{image, paths, seccomp};
use crate::model::{format_bytes, Spec};

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

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation {
    /// JSON pointer of the offending manifest field, e.g. `/spec/security/privileged`.
    pub pointer: String,
    pub rule: Rule,
    /// What is asked and what the policy allows (without the rule name).
    pub message: String,
}

impl Violation {
    fn new(pointer: impl Into<String>, rule: Rule, message: String) -> Self {
        Violation {
            pointer: pointer.into(),
            rule,
            message,
        }
    }
}

/// What admission looks at for one container.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The normalized spec: exactly what would be sent to the engine.
    pub spec: &'a Spec,
    /// `security.seccompProfile` as written (`default`, `unconfined` or a path): the
    /// normalized spec holds the profile's content, not its path.
    pub seccomp: Option<&'a str>,
    /// Every host path the container would reach, as (JSON pointer, path): bind mounts,
    /// device nodes, the seccomp profile file.
    pub host_paths: Vec<(String, String)>,
    /// A Session's lifetime.
    pub ttl: Option<Duration>,
}

/// Checks `request` against `policy`; empty when it is admitted.
pub fn admit(policy: &Policy, request: &Request<'_>) -> Vec<Violation> {
    let s = request.spec;
    let p = &s.privileges;
    let mut out = Vec::new();

    check_image(policy, &s.image, &mut out);

    if p.privileged && !policy.allow_privileged {
        out.push(Violation::new(
            "/spec/security/privileged",
            Rule::AllowPrivileged,
            "a privileged container (every capability and device, no confinement) is not allowed"
                .into(),
        ));
    }
    for ns in &p.host_namespaces {
        if !policy.host_namespaces.contains(ns) {
            out.push(Violation::new(
                format!("/spec/hostNamespaces/{}", ns.as_str()),
                Rule::AllowHostNamespaces,
                format!(
                    "the host's {} namespace is not allowed{}",
                    ns.as_str(),
                    allowed_list(policy.host_namespaces.iter().map(|n| n.as_str()))
                ),
            ));
        }
    }
    out.extend(check_host_paths(policy, &request.host_paths));
    check_capabilities(policy, s, &mut out);
    check_seccomp(policy, request.seccomp, &mut out);
    if let Some(profile) = &p.apparmor_profile {
        if !profile_allowed(&policy.apparmor, profile, profile) {
            out.push(Violation::new(
                "/spec/security/apparmorProfile",
                Rule::AllowedApparmorProfiles,
                format!(
                    "AppArmor profile {} is not allowed{}",
                    crate::model::quoted(profile),
                    allowed_list(policy.apparmor.iter())
                ),
            ));
        }
    }
    if !policy.allow_devices {
        for (i, d) in p.devices.iter().enumerate() {
            out.push(Violation::new(
                format!("/spec/devices/{i}"),
                Rule::AllowDevices,
                format!(
                    "host device {} is not allowed",
                    crate::model::shorten(&d.host_path, 80)
                ),
            ));
        }
    }
    for name in p.sysctls.keys() {
        if !policy.sysctls.iter().any(|pat| pat.matches(name)) {
            out.push(Violation::new(
                format!("/spec/sysctls/{}", escape(name)),
                Rule::AllowedSysctls,
                format!(
                    "sysctl {} is not allowed{}",
                    crate::model::shorten(name, 80),
                    allowed_list(policy.sysctls.iter())
                ),
            ));
        }
    }
    check_resources(policy, s, &mut out);
    if policy.require_read_only_root_filesystem && !s.read_only_root_filesystem {
        out.push(Violation::new(
            "/spec/security/readOnlyRootFilesystem",
            Rule::RequireReadOnlyRootFilesystem,
            "the root filesystem must be read-only: set security.readOnlyRootFilesystem: true (and tmpfs for scratch space)".into(),
        ));
    }
    if policy.require_non_root {
        if let Some(why) = root_user(s.user.as_deref()) {
            out.push(Violation::new(
                "/spec/security/user",
                Rule::RequireNonRoot,
                why,
            ));
        }
    }
    if let Some(ttl) = request.ttl {
        if ttl > policy.max_ttl {
            out.push(Violation::new(
                "/spec/ttl",
                Rule::MaxTtl,
                format!(
                    "ttl {} is longer than the maximum of {}",
                    human(ttl),
                    human(policy.max_ttl)
                ),
            ));
        }
    }
    let grace = Duration::from_secs(s.stop_grace_period_secs);
    if grace > policy.max_stop_grace {
        out.push(Violation::new(
            "/spec/stopGracePeriod",
            Rule::MaxStopGracePeriod,
            format!(
                "stopGracePeriod {} is longer than the maximum of {}",
                human(grace),
                human(policy.max_stop_grace)
            ),
        ));
    }
    if !s.no_new_privileges && !policy.allow_privilege_escalation {
        out.push(Violation::new(
            "/spec/security/noNewPrivileges",
            Rule::AllowPrivilegeEscalation,
            "privilege escalation through setuid binaries is not allowed: leave noNewPrivileges at true".into(),
        ));
    }
    out.sort();
    out.dedup();
    out
}

/// Checks host paths against `allowedHostPaths`: each must lie under an allowed prefix, and
/// one that is, contains or lies inside an engine socket (or the engine's data root) must
/// be listed exactly. Takes (JSON pointer, host path) pairs.
pub fn check_host_paths(policy: &Policy, host_paths: &[(String, String)]) -> Vec<Violation> {
    let mut out = Vec::new();
    for (pointer, raw) in host_paths {
        let path = match paths::normalize(raw) {
            Ok(p) => p,
            Err(e) => {
                out.push(Violation::new(
                    pointer.clone(),
                    Rule::AllowedHostPaths,
                    format!("host path {e}"),
                ));
                continue;
            }
        };
        let raw_shown = crate::model::shorten(raw, 80);
        let shown = if path == *raw {
            format!("host path {raw_shown}")
        } else {
            format!(
                "host path {raw_shown} (that is {})",
                crate::model::shorten(&path, 80)
            )
        };
        let kernel = paths::kernel_paths(&path);
        if !kernel.is_empty() {
            let what: Vec<&str> = kernel.iter().map(|e| e.what).collect();
            out.push(Violation::new(
                pointer.clone(),
                Rule::AllowedHostPaths,
                format!(
                    "{shown} reaches {}: never allowed, whatever allowedHostPaths says",
                    what.join(" and ")
                ),
            ));
            continue;
        }
        // An engine path is allowed only by listing it exactly (for a directory above it,
        // the socket inside that directory; for a path below the data root, that path).
        let engine: Vec<&paths::TableEntry> = paths::engine_paths(&path)
            .into_iter()
            .filter(|e| {
                let socket_listed = policy
                    .host_paths
                    .iter()
                    .any(|a| e.is(a) && (paths::is_under(a, &path) || paths::is_under(&path, a)));
                let below_and_listed = path.matches('/').count() > e.path.matches('/').count()
                    && policy.host_paths.contains(&path);
                !(socket_listed || below_and_listed)
            })
            .collect();
        if !engine.is_empty() {
            let what: Vec<String> = engine
                .iter()
                .map(|e| format!("{} {}", e.what, e.path))
                .collect();
            out.push(Violation::new(
                pointer.clone(),
                Rule::AllowedHostPaths,
                format!(
                    "{shown} reaches the container engine ({}), which is root on the host; it is allowed only when listed by its exact path",
                    crate::model::shorten(&what.join(", "), 200)
                ),
            ));
            continue;
        }
        if !policy.host_paths.iter().any(|a| paths::is_under(&path, a)) {
            out.push(Violation::new(
                pointer.clone(),
                Rule::AllowedHostPaths,
                format!(
                    "{shown} is not under an allowed prefix{}",
                    allowed_list(policy.host_paths.iter().map(String::as_str))
                ),
            ));
        }
    }
    out
}

fn check_image(policy: &Policy, reference: &str, out: &mut Vec<Violation>) {
    if policy.images.contains(&image::ImagePattern::Any) {
        return;
    }
    let shown = crate::model::quoted(reference);
    if let Some(hex) = image::as_image_id(reference) {
        if !policy.images.iter().any(|p| p.allows_id(hex)) {
            out.push(Violation::new(
                "/spec/image",
                Rule::AllowedImages,
                format!(
                    "image {shown} names an image by its ID (or may: the engine looks a bare hexadecimal name up as an ID), and allowedImages lists no such ID: write the name with a tag (NAME:TAG), or list the full ID as sha256:<64 hex digits>"
                ),
            ));
        }
        return;
    }
    let msg = match image::parse(reference) {
        Err(e) => e.to_string(),
        Ok(img) if policy.images.iter().any(|p| p.allows(&img)) => return,
        Ok(img) => format!(
            "image {shown} (that is {}) is not allowed{}",
            crate::model::shorten(&img.to_string(), 80),
            allowed_list(policy.images.iter().map(|p| p.to_string()))
        ),
    };
    out.push(Violation::new("/spec/image", Rule::AllowedImages, msg));
}

fn check_capabilities(policy: &Policy, s: &Spec, out: &mut Vec<Violation>) {
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

fn check_seccomp(policy: &Policy, seccomp: Option<&str>, out: &mut Vec<Violation>) {
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

fn human(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// `default` and `unconfined` match only themselves; paths and patterns match everything
/// else (`subject`: the profile in the form entries compare, a path canonical).
fn profile_allowed(allowed: &[Profile], written: &str, subject: &str) -> bool {
    match written {
        "default" => allowed.contains(&Profile::Default),
        "unconfined" => allowed.contains(&Profile::Unconfined),
        _ => allowed.iter().any(|a| a.allows(subject)),
    }
}

fn check_resources(policy: &Policy, s: &Spec, out: &mut Vec<Violation>) {
    if let Some(max) = policy.max_memory_bytes {
        if s.memory_bytes > max {
            out.push(Violation::new(
                "/spec/resources/memory",
                Rule::MaxResources,
                format!(
                    "memory {} is over the maximum of {}",
                    format_bytes(s.memory_bytes),
                    format_bytes(max)
                ),
            ));
        }
    }
    if let Some(max) = policy.max_nano_cpus {
        let cores = |n: i64| format!("{}", n as f64 / 1e9);
        match s.nano_cpus {
            None => out.push(Violation::new(
                "/spec/resources/cpus",
                Rule::MaxResources,
                format!(
                    "no CPU limit is set, and the maximum is {}: set resources.cpus",
                    cores(max)
                ),
            )),
            Some(n) if n > max => out.push(Violation::new(
                "/spec/resources/cpus",
                Rule::MaxResources,
                format!("cpus {} is over the maximum of {}", cores(n), cores(max)),
            )),
            Some(_) => {}
        }
    }
    if let Some(max) = policy.max_pids {
        if s.pids_limit > max {
            out.push(Violation::new(
                "/spec/resources/pids",
                Rule::MaxResources,
                format!("pids {} is over the maximum of {max}", s.pids_limit),
            ));
        }
    }
}

/// Why `user` may run as root, or `None` when it is a numeric uid other than 0.
fn root_user(user: Option<&str>) -> Option<String> {
    let Some(u) = user else {
        return Some(
            "no user is set, so the image's user runs (often root): set security.user to a numeric uid other than 0, e.g. \"1000:1000\"".into(),
        );
    };
    let uid = u.split(':').next().unwrap_or_default();
    match uid.parse::<u64>() {
        Ok(0) => Some(format!("user {u:?} is root (uid 0)")),
        Ok(_) => None,
        Err(_) => Some(format!(
            "user {u:?} is a name, which may be root in the image; give a numeric uid other than 0"
        )),
    }
}

fn allowed_list<S: std::fmt::Display>(items: impl Iterator<Item = S>) -> String {
    let v: Vec<String> = items.map(|s| s.to_string()).collect();
    if v.is_empty() {
        " (the policy allows none)".into()
    } else {
        format!(" (allowed: {})", v.join(", "))
    }
}

fn escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}
