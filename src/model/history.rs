//! The instance's recent history: each action berth took (by `berth run`, `apply`, `down`
//! or an operator's command), how it ended, and the failures seen on the engine. Bounded:
//! the oldest records go first. Kept in the state file; `berth describe` shows an object's
//! last ones, `berth events` all of them.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::runtime::{time_from_unix_ms, unix_ms};
use super::{Cause, FailureClass, ObjectKey, Verb};

/// How many records the history keeps.
pub const HISTORY_CAP: usize = 500;

/// Which berth command did it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Actor {
    /// The loop of `berth run` (including what it did for `berth stop`/`start`/`restart`).
    Run,
    Apply,
    Down,
    /// `berth stop`, `start` or `restart` acting themselves (no `berth run` was running).
    Operator,
}

impl Actor {
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Run => "run",
            Actor::Apply => "apply",
            Actor::Down => "down",
            Actor::Operator => "operator",
        }
    }
}

/// An error with its class, as a record keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordError {
    pub class: FailureClass,
    pub message: String,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Happening {
    /// An action berth took; `error` when it failed.
    Action {
        verb: Verb,
        cause: Cause,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<RecordError>,
    },
    /// A failure seen on the engine (an exit with an error, a failing health check).
    Failure {
        class: FailureClass,
        message: String,
    },
}

/// One entry of the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// Numbers records in order, across the history's whole life (`berth events -f` resumes
    /// from the last one it printed).
    pub seq: u64,
    /// Unix milliseconds.
    #[serde(rename = "atMs", with = "ms")]
    pub at: SystemTime,
    #[serde(with = "key_text")]
    pub object: ObjectKey,
    pub by: Actor,
    #[serde(flatten)]
    pub what: Happening,
}

impl Record {
    /// Whether it tells of something that went wrong.
    pub fn is_error(&self) -> bool {
        matches!(
            self.what,
            Happening::Failure { .. } | Happening::Action { error: Some(_), .. }
        )
    }
}

/// The bounded history. Shared on clone (the loop snapshots it after every pass; it
/// changes only when something happens), copied on the first push after.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct History {
    records: Arc<VecDeque<Record>>,
}

impl History {
    /// Appends a record, dropping the oldest beyond [`HISTORY_CAP`].
    pub fn push(&mut self, at: SystemTime, object: ObjectKey, by: Actor, what: Happening) {
        let seq = self.records.back().map_or(1, |r| r.seq + 1);
        let records = Arc::make_mut(&mut self.records);
        records.push_back(Record {
            seq,
            at,
            object,
            by,
            what,
        });
        while records.len() > HISTORY_CAP {
            records.pop_front();
        }
    }

    pub fn records(&self) -> impl DoubleEndedIterator<Item = &Record> {
        self.records.iter()
    }

    /// The last `n` records of one object, oldest first.
    pub fn last_of(&self, key: &ObjectKey, n: usize) -> Vec<&Record> {
        let mut out: Vec<&Record> = self
            .records
            .iter()
            .rev()
            .filter(|r| &r.object == key)
            .take(n)
            .collect();
        out.reverse();
        out
    }

    /// The records after `seq`.
    pub fn after(&self, seq: u64) -> impl Iterator<Item = &Record> {
        self.records.iter().filter(move |r| r.seq > seq)
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The last record's number (0 for none).
    pub fn last_seq(&self) -> u64 {
        self.records.back().map_or(0, |r| r.seq)
    }
}

mod ms {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(super::unix_ms(t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        Ok(super::time_from_unix_ms(u64::deserialize(d)?))
    }
}

/// An object key as its `kind/name` text.
pub(crate) mod key_text {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    use crate::model::ObjectKey;

    pub fn serialize<S: Serializer>(k: &ObjectKey, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(k)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ObjectKey, D::Error> {
        String::deserialize(d)?.parse().map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    fn action(reason: &str) -> Happening {
        Happening::Action {
            verb: Verb::Restart,
            cause: Cause::Operator,
            reason: reason.into(),
            error: None,
        }
    }

    #[test]
    fn the_history_is_bounded_numbered_and_reads_back() {
        let mut h = History::default();
        let a = ObjectKey::new(Kind::Agent, "a");
        let b = ObjectKey::new(Kind::Session, "b");
        for i in 0..(HISTORY_CAP + 10) {
            let key = if i % 2 == 0 { &a } else { &b };
            h.push(
                time_from_unix_ms(i as u64),
                key.clone(),
                Actor::Run,
                action(&i.to_string()),
            );
        }
        assert_eq!(h.records().count(), HISTORY_CAP);
        assert_eq!(h.records().next().unwrap().seq, 11);
        assert_eq!(h.last_seq(), (HISTORY_CAP + 10) as u64);
        let last = h.last_of(&a, 2);
        assert_eq!(last.len(), 2);
        assert!(last[0].seq < last[1].seq);
        assert!(last.iter().all(|r| r.object == a));
        assert_eq!(h.after(h.last_seq() - 3).count(), 3);

        let json = serde_json::to_string(&h).unwrap();
        assert!(json.contains(r#""object":"agent/a""#), "{json}");
        assert!(json.contains(r#""type":"action""#), "{json}");
        let back: History = serde_json::from_str(&json).unwrap();
        assert_eq!(back, h);
    }
}
