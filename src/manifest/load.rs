//! Reading manifest files: discover → parse YAML → check each document against the schema →
//! typed documents. Every problem in every file is collected; nothing stops at the first.

use std::sync::Arc;

use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use super::diagnostic::Diagnostic;
use super::discover::{Discovery, SourceFile};
use super::files::{FileError, Reader};
use super::types::{
    AgentSpec, DocumentKind, Envelope, Metadata, PolicySpec, SessionSpec, TemplateSpec,
    ABSOLUTE_PATH, DNS_LABEL, DURATION, QUANTITY,
};
use super::yaml::{self, pointer_to_path, Parsed, SpannedDoc};
use crate::model::shorten;

/// A file with more problems than this stops being checked: the rest would only repeat.
const MAX_DIAGNOSTICS: usize = 50;

/// A document that passed the schema, with where it came from.
#[derive(Debug, Clone)]
pub struct Document {
    pub file: Arc<SourceFile>,
    /// Where its nodes stand (its JSON is gone once it is typed).
    pub doc: Arc<SpannedDoc>,
    pub metadata: Metadata,
    pub body: Body,
    /// The fields its `spec` writes, as written (for the trust checks).
    pub spec_fields: Vec<String>,
}

/// The typed `spec` of a document.
#[derive(Debug, Clone)]
pub enum Body {
    Template(TemplateSpec),
    Agent(AgentSpec),
    Session(SessionSpec),
    Policy(PolicySpec),
}

impl Body {
    pub fn kind(&self) -> DocumentKind {
        match self {
            Body::Template(_) => DocumentKind::Template,
            Body::Agent(_) => DocumentKind::Agent,
            Body::Session(_) => DocumentKind::Session,
            Body::Policy(_) => DocumentKind::Policy,
        }
    }
}

impl Document {
    /// An error at `pointer` inside this document.
    pub fn error_at(&self, pointer: &str, message: String) -> Diagnostic {
        Diagnostic::error(
            &self.file.display,
            self.doc.value_pos(pointer),
            &pointer_to_path(pointer),
            message,
        )
    }
}

/// What one file yielded.
#[derive(Debug, Clone)]
pub struct FileResult {
    pub file: Arc<SourceFile>,
    pub documents: Vec<Document>,
    /// (kind, name) of documents that failed the schema but still name themselves.
    pub failed_names: Vec<(DocumentKind, String)>,
    pub diagnostics: Vec<Diagnostic>,
}

