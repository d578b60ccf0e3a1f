//! Checks that need only the document itself: values parse and lie within bounds the engine
//! (or berth's own clocks) can honour, names are known, nothing reserved is used. Errors
//! point where the value is written and show at most a short prefix of it.

use std::collections::HashMap;
use std::time::Duration;

use crate::manifest::diagnostic::Diagnostic;
use crate::manifest::load::{Body, Document};
use crate::manifest::types::{CleanupPolicy, ContainerSpec, HostPortSpec, ProtocolName};
use crate::model::{format_bytes, labels, parse_quantity, quoted};
use crate::policy::capabilities;

/// The engine refuses memory limits under 6 MiB; 0 would mean "no limit".
pub const MIN_MEMORY: u64 = 6 << 20;
/// The longest duration any field takes: clocks beyond it overflow, and no backoff,
/// window or retention needs more.
pub const MAX_DURATION: Duration = Duration::from_secs(10 * 366 * 24 * 3600);
/// The engine's shortest health check interval and timeout.
const MIN_HEALTH_DURATION: Duration = Duration::from_millis(1);

/// Every problem of one document that needs no other document.
pub(super) fn check_document(d: &Document) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for key in d.metadata.labels.keys() {
        reserved(&mut out, d, "/metadata/labels", key);
    }
    if let Body::Session(s) = &d.body {
        if let Some(ttl) = duration(&mut out, d, "/spec/ttl", Some(&s.ttl)) {
            if ttl.is_zero() {
                out.push(d.error_at(
                    "/spec/ttl",
                    "a session's ttl must be longer than zero".into(),
                ));
            }
        }
    }
    if let Body::Template(t) = &d.body {
        super::pool::check_template(&mut out, d, t);
    }
    let c = match &d.body {
        Body::Template(t) => &t.container,
        Body::Agent(a) => &a.container,
        Body::Session(s) => &s.container,
        Body::Policy(_) => return out,
    };
    container(&mut out, d, c);
    out.extend(super::privileges::check(d, c));
    out
}

fn container(out: &mut Vec<Diagnostic>, d: &Document, c: &ContainerSpec) {
    for (k, _) in c.env.iter().flatten() {
        if k.is_empty() || k.contains('=') {
            out.push(d.error_at(
                &format!("/spec/env/{}", esc(k)),
                "environment variable names must be non-empty and contain no '='".into(),
            ));
        }
    }
    for key in c.labels.iter().flatten().map(|(k, _)| k) {
        reserved(out, d, "/spec/labels", key);
    }
    if let Some(r) = &c.resources {
        quantity_min(
            out,
            d,
            "/spec/resources/memory",
            r.memory.as_deref(),
            MIN_MEMORY,
        );
    }
    if let Some(s) = &c.security {
        if let Some(caps) = &s.capabilities {
            for (field, list) in [("drop", &caps.drop), ("add", &caps.add)] {
                for (i, name) in list.iter().flatten().enumerate() {
                    if capabilities::normalize(name).is_none() {
                        out.push(d.error_at(
                            &format!("/spec/security/capabilities/{field}/{i}"),
                            format!("unknown capability {}", quoted(name)),
                        ));
                    }
                }
            }
        }
        if let Some(p) = &s.seccomp_profile {
            if p != "default" && p != "unconfined" && !p.starts_with('/') {
                out.push(
                    d.error_at(
                        "/spec/security/seccompProfile",
                        "must be \"default\", \"unconfined\" or an absolute path to a JSON profile"
                            .into(),
                    ),
                );
            }
        }
        if let Some(u) = &s.user {
            if !valid_user(u) {
                out.push(d.error_at(
                    "/spec/security/user",
                    format!(
                        "{} is not a user: write a uid, uid:gid or a user name (letters, digits, '_', '.', '-')",
                        quoted(u)
                    ),
                ));
            }
        }
    }
    if let Some(h) = &c.health {
        for (pointer, v) in [
            ("/spec/health/interval", &h.interval),
            ("/spec/health/timeout", &h.timeout),
        ] {
            if let Some(t) = duration(out, d, pointer, v.as_deref()) {
                if t < MIN_HEALTH_DURATION {
                    out.push(d.error_at(pointer, "must be at least 1ms".into()));
                }
            }
        }
        duration(
            out,
            d,
            "/spec/health/startPeriod",
            h.start_period.as_deref(),
        );
        duration(
            out,
            d,
            "/spec/health/restartWindow",
            h.restart_window.as_deref(),
        );
    }
    if let Some(b) = c.restart.as_ref().and_then(|r| r.backoff.as_ref()) {
        duration(
            out,
            d,
            "/spec/restart/backoff/initial",
            b.initial.as_deref(),
        );
        duration(out, d, "/spec/restart/backoff/max", b.max.as_deref());
        duration(
            out,
            d,
            "/spec/restart/backoff/resetAfter",
            b.reset_after.as_deref(),
        );
    }
    duration(
        out,
        d,
        "/spec/stopGracePeriod",
        c.stop_grace_period.as_deref(),
    );
    mounts(out, d, c);
    ports(out, d, c);
}

