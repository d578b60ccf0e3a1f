//! Where the nodes of a document stood: a compact index, 16 bytes per node keyed by a hash
//! of its JSON pointer.

use std::hash::{Hash, Hasher};

use super::Pos;

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
    /// The index of a document that starts at `start`, from (pointer, position) pairs of its
    /// values and of the keys that name them.
    pub(super) fn new<'a>(
        start: Pos,
        values: impl Iterator<Item = (&'a str, Pos)>,
        keys: impl Iterator<Item = (&'a str, Pos)>,
    ) -> SpannedDoc {
        SpannedDoc {
            start,
            values: index(values),
            keys: index(keys),
        }
    }

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
