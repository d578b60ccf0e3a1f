//! YAML text → JSON values, remembering where every key and value stood so that a JSON
//! pointer from a schema error maps back to a line and column.
//!
//! The parser's events are built into JSON directly (no other tree of the file exists), and
//! positions are kept as a compact index, 16 bytes per node keyed by a hash of its pointer,
//! so a document's JSON can be dropped once it is typed. A [`Budget`] bounds what the files
//! of one load may expand into (aliases, values, nesting).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use saphyr::Scalar;
use saphyr_parser::Event;
use serde_json::{Map, Number, Value};

use crate::model::shorten;

/// A 1-based (line, column) position.
pub type Pos = (usize, usize);

/// One position, keyed by the hash of a JSON pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    pointer: u64,
    line: u32,
    column: u32,
}

/// Where the nodes of one YAML document stood.
#[derive(Debug, Clone)]
pub struct SpannedDoc {
    /// Where the document starts.
    pub start: Pos,
    /// Value positions, sorted by pointer hash.
    values: Vec<Entry>,
    /// Positions of the mapping keys that name values, sorted by pointer hash.
    keys: Vec<Entry>,
}

fn hash(pointer: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    pointer.hash(&mut h);
    h.finish()
}

fn lookup(index: &[Entry], pointer: &str) -> Option<Pos> {
    let h = hash(pointer);
    let i = index.partition_point(|e| e.pointer < h);
    index
        .get(i)
        .filter(|e| e.pointer == h)
        .map(|e| (e.line as usize, e.column as usize))
}

impl SpannedDoc {
    /// Whether the document writes a value at `pointer`.
    pub fn contains(&self, pointer: &str) -> bool {
        lookup(&self.values, pointer).is_some()
    }

    /// Position of the value at `pointer`, or of its nearest ancestor that has one.
    pub fn value_pos(&self, pointer: &str) -> Pos {
        let mut p = pointer;
        loop {
            if let Some(pos) = lookup(&self.values, p) {
                return pos;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return self.start,
            }
        }
    }

    /// Position of the key naming `pointer` (for "unexpected field" errors), else of the value.
    pub fn key_pos(&self, pointer: &str) -> Pos {
        lookup(&self.keys, pointer).unwrap_or_else(|| self.value_pos(pointer))
    }
}

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
    let mut b = Builder {
        budget,
        docs: Vec::new(),
        values: Vec::new(),
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        start: (1, 1),
        aliased: 0,
    };
    for item in saphyr_parser::Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| YamlError {
            pos: (e.marker().line(), e.marker().col() + 1),
            path: String::new(),
            message: format!("invalid YAML: {}", shorten(e.info(), 200)),
        })?;
        b.event(event, (span.start.line(), span.start.col() + 1))?;
    }
    Ok(b.docs)
}

/// A node's position relative to an anchor: (pointer below the anchor, value, key).
type Relative = (String, Pos, Option<Pos>);

/// An open mapping or sequence.
struct Frame {
    /// The pointer of this container.
    pointer: String,
    kind: FrameKind,
    anchor: usize,
    /// Index into `values` where this container's own entry is.
    first: usize,
}

enum FrameKind {
    Seq(Vec<Value>),
    Map {
        map: Map<String, Value>,
        /// The key read, waiting for its value.
        key: Option<(String, Pos)>,
    },
}

struct Builder<'a> {
    budget: &'a mut Budget,
    docs: Vec<Parsed>,
    /// The positions of the document being read, in the order they were met: pointer,
    /// value, and the key that names it.
    values: Vec<Relative>,
    stack: Vec<Frame>,
    /// Anchor id → the anchored value and the positions below it.
    anchors: HashMap<usize, (Value, Vec<Relative>)>,
    root: Option<Value>,
    start: Pos,
    /// Nodes produced by aliases in this file.
    aliased: usize,
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn index<'a>(entries: impl Iterator<Item = (&'a str, Pos)>) -> Vec<Entry> {
    let u = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let mut out: Vec<Entry> = entries
        .map(|(p, (line, column))| Entry {
            pointer: hash(p),
            line: u(line),
            column: u(column),
        })
        .collect();
    out.sort();
    out.dedup_by_key(|e| e.pointer);
    out.shrink_to_fit();
    out
}

