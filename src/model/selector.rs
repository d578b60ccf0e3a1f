//! Label selectors as kubectl writes them: requirements separated by commas, all of which
//! must hold — `key=value` (or `==`), `key!=value`, `key` (the label exists), `!key` (it
//! does not), `key in (a,b)`, `key notin (a,b)`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("selector {selector:?}: {message}")]
pub struct SelectorError {
    pub selector: String,
    pub message: String,
}

/// One requirement on a label.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    Exists(String),
    Absent(String),
    In(String, BTreeSet<String>),
    NotIn(String, BTreeSet<String>),
}

impl Requirement {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::Absent(k) => !labels.contains_key(k),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
        }
    }
}

/// A parsed selector; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    requirements: Vec<Requirement>,
    text: String,
}

impl Selector {
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Splits at commas outside parentheses.
fn split(s: &str) -> Option<Vec<&str>> {
    let (mut depth, mut start, mut out) = (0i32, 0usize, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        if !(0..=1).contains(&depth) {
            return None;
        }
    }
    (depth == 0).then(|| {
        out.push(&s[start..]);
        out
    })
}

fn key(k: &str) -> Result<String, String> {
    let k = k.trim();
    if k.is_empty() {
        return Err("a requirement names no label".into());
    }
    if k.chars().any(|c| c.is_whitespace() || "=!(),".contains(c)) {
        return Err(format!("{k:?} is not a label key"));
    }
    Ok(k.to_string())
}

fn value(v: &str) -> Result<String, String> {
    let v = v.trim();
    if v.chars().any(|c| c.is_whitespace() || "=!(),".contains(c)) {
        return Err(format!("{v:?} is not a label value"));
    }
    Ok(v.to_string())
}

fn set(rest: &str) -> Result<BTreeSet<String>, String> {
    let inner = rest
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| "a set is written (a,b)".to_string())?;
    inner.split(',').map(value).collect()
}

fn requirement(r: &str) -> Result<Requirement, String> {
    let r = r.trim();
    if let Some(k) = r.strip_prefix('!') {
        return Ok(Requirement::Absent(key(k)?));
    }
    if let Some((k, v)) = r.split_once("!=") {
        return Ok(Requirement::NotEquals(key(k)?, value(v)?));
    }
    if let Some((k, v)) = r.split_once("==").or_else(|| r.split_once('=')) {
        return Ok(Requirement::Equals(key(k)?, value(v)?));
    }
    if let Some((k, rest)) = r.split_once(" notin ") {
        return Ok(Requirement::NotIn(key(k)?, set(rest)?));
    }
    if let Some((k, rest)) = r.split_once(" in ") {
        return Ok(Requirement::In(key(k)?, set(rest)?));
    }
    Ok(Requirement::Exists(key(r)?))
}

impl FromStr for Selector {
    type Err = SelectorError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |message: String| SelectorError {
            selector: s.to_string(),
            message,
        };
        if s.trim().is_empty() {
            return Ok(Selector::default());
        }
        let parts = split(s).ok_or_else(|| err("unbalanced parentheses".into()))?;
        let requirements = parts
            .into_iter()
            .map(requirement)
            .collect::<Result<_, _>>()
            .map_err(err)?;
        Ok(Selector {
            requirements,
            text: s.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn selectors_match_as_kubectls_do() {
        let alice = labels(&[("user", "alice"), ("tier", "free")]);
        let bob = labels(&[("user", "bob")]);
        let cases: &[(&str, bool, bool)] = &[
            ("", true, true),
            ("user=alice", true, false),
            ("user==alice", true, false),
            ("user!=alice", false, true),
            ("tier", true, false),
            ("!tier", false, true),
            ("user=alice,tier=free", true, false),
            ("user in (alice, carol)", true, false),
            ("user notin (alice)", false, true),
            ("user in (alice,bob),!tier", false, true),
            ("team!=red", true, true),
        ];
        for (s, a, b) in cases {
            let sel: Selector = s.parse().unwrap();
            assert_eq!((sel.matches(&alice), sel.matches(&bob)), (*a, *b), "{s}");
        }
    }

    #[test]
    fn bad_selectors_say_why() {
        for (s, why) in [
            ("user=a b", "not a label value"),
            ("=x", "names no label"),
            ("user in (a", "unbalanced"),
            ("user in a", "(a,b)"),
            ("a,,b", "names no label"),
        ] {
            let e = s.parse::<Selector>().unwrap_err().to_string();
            assert!(e.contains(why), "{s}: {e}");
        }
    }
}
