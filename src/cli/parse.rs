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

/// An object as the user names it: `KIND/NAME`, the kind singular or plural as kubectl
/// takes it (`agent/web`, `agents/web`, `session/s1`, `sessions/s1`), in any case.
pub(super) fn parse_object_ref(s: &str) -> Result<crate::model::ObjectKey, String> {
    use crate::model::{Kind, ObjectKey};
    let Some((kind, name)) = s.split_once('/') else {
        return Err(format!(
            "{s:?} is not KIND/NAME: name an object as agent/NAME or session/NAME"
        ));
    };
    let kind = match kind.to_ascii_lowercase().as_str() {
        "agent" | "agents" => Kind::Agent,
        "session" | "sessions" => Kind::Session,
        "pool" | "pools" => Kind::Pool,
        other => {
            return Err(format!(
                "unknown kind {other:?} in {s:?}: agent, session or pool (e.g. agent/web)"
            ))
        }
    };
    if parse_instance(name).is_err() {
        return Err(format!(
            "{name:?} is not an object name: a DNS label (lower-case letters, digits and '-', at most 63)"
        ));
    }
    Ok(ObjectKey::new(kind, name))
}

/// `--since`: a duration back from now (`10m`) or a point in time (RFC 3339).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    Ago(Duration),
    At(std::time::SystemTime),
}

impl Since {
    /// Unix seconds, counted back from `now` for a duration.
    pub fn unix_secs(self, now: std::time::SystemTime) -> i64 {
        let t = match self {
            Since::Ago(d) => now.checked_sub(d).unwrap_or(std::time::UNIX_EPOCH),
            Since::At(t) => t,
        };
        t.duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    }
}

/// `10m`, `2h`, `2026-12-01T10:00:00Z`, `2026-12-01T11:00:00+01:00` or
/// `2026-12-01 10:00:00` (UTC).
pub(super) fn parse_since(s: &str) -> Result<Since, String> {
    if let Ok(d) = humantime::parse_duration(s) {
        return Ok(Since::Ago(d));
    }
    parse_time(s).map(Since::At).ok_or_else(|| {
        format!("{s:?} is neither a duration (10m, 2h) nor an RFC 3339 time (2026-12-01T10:00:00Z)")
    })
}

/// An RFC 3339 time; humantime reads UTC (`Z` or none), the offset `±HH:MM` is applied here.
fn parse_time(s: &str) -> Option<std::time::SystemTime> {
    let b = s.as_bytes();
    let offset = (b.len() > 6 && matches!(b[b.len() - 6], b'+' | b'-') && b[b.len() - 3] == b':')
        .then(|| {
            let (hours, minutes) = (
                s[b.len() - 5..b.len() - 3].parse::<u64>().ok()?,
                s[b.len() - 2..].parse::<u64>().ok()?,
            );
            (hours < 24 && minutes < 60).then_some((
                b[b.len() - 6] == b'+',
                Duration::from_secs(hours * 3600 + minutes * 60),
            ))
        });
    match offset {
        Some(Some((east, by))) => {
            let local = humantime::parse_rfc3339_weak(&s[..b.len() - 6]).ok()?;
            // Local time east of UTC is ahead of it: UTC is earlier.
            if east {
                local.checked_sub(by)
            } else {
                local.checked_add(by)
            }
        }
        Some(None) => None,
        None => humantime::parse_rfc3339_weak(s.trim_end_matches(['Z', 'z'])).ok(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::model::{Kind, ObjectKey};

    #[test]
    fn objects_are_kind_slash_name_singular_or_plural() {
        let web = ObjectKey::new(Kind::Agent, "web");
        assert_eq!(parse_object_ref("agent/web"), Ok(web.clone()));
        assert_eq!(parse_object_ref("agents/web"), Ok(web.clone()));
        assert_eq!(parse_object_ref("Agent/web"), Ok(web));
        assert_eq!(
            parse_object_ref("sessions/s1"),
            Ok(ObjectKey::new(Kind::Session, "s1"))
        );
        assert!(parse_object_ref("web")
            .unwrap_err()
            .contains("is not KIND/NAME"));
        assert!(parse_object_ref("volume/x")
            .unwrap_err()
            .contains("unknown kind"));
        assert!(parse_object_ref("agent/Web")
            .unwrap_err()
            .contains("not an object name"));
        assert!(parse_object_ref("agent/").is_err());
    }

    #[test]
    fn since_is_a_duration_or_a_time() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert_eq!(
            parse_since("10m").unwrap().unix_secs(now),
            1_800_000_000 - 600
        );
        let utc = parse_since("2026-12-01T10:00:00Z").unwrap();
        assert_eq!(utc.unix_secs(now), 1_796_119_200);
        assert_eq!(parse_since("2026-12-01T10:00:00").unwrap(), utc);
        assert_eq!(parse_since("2026-12-01 10:00:00").unwrap(), utc);
        assert_eq!(parse_since("2026-12-01T11:30:00+01:30").unwrap(), utc);
        assert_eq!(parse_since("2026-12-01T08:00:00-02:00").unwrap(), utc);
        assert_eq!(
            parse_since("2026-12-01T10:00:00.5Z")
                .unwrap()
                .unix_secs(now),
            1_796_119_200
        );
        assert!(parse_since("yesterday")
            .unwrap_err()
            .contains("neither a duration"));
        assert!(parse_since("2026-12-01T10:00:00+25:00").is_err());
    }
}