impl FileResult {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Everything read from a set of paths, before cross-document checks.
#[derive(Debug, Clone, Default)]
pub struct Read {
    pub files: Vec<FileResult>,
    /// Paths that could not be read at all (absolute form), with their diagnostics.
    pub unreadable: Vec<(String, Diagnostic)>,
    /// Entries that could not be read, each a doubt about itself only (absolute form).
    pub unreadable_entries: Vec<(String, Diagnostic)>,
    /// Warnings about entries that were skipped.
    pub warnings: Vec<Diagnostic>,
}

/// Reads the files [`discover`](super::discover::discover) found.
pub fn read_discovered(found: Discovery, reader: &mut Reader) -> Read {
    let mut read = Read::default();
    for u in found.unreadable {
        let d = Diagnostic::at_path(&u.display, u.message);
        if u.entry_only {
            read.unreadable_entries.push((u.absolute, d));
        } else {
            read.unreadable.push((u.absolute, d));
        }
    }
    read.warnings = found
        .skipped
        .into_iter()
        .map(|s| Diagnostic::warning(&s.display, (0, 0), "", s.message))
        .collect();
    for f in found.files {
        let text = reader.read_text(std::path::Path::new(&f.canonical));
        match text {
            // Deleted between the listing and the read (a session ending): not there.
            Err(FileError::Vanished) if !found.named.contains(&f.canonical) => {}
            text => read.files.push(file_result(f, text, reader, "")),
        }
    }
    read
}

/// Reads one file under the reader's limits and parses it; a file that cannot be read is a
/// diagnostic of its own (its message after `prefix`).
pub fn read_file(f: SourceFile, reader: &mut Reader, prefix: &str) -> FileResult {
    let text = reader.read_text(std::path::Path::new(&f.canonical));
    file_result(f, text, reader, prefix)
}

/// What a read gave: the parsed documents, or the reason it failed.
fn file_result(
    f: SourceFile,
    text: Result<String, FileError>,
    reader: &mut Reader,
    prefix: &str,
) -> FileResult {
    let file = Arc::new(f);
    match text {
        Ok(t) => read_text(file, &t, &mut reader.values),
        Err(e) => FileResult {
            diagnostics: vec![match e.position() {
                Some(at) => Diagnostic::error(&file.display, at, "", format!("{prefix}{e}")),
                None => Diagnostic::at_path(&file.display, format!("{prefix}{e}")),
            }],
            file,
            documents: Vec::new(),
            failed_names: Vec::new(),
        },
    }
}

/// The documents of one file whose text is at hand, parsed within `budget`.
pub fn read_text(file: Arc<SourceFile>, text: &str, budget: &mut yaml::Budget) -> FileResult {
    let mut result = FileResult {
        file: file.clone(),
        documents: Vec::new(),
        failed_names: Vec::new(),
        diagnostics: Vec::new(),
    };
    match yaml::parse_within(text, budget) {
        Ok(docs) => {
            for doc in docs {
                if result.diagnostics.len() >= MAX_DIAGNOSTICS {
                    result.diagnostics.truncate(MAX_DIAGNOSTICS);
                    result.diagnostics.push(Diagnostic::error(
                        &file.display,
                        doc.doc.start,
                        "",
                        format!(
                            "more than {MAX_DIAGNOSTICS} problems: the rest of the file was not checked"
                        ),
                    ));
                    break;
                }
                read_document(&mut result, doc);
            }
        }
        Err(e) => {
            result
                .diagnostics
                .push(Diagnostic::error(&file.display, e.pos, &e.path, e.message))
        }
    }
    result
}

fn read_document(result: &mut FileResult, parsed: Parsed) {
    let Parsed { value, doc } = parsed;
    let mut errors = schema_errors(&result.file.display, &value, &doc);
    nul_errors(
        &result.file.display,
        &doc,
        &value,
        String::new(),
        &mut errors,
    );
    if !errors.is_empty() {
        result.diagnostics.extend(errors);
        let kind = value
            .get("kind")
            .and_then(Value::as_str)
            .and_then(DocumentKind::parse);
        let name = value.pointer("/metadata/name").and_then(Value::as_str);
        if let (Some(kind), Some(name)) = (kind, name) {
            result.failed_names.push((kind, name.to_string()));
        }
        return;
    }
    let spec_fields = value
        .get("spec")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    // The schema passed, so these conversions only fail on a mismatch between the schema
    // and the types, which the tests guard against; report it rather than panic.
    let typed = serde_json::from_value::<Envelope>(value).and_then(|env| {
        let body = match env.kind {
            DocumentKind::Template => Body::Template(serde_json::from_value(env.spec)?),
            DocumentKind::Agent => Body::Agent(serde_json::from_value(env.spec)?),
            DocumentKind::Session => Body::Session(serde_json::from_value(env.spec)?),
            DocumentKind::Policy => Body::Policy(serde_json::from_value(env.spec)?),
        };
        Ok((env.metadata, body))
    });
    match typed {
        Ok((metadata, body)) => result.documents.push(Document {
            file: result.file.clone(),
            doc: Arc::new(doc),
            metadata,
            body,
            spec_fields,
        }),
        Err(e) => result.diagnostics.push(Diagnostic::error(
            &result.file.display,
            doc.start,
            "",
            format!("internal error reading a schema-valid document: {e}"),
        )),
    }
}

/// A NUL character anywhere: the engine cannot pass it on (environment, arguments, paths).
fn nul_errors(file: &str, doc: &SpannedDoc, v: &Value, pointer: String, out: &mut Vec<Diagnostic>) {
    match v {
        Value::String(s) if s.contains('\0') => out.push(Diagnostic::error(
            file,
            doc.value_pos(&pointer),
            &pointer_to_path(&pointer),
            "contains a NUL character".into(),
        )),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                nul_errors(file, doc, item, format!("{pointer}/{i}"), out);
            }
        }
        Value::Object(m) => {
            for (k, item) in m {
                let child = format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1"));
                if k.contains('\0') {
                    out.push(Diagnostic::error(
                        file,
                        doc.key_pos(&child),
                        &pointer_to_path(&child),
                        "the key contains a NUL character".into(),
                    ));
                }
                nul_errors(file, doc, item, child, out);
            }
        }
        _ => {}
    }
}

