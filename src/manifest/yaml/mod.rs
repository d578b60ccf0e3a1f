//! YAML text → JSON values, remembering where every key and value stood so that a JSON
//! pointer from a schema error maps back to a line and column.
//!
//! The parser's events are built into JSON directly (no other tree of the file exists), and
//! positions are kept as a compact index, 16 bytes per node keyed by a hash of its pointer,
//! so a document's JSON can be dropped once it is typed. A [`Budget`] bounds what the files
//! of one load may expand into (aliases, values, nesting). [`to_text`] goes the other way,
//! for output.

mod builder;
mod emit;
mod spans;
#[cfg(test)]
mod tests;

use serde_json::Value;

use crate::model::shorten;
use builder::Builder;
pub use emit::to_text;
pub use spans::SpannedDoc;

/// A 1-based (line, column) position.
pub type Pos = (usize, usize);

/// One parsed document: its JSON, to be typed and dropped, and its positions, to be kept.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub value: Value,
    pub doc: SpannedDoc,
}

/// A problem that stops a file from being read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub pos: Pos,
    pub path: String,
    pub message: String,
}

/// Bounds on what files may expand into: a small file must not become a large tree.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Nodes that YAML aliases may produce by copying their anchors, in one file.
    pub alias_nodes: usize,
    /// Nodes (mappings, sequences, scalars) still allowed, aliases included; shared by
    /// every file of one load.
    pub nodes: usize,
    /// Nesting of mappings and sequences.
    pub depth: usize,
}

impl Budget {
    /// The budget of one load that may hold `nodes` values in all.
    pub fn with_nodes(nodes: usize) -> Budget {
        Budget {
            alias_nodes: 10_000,
            nodes,
            depth: 64,
        }
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget::with_nodes(200_000)
    }
}

/// Parses every document of a file. Empty documents (only comments, or nothing between two
/// `---`) are skipped.
pub fn parse(text: &str) -> Result<Vec<Parsed>, YamlError> {
    parse_within(text, &mut Budget::default())
}

/// [`parse`] within `budget`, which it spends.
pub fn parse_within(text: &str, budget: &mut Budget) -> Result<Vec<Parsed>, YamlError> {
    let mut b = Builder::new(budget);
    for item in saphyr_parser::Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| YamlError {
            pos: (e.marker().line(), e.marker().col() + 1),
            path: String::new(),
            message: format!("invalid YAML: {}", shorten(e.info(), 200)),
        })?;
        b.event(event, (span.start.line(), span.start.col() + 1))?;
    }
    Ok(b.into_docs())
}

/// `/spec/ports/0/containerPort` → `spec.ports[0].containerPort` (long keys shortened).
pub fn pointer_to_path(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = shorten(&seg.replace("~1", "/").replace("~0", "~"), 40);
        if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    out
}
