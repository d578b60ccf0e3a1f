//! Cross-document checks and resolution: unique names, templates merged under their
//! overrides, defaults applied, values parsed into canonical units. A file with any error is
//! held whole: nothing it declared is created, changed or removed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use serde_json::Value;

use super::diagnostic::Diagnostic;
use super::load::{Body, Document, Read};
use super::types::{
    AgentState, CleanupPolicy, ContainerSpec, DocumentKind, HostPortSpec, OnUnhealthy,
    ProtocolName, RestartPolicyName,
};
use crate::model::{
    labels, parse_quantity, CleanupRule, DesiredContainer, DesiredSet, HealthCheck, HostBinding,
    Kind, ObjectKey, PortMapping, Protocol, RestartPolicy, RestartSpec, Spec, VolumeBinding,
    VolumeClaim, VolumeSource,
};
use crate::policy::{capabilities, restricted};

/// The outcome of loading manifests.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub desired: DesiredSet,
    pub diagnostics: Vec<Diagnostic>,
    pub files: usize,
    pub documents: usize,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Turns what was read into the desired set.
pub fn resolve(read: Read) -> Loaded {
    let mut loaded = Loaded {
        files: read.files.len(),
        ..Loaded::default()
    };
    for (absolute, diag) in read.unreadable {
        loaded.desired.held_sources.insert(absolute);
        loaded.desired.incomplete = true;
        loaded.diagnostics.push(diag);
    }

    // Per-file diagnostics, and per-document checks that need no other document.
    let mut files = read.files;
    for f in &mut files {
        loaded.documents += f.documents.len() + f.failed_names.len();
        for d in &f.documents {
            f.diagnostics.extend(check_document(d));
        }
    }

    // Unique names per kind, across files.
    let mut first: HashMap<(DocumentKind, &str), &Document> = HashMap::new();
    let mut dup_errors: Vec<(usize, Diagnostic)> = Vec::new();
    for (fi, f) in files.iter().enumerate() {
        for d in &f.documents {
            let key = (d.body.kind(), d.metadata.name.as_str());
            if let Some(prev) = first.get(&key) {
                let (line, col) = prev.doc.value_pos("/metadata/name");
                dup_errors.push((
                    fi,
                    d.error_at(
                        "/metadata/name",
                        format!(
                            "{} {:?} is already defined at {}:{line}:{col}",
                            key.0.as_str(),
                            key.1,
                            prev.file.display
                        ),
                    ),
                ));
            } else {
                first.insert(key, d);
            }
        }
    }
    for (fi, diag) in dup_errors {
        files[fi].diagnostics.push(diag);
    }

    // Template references, to a fixpoint: a file with errors offers no templates, which may
    // put errors in the files that use them. Each reference is reported once.
    let mut failed: BTreeSet<usize> = (0..files.len())
        .filter(|&i| files[i].has_errors())
        .collect();
    let mut reported: BTreeSet<(usize, usize)> = BTreeSet::new();
    let broken_templates: HashMap<String, String> = files
        .iter()
        .flat_map(|f| {
            f.failed_names
                .iter()
                .filter(|(k, _)| *k == DocumentKind::Template)
                .map(move |(_, n)| (n.clone(), f.file.display.clone()))
        })
        .collect();
    loop {
        let templates: HashMap<&str, (usize, &Document)> = files
            .iter()
            .enumerate()
            .flat_map(|(i, f)| f.documents.iter().map(move |d| (i, d)))
            .filter(|(_, d)| d.body.kind() == DocumentKind::Template)
            .map(|(i, d)| (d.metadata.name.as_str(), (i, d)))
            .collect();
        let mut new_errors = Vec::new();
        for (fi, f) in files.iter().enumerate() {
            for (di, d) in f.documents.iter().enumerate() {
                let Some(name) = template_of(d) else { continue };
                let msg = match templates.get(name) {
                    None => match broken_templates.get(name) {
                        Some(file) => {
                            format!("template {name:?} is defined in {file}, which has errors")
                        }
                        None => format!("template {name:?} is not defined in any manifest"),
                    },
                    Some((ti, t)) if failed.contains(ti) && *ti != fi => format!(
                        "template {name:?} is defined in {}, which has errors",
                        t.file.display
                    ),
                    Some(_) => continue,
                };
                if reported.insert((fi, di)) {
                    new_errors.push((fi, d.error_at("/spec/template", msg)));
                }
            }
        }
        if new_errors.is_empty() {
            break;
        }
        for (fi, diag) in new_errors {
            files[fi].diagnostics.push(diag);
            failed.insert(fi);
        }
    }

    // Resolve every object whose template is at hand, so that all problems are reported in
    // one run; only objects of valid files join the desired set.
    let templates: HashMap<String, Value> = files
        .iter()
        .flat_map(|f| f.documents.iter())
        .filter(|d| d.body.kind() == DocumentKind::Template)
        .map(|d| (d.metadata.name.clone(), d.doc.value["spec"].clone()))
        .collect();
    let admission = super::admission::Admission::new(&files, &failed, loaded.desired.incomplete);
    let mut objects = BTreeMap::new();
    for (fi, f) in files.iter_mut().enumerate() {
        f.diagnostics.extend(admission.file_errors(fi));
        let mut resolved = Vec::new();
        for d in &f.documents {
            if template_of(d).is_some_and(|t| !templates.contains_key(t)) {
                continue; // already reported
            }
            match resolve_object(d, &templates) {
                // A refused object is held like an invalid one: its file has errors now.
                Ok(Some(obj)) => match admission.admit(d, &obj, &templates) {
                    refused if refused.is_empty() => resolved.push(obj),
                    refused => f.diagnostics.extend(refused),
                },
                Ok(None) => {}
                Err(diag) => f.diagnostics.push(diag),
            }
        }
        if f.has_errors() {
            failed.insert(fi);
        } else if !failed.contains(&fi) {
            for obj in resolved {
                objects.insert(obj.key.clone(), obj);
            }
        }
    }

    // Hold whatever a failed file declared.
    for fi in &failed {
        let f = &files[*fi];
        loaded.desired.held_sources.insert(f.file.canonical.clone());
        let names = f
            .documents
            .iter()
            .map(|d| (d.body.kind(), d.metadata.name.clone()))
            .chain(f.failed_names.iter().cloned());
        for (kind, name) in names {
            if let Some(kind) = object_kind(kind) {
                loaded.desired.held_keys.insert(ObjectKey::new(kind, name));
            }
        }
    }
    for k in &loaded.desired.held_keys {
        objects.remove(k);
    }
    loaded.desired.objects = objects;
    for mut f in files {
        f.diagnostics.sort_by_key(|d| (d.line, d.column));
        loaded.diagnostics.extend(f.diagnostics);
    }
    loaded
}

