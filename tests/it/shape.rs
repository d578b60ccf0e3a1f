//! The shape of the tree, held against the code: a layer imports only the layers below it
//! (docs/architecture.md, "Layers"), and no source file grows past 500 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::util::repo;

/// Each top-level module and the modules it may import.
const LAYERS: &[(&str, &[&str])] = &[
    ("model", &[]),
    ("policy", &["model"]),
    ("manifest", &["model"]),
    ("engine", &["model"]),
    ("route", &["model"]),
    ("webhook", &["model"]),
    ("plan", &["model", "policy"]),
    ("resolve", &["model", "policy", "manifest"]),
    ("state", &["model"]),
    ("status", &["model", "plan"]),
    ("source", &["manifest"]),
    (
        "api",
        &["model", "policy", "manifest", "resolve", "state", "status"],
    ),
    (
        "reconcile",
        &[
            "model", "policy", "manifest", "engine", "route", "plan", "resolve", "state", "status",
            "source", "webhook",
        ],
    ),
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `crate::X` names outside comments.
fn imports(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

#[test]
fn layers_import_only_downward() {
    let allowed: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let mut wrong = Vec::new();
    for (module, may) in &allowed {
        let mut files = Vec::new();
        rust_files(&repo(&format!("src/{module}")), &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for used in imports(&text) {
                if used != *module && !may.contains(&used.as_str()) {
                    wrong.push(format!("{} imports crate::{used}", f.display()));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "upward or sideways imports:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_source_file_is_over_500_lines() {
    let mut files = Vec::new();
    rust_files(&repo("src"), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter(|f| !f.file_name().unwrap().to_string_lossy().contains("test"))
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).unwrap().lines().count();
            (n > 500).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these by idea: {long:?}");
}
