//! Manifests: files on disk → typed documents → diagnostics → the desired set.
//!
//! - [`cache`]: skips re-reading on a resync when no file changed.
//! - [`discover`]: which files a list of paths names.
//! - [`yaml`]: YAML → JSON with the position of every node.
//! - [`types`]: the document types (the JSON Schema is generated from them).
//! - [`schema`]: the published schema and its compiled validator.
//! - [`load`]: per-file reading and schema checks.
//! - [`resolve`]: cross-document checks, template merging, defaults → [`crate::model::DesiredSet`].
//! - `admission`: the Policy in force and the rules each object breaks (class Policy).
//! - `privileges`: checks and normal form of privileged mode, host namespaces, devices,
//!   sysctls and AppArmor.
//! - [`diagnostic`]: `file:line:col: field.path: message`, as text, JSON or GitHub annotations.

mod admission;
pub mod cache;
pub mod diagnostic;
pub mod discover;
pub mod load;
mod privileges;
pub mod resolve;
pub mod schema;
pub mod types;
pub mod yaml;

use std::path::PathBuf;

pub use diagnostic::{Diagnostic, Format, Severity};
pub use resolve::Loaded;

/// Reads, checks and resolves every manifest under `paths`.
pub fn load(paths: &[PathBuf]) -> Loaded {
    resolve::resolve(load::read(paths))
}