fn object_kind(kind: DocumentKind) -> Option<Kind> {
    match kind {
        DocumentKind::Agent => Some(Kind::Agent),
        DocumentKind::Session => Some(Kind::Session),
        DocumentKind::Template | DocumentKind::Policy => None,
    }
}

fn template_of(d: &Document) -> Option<&str> {
    match &d.body {
        Body::Agent(a) => a.template.as_deref(),
        Body::Session(s) => s.template.as_deref(),
        _ => None,
    }
}

fn container_of(d: &Document) -> Option<&ContainerSpec> {
    match &d.body {
        Body::Template(t) => Some(&t.container),
        Body::Agent(a) => Some(&a.container),
        Body::Session(s) => Some(&s.container),
        Body::Policy(_) => None,
    }
}

/// Checks that need only the document itself: values parse, names are known, nothing
/// reserved is used. Errors point where the value is written.
fn check_document(d: &Document) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for key in d.metadata.labels.keys() {
        if key.starts_with(labels::RESERVED_PREFIX) {
            out.push(d.error_at(
                &format!("/metadata/labels/{}", esc(key)),
                format!(
                    "label keys starting with {:?} are reserved for berth",
                    labels::RESERVED_PREFIX
                ),
            ));
        }
    }
    if let Body::Session(s) = &d.body {
        duration(&mut out, d, "/spec/ttl", Some(&s.ttl));
    }
    let Some(c) = container_of(d) else {
        return out;
    };
    for (k, _) in c.env.iter().flatten() {
        if k.is_empty() || k.contains('=') || k.contains('\0') {
            out.push(d.error_at(
                &format!("/spec/env/{}", esc(k)),
                "environment variable names must be non-empty and contain no '='".into(),
            ));
        }
    }
    for key in c.labels.iter().flatten().map(|(k, _)| k) {
        if key.starts_with(labels::RESERVED_PREFIX) {
            out.push(d.error_at(
                &format!("/spec/labels/{}", esc(key)),
                format!(
                    "label keys starting with {:?} are reserved for berth",
                    labels::RESERVED_PREFIX
                ),
            ));
        }
    }
    if let Some(r) = &c.resources {
        quantity_min(
            &mut out,
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
                            format!("unknown capability {name:?}"),
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
            } else if p.starts_with('/') {
                if let Err(e) = read_seccomp(p) {
                    out.push(d.error_at("/spec/security/seccompProfile", e));
                }
            }
        }
        if let Some(u) = &s.user {
            if u.is_empty() || u.contains(char::is_whitespace) {
                out.push(d.error_at(
                    "/spec/security/user",
                    "must be a uid, uid:gid or a user name".into(),
                ));
            }
        }
    }
    if let Some(h) = &c.health {
        duration(&mut out, d, "/spec/health/interval", h.interval.as_deref());
        duration(&mut out, d, "/spec/health/timeout", h.timeout.as_deref());
        duration(
            &mut out,
            d,
            "/spec/health/startPeriod",
            h.start_period.as_deref(),
        );
    }
    if let Some(b) = c.restart.as_ref().and_then(|r| r.backoff.as_ref()) {
        duration(
            &mut out,
            d,
            "/spec/restart/backoff/initial",
            b.initial.as_deref(),
        );
        duration(&mut out, d, "/spec/restart/backoff/max", b.max.as_deref());
        duration(
            &mut out,
            d,
            "/spec/restart/backoff/resetAfter",
            b.reset_after.as_deref(),
        );
    }
    duration(
        &mut out,
        d,
        "/spec/stopGracePeriod",
        c.stop_grace_period.as_deref(),
    );
    let mut mounts = HashMap::new();
    for (i, t) in c.tmpfs.iter().flatten().enumerate() {
        quantity_min(
            &mut out,
            d,
            &format!("/spec/tmpfs/{i}/size"),
            t.size.as_deref(),
            1,
        );
        if let Some(prev) = mounts.insert(t.mount_path.as_str(), i) {
            out.push(d.error_at(
                &format!("/spec/tmpfs/{i}/mountPath"),
                format!(
                    "{:?} is already mounted by spec.tmpfs[{prev}]",
                    t.mount_path
                ),
            ));
        }
    }
    let mut names = HashMap::new();
    for (i, v) in c.volumes.iter().flatten().enumerate() {
        let at = |f: &str| format!("/spec/volumes/{i}/{f}");
        if let Some(prev) = names.insert(v.name.as_str(), i) {
            out.push(d.error_at(
                &at("name"),
                format!(
                    "volume {:?} is already listed at spec.volumes[{prev}]",
                    v.name
                ),
            ));
        }
        if let Some(prev) = mounts.insert(v.mount_path.as_str(), i) {
            out.push(d.error_at(
                &at("mountPath"),
                format!(
                    "{:?} is already used by another mount (index {prev})",
                    v.mount_path
                ),
            ));
        }
        if let Some(c) = &v.cleanup {
            match (c.policy, &c.after) {
                (CleanupPolicy::RetainFor, None) => out.push(d.error_at(
                    &at("cleanup"),
                    "RetainFor needs `after`, e.g. `after: 7d`".into(),
                )),
                (CleanupPolicy::RetainFor, Some(a)) => {
                    duration(&mut out, d, &at("cleanup/after"), Some(a))
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
        if let Some(prev) = mounts.insert(h.mount_path.as_str(), i) {
            out.push(d.error_at(
                &format!("/spec/hostMounts/{i}/mountPath"),
                format!(
                    "{:?} is already used by another mount (index {prev})",
                    h.mount_path
                ),
            ));
        }
    }
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
                    format!("{ip:?} is not an IP address"),
                ));
            }
        }
    }
    out.extend(super::privileges::check(d, c));
    out
}

