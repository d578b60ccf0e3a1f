//! Host paths against `allowedHostPaths`, after normalization and against the kernel's and
//! the engines' own paths.

use super::{allowed_list, Violation};
use crate::policy::paths;
use crate::policy::rules::{Policy, Rule};

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