/// Every schema violation of one document, in document order.
fn schema_errors(file: &str, value: &Value, doc: &SpannedDoc) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = Vec::new();
    if !value.is_object() {
        out.push(Diagnostic::error(
            file,
            doc.start,
            "",
            "a manifest document must be a mapping with apiVersion, kind, metadata and spec".into(),
        ));
        return out;
    }
    for err in super::schema::validator().iter_errors(value) {
        let pointer = err.instance_path().as_str().to_string();
        match err.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                for field in unexpected {
                    let child =
                        format!("{pointer}/{}", field.replace('~', "~0").replace('/', "~1"));
                    out.push(Diagnostic::error(
                        file,
                        doc.key_pos(&child),
                        &pointer_to_path(&child),
                        unknown_field(&pointer, field),
                    ));
                }
            }
            ValidationErrorKind::Required { property } => {
                let field = property.as_str().unwrap_or_default();
                let child = format!("{pointer}/{field}");
                out.push(Diagnostic::error(
                    file,
                    doc.value_pos(&pointer),
                    &pointer_to_path(&child),
                    "required field is missing".into(),
                ));
            }
            kind => out.push(Diagnostic::error(
                file,
                doc.value_pos(&pointer),
                &pointer_to_path(&pointer),
                message(kind, &short_instance(&err.to_string(), err.instance())),
            )),
        }
    }
    out.sort_by_key(|d| (d.line, d.column));
    out.dedup();
    out
}

/// The validator's text with the offending value shortened: it quotes the whole value,
/// which may be huge.
fn short_instance(text: &str, instance: &Value) -> String {
    let full = instance.to_string();
    if full.chars().count() <= 80 {
        return text.to_string();
    }
    shorten(&text.replace(&full, &shorten(&full, 60)), 300)
}

/// Friendlier words for the errors whose default text shows a regular expression.
fn message(kind: &ValidationErrorKind, default: &str) -> String {
    match kind {
        ValidationErrorKind::Pattern { pattern } => {
            let what = match pattern.as_str() {
                p if p == DNS_LABEL => "must be a DNS label: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters",
                p if p == DURATION => "must be a duration such as 30s, 5m, 2h or 7d",
                p if p == QUANTITY => "must be a quantity such as 512Mi, 1Gi or 1G (Kubernetes units; 'm' would mean milli)",
                p if p == ABSOLUTE_PATH => "must be an absolute path (starting with /)",
                _ => return default.to_string(),
            };
            what.to_string()
        }
        ValidationErrorKind::Type { .. } if default.ends_with("is not of type \"string\"") => {
            format!("{default}: quote the value to make it a string")
        }
        ValidationErrorKind::Constant { expected_value } => {
            format!("must be {expected_value}")
        }
        ValidationErrorKind::Enum { options } => {
            let opts: Vec<String> = options
                .as_array()
                .map(|a| a.iter().map(|v| v.to_string()).collect())
                .unwrap_or_default();
            format!("must be one of {}", opts.join(", "))
        }
        _ => default.to_string(),
    }
}

fn unknown_field(pointer: &str, field: &str) -> String {
    if pointer == "/spec" && field == "template" {
        return "unknown field: a Template cannot name another template".into();
    }
    "unknown field".to_string() + &super::suggest::did_you_mean(field)
}

#[cfg(test)]
mod vanished {
    use super::*;
    use crate::manifest::{discover, Limits, Sources};

    #[test]
    fn a_file_deleted_after_the_listing_is_gone_but_a_named_one_is_doubt() {
        let dir = tempfile::tempdir().unwrap();
        let doc =
            "apiVersion: berth/v1\nkind: Agent\nmetadata: { name: a }\nspec: { image: x:1 }\n";
        let a = dir.path().join("a.yaml");
        let b = dir.path().join("b.yaml");
        std::fs::write(&a, doc).unwrap();
        std::fs::write(&b, doc.replace("name: a", "name: b")).unwrap();
        let found = discover::discover(&Sources::trusted(&[dir.path().to_path_buf()]));
        std::fs::remove_file(&b).unwrap();
        let read = read_discovered(found, &mut Reader::new(Limits::default()));
        assert_eq!(read.files.len(), 1);
        assert!(
            read.files[0].diagnostics.is_empty(),
            "{:?}",
            read.files[0].diagnostics
        );

        let found = discover::discover(&Sources::trusted(std::slice::from_ref(&a)));
        std::fs::remove_file(&a).unwrap();
        let read = read_discovered(found, &mut Reader::new(Limits::default()));
        assert!(
            read.files[0].has_errors(),
            "a named file gone is an error, never a deletion"
        );
    }
}