fn mounts(out: &mut Vec<Diagnostic>, d: &Document, c: &ContainerSpec) {
    let mut mounts: HashMap<String, String> = HashMap::new();
    let mut target = |out: &mut Vec<Diagnostic>, pointer: String, path: &str| {
        let norm = container_path(path);
        if norm == "/" {
            out.push(d.error_at(&pointer, "cannot mount over the root directory /".into()));
        } else if let Some(prev) = mounts.insert(norm, pointer.clone()) {
            out.push(d.error_at(
                &pointer,
                format!(
                    "{} is already mounted by {}",
                    quoted(path),
                    crate::manifest::yaml::pointer_to_path(&prev)
                ),
            ));
        }
    };
    for (i, t) in c.tmpfs.iter().flatten().enumerate() {
        quantity_min(
            out,
            d,
            &format!("/spec/tmpfs/{i}/size"),
            t.size.as_deref(),
            1,
        );
        target(out, format!("/spec/tmpfs/{i}/mountPath"), &t.mount_path);
    }
    let mut names = HashMap::new();
    for (i, v) in c.volumes.iter().flatten().enumerate() {
        let at = |f: &str| format!("/spec/volumes/{i}/{f}");
        if let Some(prev) = names.insert(v.name.as_str(), i) {
            out.push(d.error_at(
                &at("name"),
                format!(
                    "volume {} is already listed at spec.volumes[{prev}]",
                    quoted(&v.name)
                ),
            ));
        }
        target(out, at("mountPath"), &v.mount_path);
        if let Some(c) = &v.cleanup {
            match (c.policy, &c.after) {
                (CleanupPolicy::RetainFor, None) => out.push(d.error_at(
                    &at("cleanup"),
                    "RetainFor needs `after`, e.g. `after: 7d`".into(),
                )),
                (CleanupPolicy::RetainFor, Some(a)) => {
                    duration(out, d, &at("cleanup/after"), Some(a));
                }
                (p, Some(_)) => out.push(d.error_at(
                    &at("cleanup/after"),
                    format!("`after` goes with RetainFor only, not with {p:?}"),
                )),
                (_, None) => {}
            }
        }
    }
    for (i, h) in c.host_mounts.iter().flatten().enumerate() {
        target(
            out,
            format!("/spec/hostMounts/{i}/mountPath"),
            &h.mount_path,
        );
    }
}

fn ports(out: &mut Vec<Diagnostic>, d: &Document, c: &ContainerSpec) {
    let mut seen = HashMap::new();
    let mut host_seen = HashMap::new();
    for (i, p) in c.ports.iter().flatten().enumerate() {
        let proto = p.protocol.unwrap_or(ProtocolName::Tcp);
        if let Some(prev) = seen.insert((p.container_port, proto), i) {
            out.push(d.error_at(
                &format!("/spec/ports/{i}/containerPort"),
                format!(
                    "port {} is already listed at spec.ports[{prev}]",
                    p.container_port
                ),
            ));
        }
        if let Some(HostPortSpec::Number(h)) = p.host_port {
            if let Some(prev) = host_seen.insert((h, proto), i) {
                out.push(d.error_at(
                    &format!("/spec/ports/{i}/hostPort"),
                    format!("host port {h} is already used by spec.ports[{prev}]"),
                ));
            }
        }
        if let Some(ip) = &p.host_ip {
            if ip.parse::<std::net::IpAddr>().is_err() {
                out.push(d.error_at(
                    &format!("/spec/ports/{i}/hostIP"),
                    format!("{} is not an IP address", quoted(ip)),
                ));
            }
        }
    }
}

/// `//a/./b/` → `/a/b`, for comparing mount targets.
fn container_path(p: &str) -> String {
    let parts: Vec<&str> = p
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

fn valid_user(u: &str) -> bool {
    let part = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            && !s.starts_with('-')
    };
    match u.split_once(':') {
        Some((user, group)) => part(user) && part(group),
        None => part(u),
    }
}

fn reserved(out: &mut Vec<Diagnostic>, d: &Document, at: &str, key: &str) {
    if key.starts_with(labels::RESERVED_PREFIX) {
        out.push(d.error_at(
            &format!("{at}/{}", esc(key)),
            format!(
                "label keys starting with {:?} are reserved for berth",
                labels::RESERVED_PREFIX
            ),
        ));
    }
}

pub(super) fn esc(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Parses a duration field and checks it against [`MAX_DURATION`]; `None` when absent or
/// wrong (and then reported).
pub(super) fn duration(
    out: &mut Vec<Diagnostic>,
    d: &Document,
    pointer: &str,
    v: Option<&str>,
) -> Option<Duration> {
    let v = v?;
    match humantime::parse_duration(v) {
        Err(e) => {
            out.push(d.error_at(pointer, format!("{} is not a duration: {e}", quoted(v))));
            None
        }
        Ok(t) if t > MAX_DURATION => {
            out.push(d.error_at(
                pointer,
                format!(
                    "{} is longer than the longest duration berth takes ({})",
                    quoted(v),
                    humantime::format_duration(MAX_DURATION)
                ),
            ));
            None
        }
        Ok(t) => Some(t),
    }
}

fn quantity_min(out: &mut Vec<Diagnostic>, d: &Document, pointer: &str, v: Option<&str>, min: u64) {
    if let Some(v) = v {
        match parse_quantity(v) {
            Err(e) => out.push(d.error_at(pointer, e.to_string())),
            Ok(n) if n < min => out.push(d.error_at(
                pointer,
                format!(
                    "{} is too small: the minimum is {} (a limit cannot be switched off)",
                    quoted(v),
                    format_bytes(min)
                ),
            )),
            Ok(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn users_and_paths() {
        for ok in ["1000", "1000:1000", "agent", "www-data:www-data", "a.b"] {
            assert!(super::valid_user(ok), "{ok}");
        }
        for bad in ["", "a b", "1:2:3", ":1", "-x", "a\tb"] {
            assert!(!super::valid_user(bad), "{bad:?}");
        }
        assert_eq!(super::container_path("//a/./b/"), "/a/b");
        assert_eq!(super::container_path("/"), "/");
    }
}
