//! Admission of resolved objects: which Policy applies (at most one per instance, else the
//! built-in `restricted` profile), and every rule each Agent and Session breaks, reported as
//! a diagnostic of class Policy where the offending value is written. A refused object is
//! held exactly like an invalid one: nothing is sent to the engine for it and a container
//! already running for it is left as it is.
//!
//! berth admits nothing while it cannot tell which Policy applies: when a Policy document
//! fails to load or to compile, sits in a file with errors, when two are declared, or when
//! none was found but a manifest path could not be read or a file that could not be parsed
//! mentions `kind: Policy`.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::diagnostic::{Class, Diagnostic};
use super::load::{Body, Document, FileResult};
use super::types::{ContainerSpec, DocumentKind};
use super::yaml::pointer_to_path;
use crate::model::DesiredContainer;
use crate::policy::{self, Policy, Request};

/// The Policy in force for one load, or why there is none.
#[derive(Debug)]
pub(super) struct Admission {
    state: State,
    /// Errors about Policy documents themselves, by file index.
    policy_errors: Vec<(usize, Diagnostic)>,
    /// Template documents by name, to place diagnostics where a value is written.
    templates: HashMap<String, Document>,
}

#[derive(Debug)]
enum State {
    Policy(Box<Policy>),
    /// Nothing is admitted; the reason is shown on every object.
    Doubt(String),
}

impl Admission {
    /// Chooses the Policy. `failed` holds the files already known to have errors;
    /// `incomplete` says a manifest path could not be read.
    pub(super) fn new(files: &[FileResult], failed: &BTreeSet<usize>, incomplete: bool) -> Self {
        let mut policy_errors = Vec::new();
        let mut doubts: Vec<String> = Vec::new();
        let mut found: Vec<(usize, &Document)> = Vec::new();
        for (fi, f) in files.iter().enumerate() {
            for (kind, name) in &f.failed_names {
                if *kind == DocumentKind::Policy {
                    doubts.push(format!("Policy {name:?} in {} has errors", f.file.display));
                }
            }
            for d in f
                .documents
                .iter()
                .filter(|d| d.body.kind() == DocumentKind::Policy)
            {
                if failed.contains(&fi) {
                    doubts.push(format!(
                        "Policy {:?} is in {}, which has errors",
                        d.metadata.name, f.file.display
                    ));
                }
                found.push((fi, d));
            }
        }
        if let Some(((_, first), rest)) = found.split_first() {
            for (fi, d) in rest {
                let (line, col) = first.doc.value_pos("/metadata/name");
                policy_errors.push((
                    *fi,
                    d.error_at(
                        "/metadata/name",
                        format!(
                            "a second Policy: an instance has at most one, and Policy {:?} is declared at {}:{line}:{col}; merge them into one document",
                            first.metadata.name, first.file.display
                        ),
                    ),
                ));
            }
            if !rest.is_empty() {
                doubts.push(format!("{} Policy documents are declared", found.len()));
            }
        } else {
            if incomplete {
                doubts.push(
                    "no Policy was found, and a manifest path that could not be read may hold it"
                        .into(),
                );
            }
            for f in files.iter().filter(|f| may_hold_policy(f)) {
                doubts.push(format!(
                    "{} could not be parsed and may hold the Policy",
                    f.file.display
                ));
            }
        }
        let mut compiled = None;
        if let [(fi, d)] = found.as_slice() {
            if let Body::Policy(spec) = &d.body {
                match policy::compile(&d.metadata.name, spec) {
                    Ok(p) => compiled = Some(p),
                    Err(errors) => {
                        for (pointer, msg) in errors {
                            policy_errors.push((*fi, d.error_at(&pointer, msg)));
                        }
                        doubts.push(format!(
                            "Policy {:?} in {} has errors",
                            d.metadata.name, d.file.display
                        ));
                    }
                }
            }
        }
        let state = match (doubts.first(), compiled) {
            (Some(why), _) => State::Doubt(why.clone()),
            (None, Some(p)) => State::Policy(Box::new(p)),
            (None, None) => State::Policy(Box::new(Policy::restricted())),
        };
        let templates = files
            .iter()
            .flat_map(|f| f.documents.iter())
            .filter(|d| d.body.kind() == DocumentKind::Template)
            .map(|d| (d.metadata.name.clone(), d.clone()))
            .collect();
        Admission {
            state,
            policy_errors,
            templates,
        }
    }

    /// Errors found in the Policy documents of file `fi`.
    pub(super) fn file_errors(&self, fi: usize) -> impl Iterator<Item = Diagnostic> + '_ {
        self.policy_errors
            .iter()
            .filter(move |(i, _)| *i == fi)
            .map(|(_, d)| d.clone())
    }

    /// Every rule the object declared by `d` breaks, as Policy diagnostics.
    pub(super) fn admit(
        &self,
        d: &Document,
        obj: &DesiredContainer,
        templates: &HashMap<String, Value>,
    ) -> Vec<Diagnostic> {
        let policy = match &self.state {
            State::Doubt(why) => {
                return vec![d
                    .error_at(
                        "/kind",
                        format!(
                            "policy: not admitted: {why}; nothing is admitted until that is fixed"
                        ),
                    )
                    .in_class(Class::Policy)];
            }
            State::Policy(p) => p,
        };
        let template_name = match &d.body {
            Body::Agent(a) => a.template.as_deref(),
            Body::Session(s) => s.template.as_deref(),
            _ => None,
        };
        let merged = merged_spec(d, template_name.and_then(|t| templates.get(t)));
        let request = Request {
            spec: &obj.spec,
            seccomp: merged
                .security
                .as_ref()
                .and_then(|s| s.seccomp_profile.as_deref()),
            host_paths: policy::host_paths(&merged),
        };
        let template = template_name.and_then(|t| self.templates.get(t));
        policy::admit(policy, &request)
            .into_iter()
            .map(|v| {
                let text = format!("policy: {}: {} [{}]", v.rule, v.message, policy.describe());
                match template {
                    Some(t) if !has(d, &v.pointer) && has(t, &v.pointer) => Diagnostic::error(
                        &t.file.display,
                        t.doc.value_pos(&v.pointer),
                        &pointer_to_path(&v.pointer),
                        format!(
                            "policy: {}: {}; set by template {:?} for {} [{}]",
                            v.rule,
                            v.message,
                            t.metadata.name,
                            obj.key,
                            policy.describe()
                        ),
                    ),
                    _ => d.error_at(&v.pointer, text),
                }
                .in_class(Class::Policy)
            })
            .collect()
    }
}

fn has(d: &Document, pointer: &str) -> bool {
    d.doc.value.pointer(pointer).is_some()
}

/// The object's container spec with its template merged under it (as resolution does).
fn merged_spec(d: &Document, template: Option<&Value>) -> ContainerSpec {
    serde_json::from_value(super::resolve::merged_spec_value(d, template)).unwrap_or_default()
}

/// A file that could not be parsed at all, whose text mentions `kind: Policy`.
fn may_hold_policy(f: &FileResult) -> bool {
    f.documents.is_empty()
        && f.failed_names.is_empty()
        && f.has_errors()
        && std::fs::read_to_string(&f.file.canonical).is_ok_and(|text| {
            text.lines().any(|l| {
                let l = l.trim_start();
                l.strip_prefix("kind:")
                    .is_some_and(|rest| rest.trim().trim_matches(['"', '\'']) == "Policy")
                    || l.contains("kind: Policy")
            })
        })
}