impl Builder<'_> {
    fn error(&self, at: Pos, message: String) -> YamlError {
        YamlError {
            pos: at,
            path: String::new(),
            message,
        }
    }

    fn too_many(&self, at: Pos) -> YamlError {
        self.error(
            at,
            "more values than one load reads (--max-values): manifests are small documents".into(),
        )
    }

    /// Whether the next node is a mapping key.
    fn expects_key(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame {
                kind: FrameKind::Map { key: None, .. },
                ..
            })
        )
    }

    /// The pointer of the next value, and the key naming it.
    fn next_pointer(&self) -> (String, Option<Pos>) {
        match self.stack.last() {
            None => (String::new(), None),
            Some(f) => match &f.kind {
                FrameKind::Seq(items) => (format!("{}/{}", f.pointer, items.len()), None),
                FrameKind::Map { key, .. } => match key {
                    Some((k, at)) => (format!("{}/{}", f.pointer, escape(k)), Some(*at)),
                    None => (f.pointer.clone(), None),
                },
            },
        }
    }

    /// Records a value node at `at`, counted against the budget.
    fn record(&mut self, pointer: &str, at: Pos, key: Option<Pos>) -> Result<(), YamlError> {
        if self.budget.nodes == 0 {
            return Err(self.too_many(at));
        }
        self.budget.nodes -= 1;
        self.values.push((pointer.to_string(), at, key));
        Ok(())
    }

    fn event(&mut self, event: Event<'_>, at: Pos) -> Result<(), YamlError> {
        match event {
            Event::DocumentStart(_) => {
                self.values.clear();
                self.anchors.clear();
                self.root = None;
                self.start = at;
            }
            Event::DocumentEnd => {
                let values = std::mem::take(&mut self.values);
                match self.root.take() {
                    None | Some(Value::Null) => {} // an empty document
                    Some(value) => self.docs.push(Parsed {
                        value,
                        doc: SpannedDoc {
                            start: self.start,
                            values: index(values.iter().map(|(p, v, _)| (p.as_str(), *v))),
                            keys: index(
                                values
                                    .iter()
                                    .filter_map(|(p, _, k)| k.map(|k| (p.as_str(), k))),
                            ),
                        },
                    }),
                }
                self.anchors.clear();
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.expects_key() {
                    return Err(self.error(at, "mapping keys must be plain scalars".into()));
                }
                if self.stack.len() >= self.budget.depth {
                    return Err(self.error(
                        at,
                        format!("nested deeper than {} levels", self.budget.depth),
                    ));
                }
                let (pointer, key) = self.next_pointer();
                let first = self.values.len();
                self.record(&pointer, at, key)?;
                let kind = match event {
                    Event::SequenceStart(..) => FrameKind::Seq(Vec::new()),
                    _ => FrameKind::Map {
                        map: Map::new(),
                        key: None,
                    },
                };
                self.stack.push(Frame {
                    pointer,
                    kind,
                    anchor,
                    first,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Err(self.error(at, "unbalanced YAML".into()));
                };
                let value = match frame.kind {
                    FrameKind::Seq(items) => Value::Array(items),
                    FrameKind::Map { map, .. } => Value::Object(map),
                };
                self.anchor(frame.anchor, &frame.pointer, frame.first, &value, at)?;
                self.finish(value, at)?;
            }
            Event::Scalar(text, style, anchor, tag) => {
                let parsed = Scalar::parse_from_cow_and_metadata(text.clone(), style, tag.as_ref());
                if self.expects_key() {
                    let key = match parsed {
                        None | Some(Scalar::Null) => {
                            return Err(self.error(at, "mapping keys must be plain scalars".into()))
                        }
                        // Copied to its own size: the scanner's buffer has room to spare.
                        Some(_) => String::from(text.as_ref()),
                    };
                    if let Some(Frame {
                        kind: FrameKind::Map { key: slot, .. },
                        ..
                    }) = self.stack.last_mut()
                    {
                        *slot = Some((key, at));
                    }
                    return Ok(());
                }
                let (pointer, key) = self.next_pointer();
                let first = self.values.len();
                self.record(&pointer, at, key)?;
                let value = match parsed {
                    Some(s) => scalar(&s).map_err(|m| self.error(at, m))?,
                    None => return Err(self.error(at, "unreadable YAML value".into())),
                };
                self.anchor(anchor, &pointer, first, &value, at)?;
                self.finish(value, at)?;
            }
            Event::Alias(id) => {
                if self.expects_key() {
                    return Err(self.error(at, "mapping keys must be plain scalars".into()));
                }
                let Some((value, below)) = self.anchors.get(&id).cloned() else {
                    return Err(self.error(
                        at,
                        "unresolved YAML alias: anchors work within one document only; use a \
                         Template to share settings between objects"
                            .into(),
                    ));
                };
                self.aliased += below.len();
                if self.aliased > self.budget.alias_nodes {
                    return Err(self.error(
                        at,
                        format!(
                            "YAML aliases expand into more than {} values in this file",
                            self.budget.alias_nodes
                        ),
                    ));
                }
                if below.len() > self.budget.nodes {
                    return Err(self.too_many(at));
                }
                let (pointer, key) = self.next_pointer();
                for (i, (suffix, pos, inner_key)) in below.into_iter().enumerate() {
                    // The alias's own node stands where the alias is written.
                    let (pos, inner_key) = if i == 0 { (at, key) } else { (pos, inner_key) };
                    self.record(&format!("{pointer}{suffix}"), pos, inner_key)?;
                }
                self.finish(value, at)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
        Ok(())
    }

    /// Remembers an anchored value with the positions below it (counted as values too).
    fn anchor(
        &mut self,
        anchor: usize,
        pointer: &str,
        first: usize,
        value: &Value,
        at: Pos,
    ) -> Result<(), YamlError> {
        if anchor == 0 {
            return Ok(());
        }
        let below: Vec<Relative> = self.values[first..]
            .iter()
            .map(|(p, pos, key)| (p[pointer.len()..].to_string(), *pos, *key))
            .collect();
        if below.len() > self.budget.nodes {
            return Err(self.too_many(at));
        }
        self.budget.nodes -= below.len();
        self.anchors.insert(anchor, (value.clone(), below));
        Ok(())
    }

    /// A value is complete: it goes into its parent (or becomes the document).
    fn finish(&mut self, value: Value, at: Pos) -> Result<(), YamlError> {
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(value);
            return Ok(());
        };
        match &mut frame.kind {
            FrameKind::Seq(items) => items.push(value),
            FrameKind::Map { map, key } => {
                let Some((name, key_at)) = key.take() else {
                    return Err(self.error(at, "a mapping value without a key".into()));
                };
                if map.contains_key(&name) {
                    return Err(self.error(
                        key_at,
                        format!(
                            "invalid YAML: duplicated key {}",
                            crate::model::quoted(&name)
                        ),
                    ));
                }
                map.insert(name, value);
            }
        }
        Ok(())
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
        Scalar::String(s) => Value::String(String::from(s.as_ref())),
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
        let d = &docs[0].doc;
        assert_eq!(d.value_pos("/b/c/1"), (3, 10));
        assert_eq!(d.key_pos("/b/c"), (3, 3));
        assert_eq!(d.value_pos("/b/missing/deeper"), d.value_pos("/b"));
        assert!(d.contains("/b/c/0") && !d.contains("/b/c/2"));
        assert_eq!(docs[1].value, serde_json::json!({"d": true}));
        assert_eq!(docs[1].doc.key_pos("/d"), (7, 1));
    }

    #[test]
    fn aliases_expand_with_their_positions() {
        let docs = parse("a: &x { b: [1, 2] }\nc: *x\n").unwrap();
        assert_eq!(
            docs[0].value,
            serde_json::json!({"a": {"b": [1, 2]}, "c": {"b": [1, 2]}})
        );
        let d = &docs[0].doc;
        assert_eq!(d.value_pos("/c"), (2, 4));
        assert_eq!(d.value_pos("/c/b/1"), d.value_pos("/a/b/1"));
        let mut laughs = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let p = i - 1;
            laughs.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        let e = parse(&laughs).unwrap_err();
        assert!(e.message.contains("aliases expand into more than"), "{e:?}");
    }

    #[test]
    fn budgets_bound_values_and_nesting() {
        let mut b = Budget::with_nodes(5);
        let e = parse_within("[1, 2, 3, 4, 5, 6]", &mut b).unwrap_err();
        assert!(e.message.contains("--max-values"), "{e:?}");
        let deep = format!("a: {}{}\n", "[".repeat(100), "]".repeat(100));
        let e = parse(&deep).unwrap_err();
        assert!(e.message.contains("nested deeper than 64 levels"), "{e:?}");
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
        let key = parse("[a]: 1\n").unwrap_err();
        assert!(key.message.contains("plain scalars"), "{key:?}");
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
