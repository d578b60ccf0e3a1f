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
