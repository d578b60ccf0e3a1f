//! The Policy in force, read only from the trusted source named on the command line
//! (`--policy PATH`, a file or a directory). Without one, the built-in `restricted` profile
//! applies. A source that cannot be read, parsed or compiled fails closed: nothing is
//! admitted and nothing is removed until it is fixed, and every command says why.

use std::path::Path;
use std::sync::Arc;

use walkdir::WalkDir;

use super::policy_compile::compile;
use crate::manifest::diagnostic::Diagnostic;
use crate::manifest::discover::{is_ignored, SourceFile};
use crate::manifest::files::{io_message, Reader};
use crate::manifest::load::{read_file, read_text, Body, FileResult};
use crate::manifest::sources::Trust;
use crate::manifest::types::DocumentKind;
use crate::policy::Policy;

/// The Policy of one load.
#[derive(Debug, Clone)]
pub enum PolicyChoice {
    /// From `--policy`, or the built-in profile.
    Ready(Box<Policy>),
    /// The source cannot be used; the reason is shown on every object.
    Failed(String),
}

/// What reading the Policy source gave.
#[derive(Debug, Clone)]
pub struct PolicyLoad {
    pub choice: PolicyChoice,
    /// Problems in the source, at their file, line and field.
    pub diagnostics: Vec<Diagnostic>,
    /// The files read (canonical paths), for the resync cache.
    pub inputs: Vec<String>,
}

impl PolicyLoad {
    /// The built-in `restricted` profile.
    pub fn builtin() -> PolicyLoad {
        PolicyLoad {
            choice: PolicyChoice::Ready(Box::new(Policy::restricted())),
            diagnostics: Vec::new(),
            inputs: Vec::new(),
        }
    }
}

/// The Policy files a source names: the file itself, or the `*.yaml`, `*.yml` and `*.json`
/// files under a directory (hidden entries skipped), sorted.
pub fn files(path: &Path) -> Result<Vec<SourceFile>, String> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| format!("{shown}: {}", io_message(&e)))?;
    let canonical = |p: &Path| {
        std::fs::canonicalize(p)
            .map(|c| c.display().to_string())
            .map_err(|e| format!("{}: {}", p.display(), io_message(&e)))
    };
    if !meta.is_dir() {
        return Ok(vec![SourceFile {
            display: shown,
            canonical: canonical(path)?,
            trust: Trust::Trusted,
        }]);
    }
    let mut out = Vec::new();
    let walk = WalkDir::new(path)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !is_ignored(&e.file_name().to_string_lossy()));
    for entry in walk {
        let entry = entry.map_err(|e| format!("{shown}: {e}"))?;
        let name = entry.file_name().to_string_lossy();
        if entry.file_type().is_dir()
            || !(name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json"))
        {
            continue;
        }
        out.push(SourceFile {
            display: entry.path().display().to_string(),
            canonical: canonical(entry.path())?,
            trust: Trust::Trusted,
        });
    }
    Ok(out)
}

/// Reads and compiles the Policy at `path` (`None`: the built-in profile).
pub fn load(path: Option<&Path>, reader: &mut Reader) -> PolicyLoad {
    let Some(path) = path else {
        return PolicyLoad::builtin();
    };
    let source = path.display().to_string();
    let failed = |reason: String, diagnostics: Vec<Diagnostic>, inputs: Vec<String>| PolicyLoad {
        choice: PolicyChoice::Failed(format!("the Policy source --policy {source} {reason}")),
        diagnostics,
        inputs,
    };
    let found = match files(path) {
        Ok(f) => f,
        Err(e) => {
            let d = Diagnostic::at_path(&source, format!("--policy: {e}"));
            return failed(format!("cannot be read ({e})"), vec![d], Vec::new());
        }
    };
    let inputs: Vec<String> = found.iter().map(|f| f.canonical.clone()).collect();
    let mut results: Vec<FileResult> = Vec::new();
    for f in found {
        results.push(read_file(f, reader, "--policy: "));
    }
    compile_results(&source, &results, inputs)
}

/// The Policy in `text`, as if read from a source named `name` (tests and the fuzz target).
pub fn from_text(name: &str, text: &str, reader: &mut Reader) -> PolicyLoad {
    let file = Arc::new(SourceFile {
        display: name.to_string(),
        canonical: name.to_string(),
        trust: Trust::Trusted,
    });
    let results = [read_text(file, text, &mut reader.values)];
    compile_results(name, &results, Vec::new())
}

