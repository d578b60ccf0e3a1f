//! YAML text → JSON values, remembering where every key and value stood so that a JSON
//! pointer from a schema error maps back to a line and column.

use std::collections::HashMap;

use saphyr::{MarkedYaml, Scalar, YamlData, YamlLoader};
use serde_json::{Map, Number, Value};

use crate::model::shorten;

/// A 1-based (line, column) position.
pub type Pos = (usize, usize);

/// One YAML document as JSON, with the positions of its nodes.
#[derive(Debug, Clone)]
pub struct SpannedDoc {
    pub value: Value,
    /// Where the document starts.
    pub start: Pos,
    /// JSON pointer → position of the value.
    values: HashMap<String, Pos>,
    /// JSON pointer → position of the mapping key that names it.
    keys: HashMap<String, Pos>,
}

impl SpannedDoc {
    /// Position of the value at `pointer`, or of its nearest ancestor that has one.
    pub fn value_pos(&self, pointer: &str) -> Pos {
        let mut p = pointer;
        loop {
            if let Some(pos) = self.values.get(p) {
                return *pos;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return self.start,
            }
        }
    }

    /// Position of the key naming `pointer` (for "unexpected field" errors), else of the value.
    pub fn key_pos(&self, pointer: &str) -> Pos {
        self.keys
            .get(pointer)
            .copied()
            .unwrap_or_else(|| self.value_pos(pointer))
    }
}

/// A problem that stops a file from being read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub pos: Pos,
    pub path: String,
    pub message: String,
}

/// Bounds on what one file may expand into: a small file must not become a large tree.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Nodes that YAML aliases may produce by copying their anchors, in one file.
    pub alias_nodes: usize,
    /// Nodes (mappings, sequences, scalars) in one file, aliases included.
    pub nodes: usize,
    /// Nesting of mappings and sequences.
    pub depth: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            alias_nodes: 10_000,
            nodes: 200_000,
            depth: 64,
        }
    }
}

/// Parses every document of a file. Empty documents (only comments, or nothing between two
/// `---`) are skipped.
pub fn parse(text: &str) -> Result<Vec<SpannedDoc>, YamlError> {
    parse_within(text, Budget::default())
}

/// [`parse`] within `budget`.
pub fn parse_within(text: &str, budget: Budget) -> Result<Vec<SpannedDoc>, YamlError> {
    let scan = |e: saphyr::ScanError| YamlError {
        pos: (e.marker().line(), e.marker().col() + 1),
        path: String::new(),
        message: format!("invalid YAML: {}", shorten(e.info(), 200)),
    };
    let mut loader: YamlLoader<'_, MarkedYaml<'_>> = YamlLoader::default();
    loader.alias_limit(budget.alias_nodes);
    let mut parser = saphyr_parser::Parser::new_from_str(text);
    parser.load(&mut loader, true).map_err(scan)?;
    if let Some(e) = loader.error() {
        return Err(scan(e.clone()));
    }
    let docs = loader.into_documents();
    let mut out = Vec::new();
    let mut left = budget.nodes;
    for doc in &docs {
        if matches!(doc.data, YamlData::Value(Scalar::Null)) {
            continue;
        }
        let mut spanned = SpannedDoc {
            value: Value::Null,
            start: pos(doc),
            values: HashMap::new(),
            keys: HashMap::new(),
        };
        let mut walk = Walk {
            doc: &mut spanned,
            left: &mut left,
            budget,
        };
        let value = walk.convert(doc, String::new(), 0)?;
        spanned.value = value;
        out.push(spanned);
    }
    Ok(out)
}

fn pos(node: &MarkedYaml<'_>) -> Pos {
    (node.span.start.line(), node.span.start.col() + 1)
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

struct Walk<'a> {
    doc: &'a mut SpannedDoc,
    /// Nodes the file may still hold.
    left: &'a mut usize,
    budget: Budget,
}

