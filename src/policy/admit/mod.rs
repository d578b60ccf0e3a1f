//! Admission: one container spec against one Policy → every rule it breaks, each at the
//! manifest field that breaks it. Pure: the caller turns violations into diagnostics.

mod confinement;
mod host_paths;

use std::time::Duration;

use super::image;
use super::rules::{Policy, Rule};
use crate::model::{format_bytes, Spec};
use confinement::{check_capabilities, check_seccomp, profile_allowed};
pub use confinement::{check_seccomp_content, ENGINE_DEFAULT_CAPABILITIES};
pub use host_paths::check_host_paths;

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

fn human(d: Duration) -> String {
    humantime::format_duration(d).to_string()
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