/// One Policy out of the files of a source, or why not.
fn compile_results(source: &str, results: &[FileResult], inputs: Vec<String>) -> PolicyLoad {
    let failed = |reason: String, diagnostics: Vec<Diagnostic>, inputs: Vec<String>| PolicyLoad {
        choice: PolicyChoice::Failed(format!("the Policy source --policy {source} {reason}")),
        diagnostics,
        inputs,
    };
    let mut diagnostics: Vec<Diagnostic> = Vec::new();
    let mut policies = Vec::new();
    for r in results {
        diagnostics.extend(r.diagnostics.iter().cloned());
        for d in &r.documents {
            match &d.body {
                Body::Policy(spec) => policies.push((d, spec)),
                other => diagnostics.push(d.error_at(
                    "/kind",
                    format!(
                        "a --policy source holds only a Policy, not a {}: put it among the manifests",
                        other.kind().as_str()
                    ),
                )),
            }
        }
        let failed_policies = r
            .failed_names
            .iter()
            .filter(|(k, _)| *k == DocumentKind::Policy)
            .count();
        if failed_policies > 0 && r.diagnostics.is_empty() {
            diagnostics.push(Diagnostic::error(
                &r.file.display,
                (1, 1),
                "",
                "a Policy document has errors".into(),
            ));
        }
    }
    if let Some(first) = diagnostics.first() {
        let reason = format!("has errors ({first})");
        return failed(reason, diagnostics, inputs);
    }
    let (d, spec) = match policies.as_slice() {
        [] => {
            let d = Diagnostic::error(
                source,
                (1, 1),
                "",
                "--policy: no Policy document found".into(),
            );
            return failed("holds no Policy document".into(), vec![d], inputs);
        }
        [one] => *one,
        [(first, _), rest @ ..] => {
            let (line, col) = first.doc.value_pos("/metadata/name");
            let diags = rest
                .iter()
                .map(|(d, _)| {
                    d.error_at(
                        "/metadata/name",
                        format!(
                            "a second Policy: a source holds exactly one, and Policy {} is declared at {}:{line}:{col}; merge them into one document",
                            crate::model::quoted(&first.metadata.name),
                            first.file.display
                        ),
                    )
                })
                .collect();
            return failed(
                format!("holds {} Policy documents", policies.len()),
                diags,
                inputs,
            );
        }
    };
    match compile(&d.metadata.name, spec) {
        Ok(p) => PolicyLoad {
            choice: PolicyChoice::Ready(Box::new(p)),
            diagnostics: Vec::new(),
            inputs,
        },
        Err(errors) => {
            let diags: Vec<Diagnostic> = errors
                .into_iter()
                .map(|e| d.error_at(&e.pointer, e.message))
                .collect();
            let reason = format!("has errors ({})", diags[0]);
            failed(reason, diags, inputs)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::files::Limits;

    /// The Policy of a load, when there is one.
    fn policy(l: &PolicyLoad) -> Option<&Policy> {
        match &l.choice {
            PolicyChoice::Ready(p) => Some(p),
            PolicyChoice::Failed(_) => None,
        }
    }

    fn load_text(text: &str) -> PolicyLoad {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("policy.yaml");
        std::fs::write(&p, text).unwrap();
        load(Some(&p), &mut Reader::new(Limits::default()))
    }

    const POLICY: &str =
        "apiVersion: berth/v1\nkind: Policy\nmetadata: {name: p}\nspec: {allowPrivileged: true}\n";

    #[test]
    fn a_good_source_gives_its_policy() {
        let l = load_text(POLICY);
        assert!(policy(&l).is_some_and(|p| p.allow_privileged), "{l:?}");
        let json = load_text(
            r#"{"apiVersion": "berth/v1", "kind": "Policy", "metadata": {"name": "p"}, "spec": {}}"#,
        );
        assert!(policy(&json).is_some(), "{json:?}");
    }

    #[test]
    fn every_broken_source_fails_closed() {
        for (name, text) in [
            ("truncated YAML", &POLICY[..POLICY.len() - 12]),
            (
                "truncated JSON",
                r#"{"apiVersion": "berth/v1", "kind": "Policy", "meta"#,
            ),
            ("empty", ""),
            (
                "unknown field",
                &POLICY.replace("allowPrivileged", "allowPriviledged"),
            ),
            (
                "another kind",
                &POLICY.replace("kind: Policy", "kind: Template"),
            ),
            (
                "two policies",
                &format!("{POLICY}---\n{}", POLICY.replace("name: p", "name: q")),
            ),
            (
                "not compiling",
                &POLICY.replace("allowPrivileged: true", "allowedHostPaths: [rel]"),
            ),
            ("invalid UTF-8", "kind: Policy \u{0}"),
        ] {
            let l = load_text(text);
            assert!(matches!(l.choice, PolicyChoice::Failed(_)), "{name}: {l:?}");
        }
        let missing = load(
            Some(Path::new("/nonexistent/policy.yaml")),
            &mut Reader::new(Limits::default()),
        );
        assert!(
            matches!(missing.choice, PolicyChoice::Failed(ref r) if r.contains("cannot be read"))
        );
        let builtin = load(None, &mut Reader::new(Limits::default()));
        assert!(policy(&builtin).is_some_and(|p| p.builtin));
    }
}
