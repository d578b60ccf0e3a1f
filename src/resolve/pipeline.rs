//! Cross-document checks and resolution: unique names, templates merged under their
//! overrides, trust levels, admission, defaults applied. A file with any error is held
//! whole: nothing it declared is created, changed or removed.
//!
//! The only file read here is a custom seccomp profile, and only after the Policy has
//! admitted its path; it is read under the same limits as the manifests and listed in
//! [`Loaded::inputs`], so the resync cache sees an edit of it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use super::admission::Admission;
use super::dropin::{self, Bounds};
use super::merge::Merge;
use super::normalize::{claims_of, normalize, restart_of};
use super::policy_source::{PolicyChoice, PolicyLoad};
use crate::manifest::diagnostic::Diagnostic;
use crate::manifest::files::Reader;
use crate::manifest::load::{Body, Document, FileResult, Read};
use crate::manifest::sources::Trust;
use crate::manifest::types::{AgentState, ContainerSpec, DocumentKind};
use crate::model::{quoted, DesiredContainer, DesiredSet, Kind, ObjectKey, Protocol};

/// The outcome of loading manifests.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub desired: DesiredSet,
    pub diagnostics: Vec<Diagnostic>,
    pub files: usize,
    pub documents: usize,
    /// Every file read (canonical paths): manifests, the Policy source, seccomp profiles.
    pub inputs: Vec<String>,
    /// The Policy's session quotas, which the loop applies against what runs.
    pub quotas: crate::policy::Quotas,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Turns what was read into the desired set, under the Policy that `policy` gave.