impl Walk<'_> {
    fn convert(
        &mut self,
        node: &MarkedYaml<'_>,
        pointer: String,
        depth: usize,
    ) -> Result<Value, YamlError> {
        let err = |message: String| YamlError {
            pos: pos(node),
            path: pointer_to_path(&pointer),
            message,
        };
        if *self.left == 0 {
            return Err(err(format!(
                "the file holds more than {} values: manifests are small documents",
                self.budget.nodes
            )));
        }
        *self.left -= 1;
        if depth > self.budget.depth {
            return Err(err(format!(
                "nested deeper than {} levels",
                self.budget.depth
            )));
        }
        self.doc.values.insert(pointer.clone(), pos(node));
        Ok(match &node.data {
            YamlData::Value(s) => scalar(s).map_err(err)?,
            YamlData::Representation(s, _, _) => Value::String(s.to_string()),
            YamlData::Tagged(_, inner) => self.convert(inner, pointer, depth)?,
            YamlData::Sequence(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.convert(item, format!("{pointer}/{i}"), depth + 1))
                    .collect::<Result<_, _>>()?,
            ),
            YamlData::Mapping(entries) => {
                let mut map = Map::new();
                for (k, v) in entries {
                    let key = match &k.data {
                        YamlData::Value(Scalar::String(s)) => s.to_string(),
                        YamlData::Value(Scalar::Integer(i)) => i.to_string(),
                        YamlData::Value(Scalar::Boolean(b)) => b.to_string(),
                        YamlData::Value(Scalar::FloatingPoint(f)) => f.to_string(),
                        YamlData::Representation(s, _, _) => s.to_string(),
                        _ => {
                            return Err(YamlError {
                                pos: pos(k),
                                path: pointer_to_path(&pointer),
                                message: "mapping keys must be plain scalars".into(),
                            })
                        }
                    };
                    let child = format!("{pointer}/{}", escape(&key));
                    self.doc.keys.insert(child.clone(), pos(k));
                    let value = self.convert(v, child, depth + 1)?;
                    map.insert(key, value);
                }
                Value::Object(map)
            }
            // The loader expands aliases within a document; one it could not resolve ends here.
            YamlData::Alias(_) => {
                return Err(err(
                    "unresolved YAML alias: anchors work within one document only; use a Template \
                     to share settings between objects"
                        .into(),
                ))
            }
            YamlData::BadValue => return Err(err("unreadable YAML value".into())),
        })
    }
}

fn scalar(s: &Scalar<'_>) -> Result<Value, String> {
    Ok(match s {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::Number((*i).into()),
        Scalar::FloatingPoint(f) => Number::from_f64(f.into_inner())
            .map(Value::Number)
            .ok_or_else(|| format!("{} is not a finite number", f.into_inner()))?,
        Scalar::String(s) => Value::String(s.to_string()),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_of_keys_and_values() {
        let docs = parse("a: 1\nb:\n  c: [x, y]\n---\n# only a comment\n---\nd: true\n").unwrap();
        assert_eq!(docs.len(), 2, "the comment-only document is skipped");
        assert_eq!(
            docs[0].value,
            serde_json::json!({"a": 1, "b": {"c": ["x", "y"]}})
        );
        assert_eq!(docs[0].value_pos("/b/c/1"), (3, 10));
        assert_eq!(docs[0].key_pos("/b/c"), (3, 3));
        assert_eq!(
            docs[0].value_pos("/b/missing/deeper"),
            docs[0].value_pos("/b")
        );
        assert_eq!(docs[1].value, serde_json::json!({"d": true}));
        assert_eq!(docs[1].key_pos("/d"), (7, 1));
    }

    #[test]
    fn yaml_1_2_keeps_norway() {
        let docs = parse("country: no\nflag: yes\nport: 8080\n").unwrap();
        assert_eq!(
            docs[0].value,
            serde_json::json!({"country": "no", "flag": "yes", "port": 8080})
        );
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let e = parse("a: 1\nb: [1, 2\n").unwrap_err();
        assert!(e.message.starts_with("invalid YAML"), "{e:?}");
        assert!(e.pos.0 >= 2, "{e:?}");
        let dup = parse("a: 1\na: 2\n").unwrap_err();
        assert!(dup.message.contains("duplicated key"), "{dup:?}");
    }

    #[test]
    fn pointers_become_field_paths() {
        assert_eq!(
            pointer_to_path("/spec/ports/0/containerPort"),
            "spec.ports[0].containerPort"
        );
        assert_eq!(pointer_to_path("/spec/env/A~1B"), "spec.env.A/B");
        assert_eq!(pointer_to_path(""), "");
    }
}
