//! Manifests: files on disk → typed documents with positions → diagnostics. Reading only:
//! what the documents mean together (templates, trust, defaults, admission) is
//! the `resolve` module's business. Imports nothing of berth but [`crate::model`].
//!
//! - [`sources`]: what one load reads (manifest paths, `--sessions` drop-ins, `--policy`)
//!   and how far each is trusted.
//! - [`discover`]: which files the sources name.
//! - [`files`]: reading a file another program wrote: regular files only, size caps.
//! - [`yaml`]: YAML → JSON with the position of every node, within a node budget.
//! - [`types`]: the document types (the JSON Schema is generated from them).
//! - [`schema`]: the published schema and its compiled validator.
//! - [`load`]: per-file reading and schema checks → typed [`load::Document`]s.
//! - `suggest`: the known field closest to a misspelt one.
//! - [`diagnostic`]: `file:line:col: field.path: message`, as text, JSON or GitHub annotations.

pub mod diagnostic;
pub mod discover;
pub mod files;
pub mod load;
pub mod schema;
pub mod sources;
mod suggest;
pub mod types;
pub mod yaml;

pub use diagnostic::{Diagnostic, Format, Severity};
pub use files::Limits;
pub use sources::{Sources, Trust};
