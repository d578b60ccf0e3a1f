//! Parsers of flag values: durations, sizes, instance names.

use std::time::Duration;

pub(super) fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s)
        .map_err(|e| format!("{s:?} is not a duration (try 90s or 5m): {e}"))
}

pub(super) fn parse_instance(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if ok {
        Ok(s.to_string())
    } else {
        Err(
            "an instance name is a DNS label: lower-case letters, digits and '-', at most 63"
                .into(),
        )
    }
}

/// A size as a Kubernetes quantity (`1Mi`, `10Gi`).
pub(super) fn parse_size(s: &str) -> Result<u64, String> {
    crate::model::parse_quantity(s).map_err(|e| e.to_string())
}

/// `KIND/NAME` as kubectl takes it: `agent/web`, `agents/web`, `session/s1`.
pub(super) fn parse_object(s: &str) -> Result<crate::model::ObjectKey, String> {
    let (kind, name) = s
        .split_once('/')
        .ok_or_else(|| format!("{s:?} is not KIND/NAME (e.g. agent/web, session/s1)"))?;
    let kind = match kind.to_ascii_lowercase().as_str() {
        "agent" | "agents" => crate::model::Kind::Agent,
        "session" | "sessions" => crate::model::Kind::Session,
        other => return Err(format!("unknown kind {other:?}: agent or session")),
    };
    if name.is_empty() || name.contains('/') {
        return Err(format!(
            "{s:?} is not KIND/NAME (e.g. agent/web, session/s1)"
        ));
    }
    Ok(crate::model::ObjectKey::new(kind, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Kind, ObjectKey};

    #[test]
    fn objects_read_as_kubectl_writes_them() {
        assert_eq!(
            parse_object("agent/web"),
            Ok(ObjectKey::new(Kind::Agent, "web"))
        );
        assert_eq!(
            parse_object("Sessions/s1"),
            Ok(ObjectKey::new(Kind::Session, "s1"))
        );
        assert!(parse_object("web").is_err());
        assert!(parse_object("volume/x")
            .unwrap_err()
            .contains("agent or session"));
        assert!(parse_object("agent/").is_err());
        assert!(parse_object("agent/a/b").is_err());
    }
}
