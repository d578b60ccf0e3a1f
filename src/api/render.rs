//! A request → the text of the Session manifest the API writes: the same document a
//! program would drop into a `--sessions` directory, so the files stay the truth.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::types::CreateSession;

/// The first line of every file the API writes.
pub const HEADER: &str = "# Written by the berth session API; change it through the API.\n";

/// Whether `s` is a DNS label (what `metadata.name` must be), checked before it becomes
/// part of a path.
pub fn is_name(s: &str) -> bool {
    let b = s.as_bytes();
    (1..=63).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// A fresh name for a Session of `template`: `<template>-<8 hex digits>`.
pub fn generate_name(template: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let seed = format!("{now}/{n}/{}", std::process::id());
    let digest = Sha256::digest(seed.as_bytes());
    let suffix: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    let prefix: String = template.chars().take(54).collect();
    let prefix = prefix.trim_end_matches('-');
    if prefix.is_empty() || !is_name(prefix) {
        format!("s-{suffix}")
    } else {
        format!("{prefix}-{suffix}")
    }
}

/// The manifest of a create request, for the Session `name`.
pub fn session(name: &str, req: &CreateSession) -> String {
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(name));
    if !req.labels.is_empty() {
        metadata.insert("labels".into(), json!(req.labels));
    }
    let mut spec = Map::new();
    spec.insert("template".into(), json!(req.template));
    spec.insert("ttl".into(), json!(req.ttl));
    if !req.env.is_empty() {
        spec.insert("env".into(), json!(req.env));
    }
    document(json!({
        "apiVersion": "berth/v1",
        "kind": "Session",
        "metadata": metadata,
        "spec": spec,
    }))
}

/// The same manifest with another `ttl` (everything else as it was). `None` when the text
/// is not one Session document.
pub fn with_ttl(text: &str, ttl: Duration) -> Option<String> {
    let mut docs = crate::manifest::yaml::parse(text).ok()?;
    if docs.len() != 1 {
        return None;
    }
    let mut value = docs.pop()?.value;
    if value.get("kind")? != "Session" {
        return None;
    }
    let spec = value.get_mut("spec")?.as_object_mut()?;
    spec.insert("ttl".into(), json!(format_ttl(ttl)));
    Some(document(value))
}

/// A duration as a manifest writes it, in whole seconds (`1h 30m 5s`).
pub fn format_ttl(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs().max(1))).to_string()
}

fn document(value: Value) -> String {
    let body = crate::manifest::yaml::to_text(&value).expect("JSON always renders");
    format!("{HEADER}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_dns_labels_and_generated_ones_are_too() {
        for ok in ["a", "sess-1", "x9"] {
            assert!(is_name(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "A", "a/b", "../x", "a.b", &"a".repeat(64)] {
            assert!(!is_name(bad), "{bad}");
        }
        let a = generate_name("code-agent");
        assert!(a.starts_with("code-agent-") && is_name(&a), "{a}");
        assert_ne!(a, generate_name("code-agent"));
        assert!(is_name(&generate_name(&"t".repeat(63))));
    }

    #[test]
    fn a_request_renders_as_a_session_and_renews_keep_the_rest() {
        let req = CreateSession {
            template: "web".into(),
            name: None,
            ttl: "2h".into(),
            labels: [("user".to_string(), "u1: \"x\"".to_string())].into(),
            env: [("MODE".to_string(), "yes".to_string())].into(),
        };
        let text = session("s1", &req);
        let parsed = crate::manifest::yaml::parse(&text).unwrap();
        let v = &parsed[0].value;
        assert_eq!(v["metadata"]["labels"]["user"], "u1: \"x\"");
        assert_eq!(v["spec"]["env"]["MODE"], "yes", "a string, not a boolean");
        assert_eq!(v["spec"]["ttl"], "2h");
        let renewed = with_ttl(&text, Duration::from_secs(5400)).unwrap();
        let v2 = &crate::manifest::yaml::parse(&renewed).unwrap()[0].value;
        assert_eq!(v2["spec"]["ttl"], "1h 30m");
        assert_eq!(v2["metadata"], v["metadata"]);
        assert!(with_ttl("kind: Agent\nspec: {}\n", Duration::from_secs(1)).is_none());
    }
}
