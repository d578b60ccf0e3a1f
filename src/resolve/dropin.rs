//! Trust levels: what a document may say given where it was found. A `kind: Policy` among
//! the manifests is an error for its own file (the Policy comes from `--policy` only). A file
//! in a `--sessions` directory may hold only Sessions that name a trusted Template and set
//! `ttl`, labels, `env` values and, within the template's own values, `resources`. Anything
//! else is an error at the field, and only that file is held.

use crate::manifest::diagnostic::Diagnostic;
use crate::manifest::load::{Body, Document};
use crate::manifest::sources::Trust;
use crate::manifest::types::ContainerSpec;
use crate::model::{format_bytes, parse_quantity, quoted, shorten, Spec};
use crate::policy::restricted;

/// The resources a template gives, defaults applied: what a drop-in Session may lower.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Bounds {
    pub memory_bytes: u64,
    pub nano_cpus: Option<i64>,
    pub pids_limit: i64,
}

impl Bounds {
    pub(super) fn of(c: &ContainerSpec) -> Bounds {
        let r = c.resources.clone().unwrap_or_default();
        Bounds {
            memory_bytes: r
                .memory
                .as_deref()
                .and_then(|m| parse_quantity(m).ok())
                .unwrap_or(restricted::MEMORY_BYTES),
            nano_cpus: Some(
                r.cpus
                    .map_or(restricted::NANO_CPUS, |c| (c * 1e9).round() as i64),
            ),
            pids_limit: r.pids.unwrap_or(restricted::PIDS),
        }
    }
}

/// The `spec` fields a drop-in Session may set.
pub const SESSION_FIELDS: &[&str] = &["template", "ttl", "env", "resources"];

/// Label key prefixes that other programs read from a container (proxies, the engine's
/// own tools): a drop-in Session must not set them.
const FOREIGN_LABEL_PREFIXES: &[&str] = &[
    "traefik.",
    "caddy",
    "com.docker.",
    "io.podman.",
    "io.containers.",
    "org.opencontainers.",
];

/// What a document breaks of the rules of the source it came from.
pub(super) fn check(d: &Document) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if let Body::Policy(_) = d.body {
        out.push(d.error_at(
            "/kind",
            "a Policy is read only from the trusted source named by --policy, never from the manifest paths; this file is held".into(),
        ));
        return out;
    }
    if d.file.trust != Trust::DropIn {
        return out;
    }
    let Body::Session(s) = &d.body else {
        out.push(d.error_at(
            "/kind",
            format!(
                "a --sessions file may hold only Session documents, not a {}: Templates and Agents belong in the manifest paths",
                d.body.kind().as_str()
            ),
        ));
        return out;
    };
    if s.template.is_none() {
        out.push(d.error_at(
            "/spec",
            "a Session in a --sessions file must name a template (spec.template)".into(),
        ));
    }
    {
        for key in d
            .spec_fields
            .iter()
            .filter(|k| !SESSION_FIELDS.contains(&k.as_str()))
        {
            out.push(d.error_at(
                &format!("/spec/{}", key.replace('~', "~0").replace('/', "~1")),
                format!(
                    "a --sessions file may set only {}: {} comes from the template",
                    SESSION_FIELDS.join(", "),
                    quoted(key)
                ),
            ));
        }
    }
    for key in d.metadata.labels.keys() {
        if let Some(p) = FOREIGN_LABEL_PREFIXES.iter().find(|p| key.starts_with(**p)) {
            out.push(d.error_at(
                &format!("/metadata/labels/{}", key.replace('~', "~0").replace('/', "~1")),
                format!(
                    "a --sessions file may not set labels starting with {}: other programs act on them",
                    quoted(p)
                ),
            ));
        }
    }
    for key in s.container.env.iter().flatten().map(|(k, _)| k) {
        if !is_env_name(key) {
            out.push(d.error_at(
                &format!("/spec/env/{}", key.replace('~', "~0").replace('/', "~1")),
                format!(
                    "{} is not an environment variable name (letters, digits and '_', not starting with a digit)",
                    quoted(key)
                ),
            ));
        }
    }
    out
}

fn is_env_name(k: &str) -> bool {
    k.len() <= 256
        && k.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// What a drop-in Session asks beyond its template: more memory, CPU or processes than the
/// template gives, or an env key the template does not offer (when it lists them).
pub(super) fn check_bounds(
    d: &Document,
    spec: &Spec,
    template: &Bounds,
    template_name: &str,
    session_env: Option<&[String]>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if d.file.trust != Trust::DropIn {
        return out;
    }
    let over = |what: &str, asked: String, allowed: String| {
        format!(
            "{what} {asked} is over the {allowed} of template {}: a session from a --sessions file may only lower it",
            quoted(template_name)
        )
    };
    if spec.memory_bytes > template.memory_bytes {
        out.push(d.error_at(
            "/spec/resources/memory",
            over(
                "memory",
                format_bytes(spec.memory_bytes),
                format_bytes(template.memory_bytes),
            ),
        ));
    }
    if let (Some(asked), Some(allowed)) = (spec.nano_cpus, template.nano_cpus) {
        if asked > allowed {
            let cores = |n: i64| format!("{}", n as f64 / 1e9);
            out.push(d.error_at(
                "/spec/resources/cpus",
                over("cpus", cores(asked), cores(allowed)),
            ));
        }
    }
    if spec.pids_limit > template.pids_limit {
        out.push(d.error_at(
            "/spec/resources/pids",
            over(
                "pids",
                spec.pids_limit.to_string(),
                template.pids_limit.to_string(),
            ),
        ));
    }
    if let (Some(allowed), Body::Session(s)) = (session_env, &d.body) {
        for key in s.container.env.iter().flatten().map(|(k, _)| k) {
            if !allowed.contains(key) {
                out.push(d.error_at(
                    &format!("/spec/env/{}", key.replace('~', "~0").replace('/', "~1")),
                    format!(
                        "template {} lets sessions set only {} (sessionEnv), not {}",
                        quoted(template_name),
                        shorten(&allowed.join(", "), 200),
                        quoted(key)
                    ),
                ));
            }
        }
    }
    out
}
