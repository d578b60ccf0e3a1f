//! The parser's events built into JSON values, with the position of every node, within a
//! [`Budget`].

use std::collections::HashMap;

use saphyr::Scalar;
use saphyr_parser::Event;
use serde_json::{Map, Number, Value};

use super::{Budget, Parsed, Pos, SpannedDoc, YamlError};

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

pub(super) struct Builder<'a> {
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

impl<'a> Builder<'a> {
    pub(super) fn new(budget: &'a mut Budget) -> Builder<'a> {
        Builder {
            budget,
            docs: Vec::new(),
            values: Vec::new(),
            stack: Vec::new(),
            anchors: HashMap::new(),
            root: None,
            start: (1, 1),
            aliased: 0,
        }
    }

    /// The documents read, once every event has been given.
    pub(super) fn into_docs(self) -> Vec<Parsed> {
        self.docs
    }

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

    pub(super) fn event(&mut self, event: Event<'_>, at: Pos) -> Result<(), YamlError> {
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
                        doc: SpannedDoc::new(
                            self.start,
                            values.iter().map(|(p, v, _)| (p.as_str(), *v)),
                            values
                                .iter()
                                .filter_map(|(p, _, k)| k.map(|k| (p.as_str(), k))),
                        ),
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