pub fn resolve(read: Read, policy: PolicyLoad, reader: &mut Reader) -> Loaded {
    let mut loaded = Loaded {
        files: read.files.len(),
        inputs: policy.inputs.clone(),
        ..Loaded::default()
    };
    loaded
        .diagnostics
        .extend(policy.diagnostics.iter().cloned());
    if let PolicyChoice::Ready(p) = &policy.choice {
        loaded.quotas = p.quotas.clone();
    }
    if let PolicyChoice::Failed(_) = policy.choice {
        // Fail closed: with no Policy nothing is admitted, and nothing may be removed.
        loaded.desired.incomplete = true;
    }
    for (absolute, diag) in read.unreadable {
        loaded.desired.held_sources.insert(absolute);
        loaded.desired.incomplete = true;
        loaded.diagnostics.push(diag);
    }
    for (absolute, diag) in read.unreadable_entries {
        loaded.desired.held_sources.insert(absolute);
        loaded.diagnostics.push(diag);
    }
    loaded.diagnostics.extend(read.warnings);

    let mut files = read.files;
    for f in &mut files {
        loaded.inputs.push(f.file.canonical.clone());
        loaded.documents += f.documents.len() + f.failed_names.len();
        for d in &f.documents {
            f.diagnostics.extend(super::check::check_document(d));
            f.diagnostics.extend(dropin::check(d));
            f.diagnostics.extend(super::expose::check_template(d));
        }
    }
    unique_names(&mut files);
    let mut failed: BTreeSet<usize> = (0..files.len())
        .filter(|&i| files[i].has_errors())
        .collect();
    template_references(&mut files, &mut failed);

    // Resolve every object whose template is at hand, so that all problems are reported in
    // one run; only objects of valid files join the desired set.
    let templates: HashMap<&str, &Document> = files
        .iter()
        .filter(|f| f.file.trust == Trust::Trusted)
        .flat_map(|f| f.documents.iter())
        .filter(|d| d.body.kind() == DocumentKind::Template)
        .map(|d| (d.metadata.name.as_str(), d))
        .collect();
    let admission = Admission::new(&policy.choice, templates.clone());
    let mut results: Vec<(Vec<DesiredContainer>, Vec<Diagnostic>)> = Vec::new();
    for f in &files {
        let mut resolved = Vec::new();
        let mut diags = Vec::new();
        for d in &f.documents {
            match resolve_object(d, &templates, &admission, reader, &mut loaded.inputs) {
                Ok(Some(obj)) => resolved.push(obj),
                Ok(None) => {}
                Err(e) => diags.extend(e),
            }
        }
        results.push((resolved, diags));
    }
    let (bases, pools) = super::pool::pools(
        &templates,
        |d| resolve_object(d, &templates, &admission, reader, &mut loaded.inputs),
        &mut loaded.diagnostics,
        &mut loaded.desired.held_keys,
    );
    drop(admission);
    let mut objects = BTreeMap::new();
    let mut ports = HostPorts::default();
    let mut routes = super::expose::Routes::default();
    for (fi, (resolved, diags)) in results.into_iter().enumerate() {
        let f = &mut files[fi];
        f.diagnostics.extend(diags);
        if !f.has_errors() {
            for obj in &resolved {
                if let Some(d) = f.documents.iter().find(|d| d.metadata.name == obj.key.name) {
                    f.diagnostics.extend(ports.claim(d, obj));
                    f.diagnostics.extend(routes.claim(d, obj));
                }
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
    // Pools of templates in valid files; a failed file's members are kept by its source.
    let failed_sources: BTreeSet<&str> = failed
        .iter()
        .map(|fi| files[*fi].file.canonical.as_str())
        .collect();
    let pools: BTreeMap<String, super::pool::Pool> = pools
        .into_iter()
        .filter(|(_, p)| !failed_sources.contains(p.member.source.as_str()))
        .collect();
    for m in super::pool::members(&pools) {
        objects.insert(m.key.clone(), m);
    }
    for obj in objects.values_mut() {
        if obj.key.kind == Kind::Session {
            obj.pool = super::pool::fit(obj, &pools);
            obj.claimed_hash = super::pool::claimed_hash(obj, &bases);
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

/// Unique names per kind, across files: the first definition wins (trusted files come
/// first), later ones are errors.
fn unique_names(files: &mut [FileResult]) {
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
                            "{} {} is already defined at {}:{line}:{col}",
                            key.0.as_str(),
                            quoted(key.1),
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
}

/// Template references, to a fixpoint: a file with errors offers no templates, which may
/// put errors in the files that use them. Each reference is reported once. Only trusted
/// files offer templates.
fn template_references(files: &mut [FileResult], failed: &mut BTreeSet<usize>) {
    let mut reported: BTreeSet<(usize, usize)> = BTreeSet::new();
    let broken: HashMap<String, String> = files
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
            .filter(|(_, f)| f.file.trust == Trust::Trusted)
            .flat_map(|(i, f)| f.documents.iter().map(move |d| (i, d)))
            .filter(|(_, d)| d.body.kind() == DocumentKind::Template)
            .map(|(i, d)| (d.metadata.name.as_str(), (i, d)))
            .collect();
        let mut new_errors = Vec::new();
        for (fi, f) in files.iter().enumerate() {
            for (di, d) in f.documents.iter().enumerate() {
                let Some(name) = template_of(d) else { continue };
                let msg = match templates.get(name) {
                    None => match broken.get(name) {
                        Some(file) => {
                            format!(
                                "template {} is defined in {file}, which has errors",
                                quoted(name)
                            )
                        }
                        None => format!("template {} is not defined in any manifest", quoted(name)),
                    },
                    Some((ti, t)) if failed.contains(ti) && *ti != fi => format!(
                        "template {} is defined in {}, which has errors",
                        quoted(name),
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

/// Resolves an Agent or Session into a desired container; `Ok(None)` for other kinds and
/// for an object whose template is missing (reported already).
fn resolve_object(
    d: &Document,
    templates: &HashMap<&str, &Document>,
    admission: &Admission<'_>,
    reader: &mut Reader,
    inputs: &mut Vec<String>,
) -> Result<Option<DesiredContainer>, Vec<Diagnostic>> {
    let (kind, own, ttl, stopped) = match &d.body {
        Body::Agent(a) => (
            Kind::Agent,
            &a.container,
            None,
            a.state == Some(AgentState::Stopped),
        ),
        Body::Session(s) => (Kind::Session, &s.container, Some(s.ttl.as_str()), false),
        _ => return Ok(None),
    };
    let key = ObjectKey::new(kind, d.metadata.name.clone());
    let object = key.to_string();
    let template_name = template_of(d);
    if template_name.is_none() && d.file.trust == Trust::DropIn {
        return Ok(None); // reported by the trust check
    }
    let template = match template_name {
        Some(name) => match templates.get(name) {
            Some(t) => Some(*t),
            None => return Ok(None), // reported by template_references
        },
        None => None,
    };
    let template_spec = template.and_then(|t| match &t.body {
        Body::Template(ts) => Some(ts),
        _ => None,
    });
    let merged: ContainerSpec = match template_spec {
        Some(t) => own.over(&t.container),
        None => own.clone(),
    };
    let one = |e: Diagnostic| vec![e];
    let Some(image) = merged.image.clone() else {
        return Err(one(d.error_at(
            "/spec",
            match template_name {
                Some(t) => format!(
                    "no image: template {} sets none, so set spec.image",
                    quoted(t)
                ),
                None => "no image: set spec.image or name a template that sets one".into(),
            },
        )));
    };
    admission.policy(d).map_err(one)?;
    let seccomp = match merged
        .security
        .as_ref()
        .and_then(|s| s.seccomp_profile.as_deref())
    {
        // A profile is read only once the Policy has admitted its path; a refused path is
        // reported with everything else below.
        Some(path) if path.starts_with('/') && !admission.may_read(path) => Some(String::new()),
        Some(path) if path.starts_with('/') => {
            let profile = read_seccomp(d, path, reader, inputs)?;
            let refused = admission.seccomp_content(d, &profile, template_name, &object);
            if !refused.is_empty() {
                return Err(refused);
            }
            Some(profile.to_string())
        }
        _ => None,
    };
    let at = |(pointer, msg): (&str, String)| one(d.error_at(pointer, msg));
    let spec = normalize(&merged, image, &d.metadata.labels, seccomp).map_err(at)?;
    let restart = restart_of(&merged).map_err(at)?;
    let ttl = ttl
        .map(humantime::parse_duration)
        .transpose()
        .map_err(|e| one(d.error_at("/spec/ttl", e.to_string())))?;
    let mut refused = admission.admit(d, &spec, &merged, ttl, template_name, &object);
    if let (Some(t), Some(name)) = (template_spec, template_name) {
        refused.extend(dropin::check_bounds(
            d,
            &spec,
            &Bounds::of(&t.container),
            name,
            t.session_env.as_deref(),
        ));
    }
    if !refused.is_empty() {
        return Err(refused);
    }
    let mut obj = DesiredContainer::new(key, spec, restart, ttl, d.file.canonical.clone());
    obj.stopped = stopped;
    obj.template = template_name.map(str::to_string);
    obj.volumes = claims_of(&merged).map_err(at)?;
    obj.expose = super::expose::exposure_of(&merged, &obj.key, &obj.spec.labels).map_err(at)?;
    obj.idle = super::expose::idle_of(d).map_err(at)?;
    obj.alerts = super::alerts::rules_of(merged.alerts.as_ref(), "/spec/alerts")
        .map_err(|(p, m)| one(d.error_at(&p, m)))?
        .over(admission.alert_defaults());
    Ok(Some(obj))
}

/// Reads a seccomp profile the Policy has admitted, under the file rules, as JSON.
fn read_seccomp(
    d: &Document,
    path: &str,
    reader: &mut Reader,
    inputs: &mut Vec<String>,
) -> Result<serde_json::Value, Vec<Diagnostic>> {
    let at = |msg: String| vec![d.error_at("/spec/security/seccompProfile", msg)];
    let shown = crate::model::shorten(path, 80);
    inputs.push(path.to_string());
    let text = reader
        .read_text(Path::new(path))
        .map_err(|e| at(format!("cannot read seccomp profile {shown}: {e}")))?;
    serde_json::from_str(&text).map_err(|e| at(format!("seccomp profile {shown} is not JSON: {e}")))
}

/// Who holds a host port: the host address (`None`: all of them) and where it was claimed.
type Claim = (Option<String>, String);

/// Fixed host ports across objects: two objects cannot bind one port.
#[derive(Debug, Default)]
struct HostPorts {
    taken: HashMap<(u16, Protocol), Vec<Claim>>,
}

impl HostPorts {
    fn claim(&mut self, d: &Document, obj: &DesiredContainer) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let written = match &d.body {
            Body::Agent(a) => a.container.ports.as_deref(),
            Body::Session(s) => s.container.ports.as_deref(),
            _ => None,
        };
        for p in &obj.spec.ports {
            let Some(port) = p.host_port.filter(|_| !p.host_port_auto) else {
                continue;
            };
            let ip = p.host_ip.clone().filter(|ip| ip != "0.0.0.0" && ip != "::");
            let index =
                written.and_then(|w| w.iter().position(|v| v.container_port == p.container_port));
            let pointer = match index {
                Some(i) => format!("/spec/ports/{i}/hostPort"),
                None => "/spec/template".to_string(),
            };
            let here = {
                let (line, col) = d.doc.value_pos(&pointer);
                format!("{}:{line}:{col} ({})", d.file.display, obj.key)
            };
            let entries = self.taken.entry((port, p.protocol)).or_default();
            if let Some((_, first)) = entries
                .iter()
                .find(|(other, _)| other.is_none() || ip.is_none() || *other == ip)
            {
                out.push(d.error_at(
                    &pointer,
                    format!(
                        "host port {port}/{} is already published at {first}",
                        p.protocol
                    ),
                ));
            } else {
                entries.push((ip, here));
            }
        }
        out
    }
}
