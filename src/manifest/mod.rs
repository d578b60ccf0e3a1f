//! Manifests: files on disk → typed documents → diagnostics → the desired set.
//!
//! - [`sources`]: what one load reads (manifest paths, `--sessions` drop-ins, `--policy`)
//!   and how far each is trusted.
//! - [`discover`]: which files the sources name.
//! - [`files`]: reading a file another program wrote: regular files only, size caps.
//! - [`yaml`]: YAML → JSON with the position of every node, within a node budget.
//! - [`types`]: the document types (the JSON Schema is generated from them).
//! - [`schema`]: the published schema and its compiled validator.
//! - [`load`]: per-file reading and schema checks.
//! - [`policy_source`]: the Policy from `--policy`, failing closed.
//! - `check`: per-document checks and value bounds.
//! - `dropin`: what a document may say given its source's trust.
//! - `merge`: a template merged under an object's own fields.
//! - `normalize`: merged spec → the normalized [`crate::model::Spec`].
//! - [`resolve`]: cross-document checks, admission → [`crate::model::DesiredSet`].
//! - `admission`: the rules each object breaks (class Policy).
//! - `privileges`: checks and normal form of privileged mode, host namespaces, devices,
//!   sysctls and AppArmor.
//! - [`cache`]: skips re-reading on a resync when no input changed.
//! - [`diagnostic`]: `file:line:col: field.path: message`, as text, JSON or GitHub annotations.

mod admission;
pub mod cache;
mod check;
pub mod diagnostic;
pub mod discover;
mod dropin;
pub mod files;
pub mod load;
mod merge;
mod normalize;
pub mod policy_source;
mod privileges;
pub mod resolve;
pub mod schema;
pub mod sources;
pub mod types;
pub mod yaml;

pub use diagnostic::{Diagnostic, Format, Severity};
pub use files::Limits;
pub use resolve::Loaded;
pub use sources::{Sources, Trust};

/// Reads, checks and resolves everything `sources` names.
pub fn load(sources: &Sources) -> Loaded {
    let mut reader = files::Reader::new(sources.limits);
    let policy = policy_source::load(sources.policy.as_deref(), &mut reader);
    let read = load::read_discovered(discover::discover(sources), &mut reader);
    resolve::resolve(read, policy, &mut reader)
}

/// Reads, checks and resolves documents whose text is at hand, as if read from files named
/// by the first element of each pair (a Policy too, when given): the whole pipeline without
/// the file system, for tests and the fuzz target.
pub fn load_texts(
    texts: &[(discover::SourceFile, String)],
    policy: Option<(&str, &str)>,
    limits: Limits,
) -> Loaded {
    let mut reader = files::Reader::new(limits);
    let policy = match policy {
        Some((name, text)) => policy_source::from_text(name, text, &mut reader),
        None => policy_source::PolicyLoad::builtin(),
    };
    let read = load::Read {
        files: texts
            .iter()
            .map(|(f, t)| load::read_text(std::sync::Arc::new(f.clone()), t, &mut reader.values))
            .collect(),
        ..load::Read::default()
    };
    resolve::resolve(read, policy, &mut reader)
}