fn esc(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

fn duration(out: &mut Vec<Diagnostic>, d: &Document, pointer: &str, v: Option<&str>) {
    if let Some(v) = v {
        if let Err(e) = humantime::parse_duration(v) {
            out.push(d.error_at(pointer, format!("{v:?} is not a duration: {e}")));
        }
    }
}

/// The engine refuses memory limits under 6 MiB; 0 would mean "no limit".
const MIN_MEMORY: u64 = 6 << 20;

fn quantity_min(out: &mut Vec<Diagnostic>, d: &Document, pointer: &str, v: Option<&str>, min: u64) {
    if let Some(v) = v {
        match parse_quantity(v) {
            Err(e) => out.push(d.error_at(pointer, e.to_string())),
            Ok(n) if n < min => out.push(d.error_at(
                pointer,
                format!(
                    "{v:?} is too small: the minimum is {} (a limit cannot be switched off)",
                    crate::model::format_bytes(min)
                ),
            )),
            Ok(_) => {}
        }
    }
}

fn read_seccomp(path: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read seccomp profile {path}: {e}"))?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| format!("seccomp profile {path} is not JSON: {e}"))?;
    Ok(v.to_string())
}

/// Objects Kubernetes-style: mappings merge key by key, everything else replaces.
/// An Agent's or Session's `spec` with its template merged under it, without the fields
/// that are berth's and not the container's (`template`, `ttl`, `state`).
pub(super) fn merged_spec_value(d: &Document, template: Option<&Value>) -> Value {
    let mut own = d.doc.value["spec"].clone();
    if let Value::Object(m) = &mut own {
        m.remove("template");
        m.remove("ttl");
        m.remove("state");
    }
    match template {
        Some(t) => {
            let mut base = t.clone();
            merge(&mut base, &own);
            base
        }
        None => own,
    }
}

pub(super) fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

/// Resolves an Agent or Session into a desired container; `Ok(None)` for other kinds.
fn resolve_object(
    d: &Document,
    templates: &HashMap<String, Value>,
) -> Result<Option<DesiredContainer>, Diagnostic> {
    let (kind, template, ttl, stopped) = match &d.body {
        Body::Agent(a) => (
            Kind::Agent,
            a.template.as_deref(),
            None,
            a.state == Some(AgentState::Stopped),
        ),
        Body::Session(s) => (
            Kind::Session,
            s.template.as_deref(),
            Some(s.ttl.as_str()),
            false,
        ),
        _ => return Ok(None),
    };
    let merged = merged_spec_value(d, template.map(|name| &templates[name]));
    let spec: ContainerSpec = serde_json::from_value(merged)
        .map_err(|e| d.error_at("/spec", format!("internal error merging the template: {e}")))?;
    let Some(image) = spec.image.clone() else {
        return Err(d.error_at(
            "/spec",
            match template {
                Some(t) => format!("no image: template {t:?} sets none, so set spec.image"),
                None => "no image: set spec.image or name a template that sets one".into(),
            },
        ));
    };
    let normalized = normalize(&spec, image, &d.metadata.labels)
        .map_err(|(pointer, msg)| d.error_at(pointer, msg))?;
    let restart = restart_of(&spec).map_err(|(pointer, msg)| d.error_at(pointer, msg))?;
    let ttl = ttl
        .map(humantime::parse_duration)
        .transpose()
        .map_err(|e| d.error_at("/spec/ttl", e.to_string()))?;
    let mut obj = DesiredContainer::new(
        ObjectKey::new(kind, d.metadata.name.clone()),
        normalized,
        restart,
        ttl,
        d.file.canonical.clone(),
    );
    obj.stopped = stopped;
    obj.volumes = claims_of(&spec).map_err(|(pointer, msg)| d.error_at(pointer, msg))?;
    Ok(Some(obj))
}

type FieldError = (&'static str, String);

fn dur(v: Option<&str>, default: Duration, pointer: &'static str) -> Result<Duration, FieldError> {
    match v {
        None => Ok(default),
        Some(s) => humantime::parse_duration(s).map_err(|e| (pointer, e.to_string())),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Applies the restricted defaults and converts to canonical units.
fn normalize(
    c: &ContainerSpec,
    image: String,
    object_labels: &BTreeMap<String, String>,
) -> Result<Spec, FieldError> {
    let r = c.resources.clone().unwrap_or_default();
    let s = c.security.clone().unwrap_or_default();
    let memory_bytes = match &r.memory {
        Some(m) => parse_quantity(m).map_err(|e| ("/spec/resources/memory", e.to_string()))?,
        None => restricted::MEMORY_BYTES,
    };
    let caps = s.capabilities.clone().unwrap_or_default();
    let norm_caps = |list: Option<Vec<String>>, default: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = match list {
            Some(l) => l
                .iter()
                .filter_map(|c| capabilities::normalize(c))
                .collect(),
            None => default.iter().map(|s| s.to_string()).collect(),
        };
        v.sort();
        v.dedup();
        v
    };
    let seccomp_profile = match s.seccomp_profile.as_deref() {
        None | Some("default") => None,
        Some("unconfined") => Some("unconfined".to_string()),
        Some(path) => Some(read_seccomp(path).map_err(|e| ("/spec/security/seccompProfile", e))?),
    };
    let health = match &c.health {
        Some(h) => {
            let Some(command) = h.exec.clone() else {
                return Err((
                    "/spec/health/exec",
                    "a health check needs an exec command".into(),
                ));
            };
            Some(HealthCheck {
                command,
                interval_ms: millis(dur(
                    h.interval.as_deref(),
                    restricted::HEALTH_INTERVAL,
                    "/spec/health/interval",
                )?),
                timeout_ms: millis(dur(
                    h.timeout.as_deref(),
                    restricted::HEALTH_TIMEOUT,
                    "/spec/health/timeout",
                )?),
                retries: h.retries.unwrap_or(restricted::HEALTH_RETRIES),
                start_period_ms: millis(dur(
                    h.start_period.as_deref(),
                    restricted::HEALTH_START_PERIOD,
                    "/spec/health/startPeriod",
                )?),
            })
        }
        None => None,
    };
    let grace = dur(
        c.stop_grace_period.as_deref(),
        restricted::STOP_GRACE,
        "/spec/stopGracePeriod",
    )?;
    let mut tmpfs = BTreeMap::new();
    for t in c.tmpfs.iter().flatten() {
        let size = match &t.size {
            Some(q) => parse_quantity(q).map_err(|e| ("/spec/tmpfs", e.to_string()))?,
            None => restricted::TMPFS_BYTES,
        };
        tmpfs.insert(t.mount_path.clone(), size);
    }
    let mut ports: Vec<PortMapping> = c
        .ports
        .iter()
        .flatten()
        .map(|p| PortMapping {
            container_port: p.container_port,
            protocol: match p.protocol.unwrap_or(ProtocolName::Tcp) {
                ProtocolName::Tcp => Protocol::Tcp,
                ProtocolName::Udp => Protocol::Udp,
            },
            host_port: match p.host_port {
                Some(HostPortSpec::Number(n)) => Some(n),
                _ => None,
            },
            host_port_auto: matches!(p.host_port, Some(HostPortSpec::Auto(_))),
            host_ip: p.host_ip.clone(),
        })
        .collect();
    ports.sort();
    let mut volumes: Vec<VolumeBinding> = c
        .volumes
        .iter()
        .flatten()
        .map(|v| VolumeBinding {
            mount_path: v.mount_path.clone(),
            source: VolumeSource {
                name: v.name.clone(),
                shared: v.shared.unwrap_or(false),
            },
            read_only: v.read_only.unwrap_or(false),
        })
        .collect();
    volumes.sort();
    let mut host_mounts: Vec<HostBinding> = c
        .host_mounts
        .iter()
        .flatten()
        .map(|h| HostBinding {
            mount_path: h.mount_path.clone(),
            host_path: h.host_path.clone(),
            read_only: h.read_only.unwrap_or(true),
        })
        .collect();
    host_mounts.sort();
    let mut labels: BTreeMap<String, String> = object_labels.clone();
    labels.extend(c.labels.clone().unwrap_or_default());
    Ok(Spec {
        image,
        command: c.command.clone(),
        args: c.args.clone(),
        env: c.env.clone().unwrap_or_default(),
        working_dir: c.working_dir.clone(),
        labels,
        memory_bytes,
        nano_cpus: r.cpus.map(|c| (c * 1e9).round() as i64),
        pids_limit: r.pids.unwrap_or(restricted::PIDS),
        read_only_root_filesystem: s.read_only_root_filesystem.unwrap_or(false),
        no_new_privileges: s.no_new_privileges.unwrap_or(restricted::NO_NEW_PRIVILEGES),
        user: s.user.clone(),
        cap_drop: norm_caps(caps.drop, restricted::CAP_DROP),
        cap_add: norm_caps(caps.add, &[]),
        seccomp_profile,
        health,
        stop_grace_period_secs: grace.as_secs() + u64::from(grace.subsec_nanos() > 0),
        tmpfs,
        ports,
        volumes,
        host_mounts,
        privileges: super::privileges::normalize(c),
        network: super::privileges::network(c),
    })
}

/// The volumes an object mounts, with their cleanup policies.
fn claims_of(c: &ContainerSpec) -> Result<Vec<VolumeClaim>, FieldError> {
    c.volumes
        .iter()
        .flatten()
        .map(|v| {
            let cleanup = match &v.cleanup {
                None => None,
                Some(cl) => Some(match cl.policy {
                    CleanupPolicy::Delete => CleanupRule::Delete,
                    CleanupPolicy::Retain => CleanupRule::Retain,
                    CleanupPolicy::RetainFor => CleanupRule::RetainFor {
                        after: dur(cl.after.as_deref(), Duration::ZERO, "/spec/volumes")?,
                    },
                }),
            };
            Ok(VolumeClaim {
                source: VolumeSource {
                    name: v.name.clone(),
                    shared: v.shared.unwrap_or(false),
                },
                cleanup,
            })
        })
        .collect()
}

fn restart_of(c: &ContainerSpec) -> Result<RestartSpec, FieldError> {
    let r = c.restart.clone().unwrap_or_default();
    let b = r.backoff.unwrap_or_default();
    let health = c.health.as_ref();
    let initial = dur(
        b.initial.as_deref(),
        restricted::BACKOFF_INITIAL,
        "/spec/restart/backoff/initial",
    )?;
    let max = dur(
        b.max.as_deref(),
        restricted::BACKOFF_MAX.max(initial),
        "/spec/restart/backoff/max",
    )?;
    if max < initial {
        return Err((
            "/spec/restart/backoff/max",
            format!(
                "max ({}) is shorter than initial ({})",
                humantime::format_duration(max),
                humantime::format_duration(initial)
            ),
        ));
    }
    Ok(RestartSpec {
        policy: match r.policy {
            None | Some(RestartPolicyName::Always) => RestartPolicy::Always,
            Some(RestartPolicyName::OnFailure) => RestartPolicy::OnFailure,
            Some(RestartPolicyName::Never) => RestartPolicy::Never,
        },
        backoff_initial: initial,
        backoff_max: max,
        reset_after: dur(
            b.reset_after.as_deref(),
            restricted::BACKOFF_RESET_AFTER,
            "/spec/restart/backoff/resetAfter",
        )?,
        on_unhealthy_restart: health
            .and_then(|h| h.on_unhealthy)
            .is_none_or(|o| o == OnUnhealthy::Restart),
        unhealthy_max_restarts: health
            .and_then(|h| h.max_restarts)
            .unwrap_or(restricted::UNHEALTHY_MAX_RESTARTS),
        unhealthy_window: dur(
            health.and_then(|h| h.restart_window.as_deref()),
            restricted::UNHEALTHY_WINDOW,
            "/spec/health/restartWindow",
        )?,
    })
}
