//! Admission of resolved objects: every rule of the Policy in force that an Agent or Session
//! breaks, reported as a diagnostic of class Policy where the offending value is written (in
//! the object's own document, or in the template that sets it). A refused object is held
//! exactly like an invalid one: nothing is sent to the engine for it and a container already
//! running for it is left as it is. While the Policy source cannot be used, nothing is
//! admitted.

use std::collections::HashMap;

use super::policy_source::PolicyChoice;
use crate::manifest::diagnostic::{Class, Diagnostic};
use crate::manifest::load::Document;
use crate::manifest::types::ContainerSpec;
use crate::manifest::yaml::pointer_to_path;
use crate::model::{quoted, Spec};
use crate::policy::{self, Policy, Request, Violation};

/// The Policy in force for one load, or why there is none.
#[derive(Debug)]
pub(super) struct Admission<'a> {
    choice: &'a PolicyChoice,
    /// Template documents by name, to place diagnostics where a value is written.
    templates: HashMap<&'a str, &'a Document>,
}

impl<'a> Admission<'a> {
    pub(super) fn new(choice: &'a PolicyChoice, templates: HashMap<&'a str, &'a Document>) -> Self {
        Admission { choice, templates }
    }

    /// The Policy, or the diagnostic every object gets while there is none.
    pub(super) fn policy(&self, d: &Document) -> Result<&Policy, Diagnostic> {
        match self.choice {
            PolicyChoice::Ready(p) => Ok(p),
            PolicyChoice::Failed(why) => Err(d
                .error_at(
                    "/kind",
                    format!(
                        "policy: not admitted: {why}; nothing is created, changed or removed until it is fixed"
                    ),
                )
                .in_class(Class::Policy)),
        }
    }

    /// The Policy's alert rules, every object's defaults.
    pub(super) fn alert_defaults(&self) -> crate::model::AlertRules {
        match self.choice {
            PolicyChoice::Ready(p) => p.alerts,
            PolicyChoice::Failed(_) => Default::default(),
        }
    }

    /// Whether the Policy lets berth read the file at `path` (a seccomp profile): its host
    /// path is admitted.
    pub(super) fn may_read(&self, path: &str) -> bool {
        match self.choice {
            PolicyChoice::Ready(p) => policy::check_host_paths(
                p,
                &[(
                    "/spec/security/seccompProfile".to_string(),
                    path.to_string(),
                )],
            )
            .is_empty(),
            PolicyChoice::Failed(_) => false,
        }
    }

    /// A custom seccomp profile that confines nothing, when the Policy refuses that.
    pub(super) fn seccomp_content(
        &self,
        d: &Document,
        profile: &serde_json::Value,
        template: Option<&str>,
        object: &str,
    ) -> Vec<Diagnostic> {
        let Ok(policy) = self.policy(d) else {
            return Vec::new();
        };
        let refused: Vec<Violation> = policy::check_seccomp_content(policy, profile)
            .into_iter()
            .collect();
        self.place(d, policy, template, object, refused)
    }

    /// Every rule the resolved object breaks, as Policy diagnostics.
    pub(super) fn admit(
        &self,
        d: &Document,
        spec: &Spec,
        merged: &ContainerSpec,
        ttl: Option<std::time::Duration>,
        template: Option<&str>,
        object: &str,
    ) -> Vec<Diagnostic> {
        let policy = match self.policy(d) {
            Ok(p) => p,
            Err(e) => return vec![e],
        };
        let request = Request {
            spec,
            seccomp: merged
                .security
                .as_ref()
                .and_then(|s| s.seccomp_profile.as_deref()),
            host_paths: host_paths(merged),
            ttl,
        };
        self.place(d, policy, template, object, policy::admit(policy, &request))
    }

    /// Violations as diagnostics, each where its value is written: a value that only the
    /// template sets is reported in the template, naming the object.
    fn place(
        &self,
        d: &Document,
        policy: &Policy,
        template: Option<&str>,
        object: &str,
        violations: Vec<Violation>,
    ) -> Vec<Diagnostic> {
        let template = template.and_then(|t| self.templates.get(t).copied());
        violations
            .into_iter()
            .map(|v| {
                let text = format!("policy: {}: {} [{}]", v.rule, v.message, policy.describe());
                match template {
                    Some(t) if !has(d, &v.pointer) && has(t, &v.pointer) => Diagnostic::error(
                        &t.file.display,
                        t.doc.value_pos(&v.pointer),
                        &pointer_to_path(&v.pointer),
                        format!(
                            "policy: {}: {}; set by template {} for {object} [{}]",
                            v.rule,
                            v.message,
                            quoted(&t.metadata.name),
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
    d.doc.contains(pointer)
}

/// Every (JSON pointer, host path) a manifest container spec reaches on the host: bind
/// mounts (`hostMounts`), device nodes and the seccomp profile file.
pub fn host_paths(c: &ContainerSpec) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(p) = c
        .security
        .as_ref()
        .and_then(|s| s.seccomp_profile.as_deref())
        .filter(|p| p.starts_with('/'))
    {
        out.push(("/spec/security/seccompProfile".to_string(), p.to_string()));
    }
    for (i, d) in c.devices.iter().flatten().enumerate() {
        out.push((format!("/spec/devices/{i}/hostPath"), d.host_path.clone()));
    }
    for (i, m) in c.host_mounts.iter().flatten().enumerate() {
        out.push((
            format!("/spec/hostMounts/{i}/hostPath"),
            m.host_path.clone(),
        ));
    }
    out
}
