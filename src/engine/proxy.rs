//! Which socket-proxy setting (tecnativa/docker-socket-proxy names) lets an engine call
//! through, so that a refusal can say what to enable.

/// Sections berth may call, by first path segment, with the flag that opens them.
const SECTIONS: &[(&str, &str)] = &[
    ("containers", "CONTAINERS"),
    ("images", "IMAGES"),
    ("volumes", "VOLUMES"),
    ("networks", "NETWORKS"),
    ("events", "EVENTS"),
    ("_ping", "PING"),
    ("version", "VERSION"),
    ("info", "INFO"),
    ("system", "SYSTEM"),
    ("exec", "EXEC"),
];

/// The flags an operation (`"METHOD /path"`, as engine errors name it) needs: the section's
/// flag, plus `POST` for any method but GET and HEAD. Empty when the path is unknown.
pub fn flags_for(operation: &str) -> Vec<&'static str> {
    let (method, path) = operation.split_once(' ').unwrap_or(("GET", operation));
    let path = path.trim_start_matches('/');
    // An explicit API version prefix (`/v1.41/...`) does not change the section.
    let path = match path.split_once('/') {
        Some((v, rest))
            if v.starts_with('v') && v[1..].chars().all(|c| c.is_ascii_digit() || c == '.') =>
        {
            rest
        }
        _ => path,
    };
    let first = path
        .split(['/', '?'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let Some((_, flag)) = SECTIONS.iter().find(|(s, _)| *s == first) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if !matches!(method, "GET" | "HEAD") {
        out.push("POST");
    }
    out.push(*flag);
    out
}

/// `enable POST=1 and CONTAINERS=1`.
pub fn enable_hint(flags: &[&str]) -> String {
    format!(
        "enable {}",
        flags
            .iter()
            .map(|f| format!("{f}=1"))
            .collect::<Vec<_>>()
            .join(" and ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_map_to_flags() {
        assert_eq!(flags_for("POST /containers/create"), ["POST", "CONTAINERS"]);
        assert_eq!(flags_for("GET /containers/json"), ["CONTAINERS"]);
        assert_eq!(flags_for("DELETE /containers/{id}"), ["POST", "CONTAINERS"]);
        assert_eq!(
            flags_for("POST /containers/{id}/start"),
            ["POST", "CONTAINERS"]
        );
        assert_eq!(flags_for("GET /events"), ["EVENTS"]);
        assert_eq!(flags_for("GET /version"), ["VERSION"]);
        assert_eq!(flags_for("HEAD /_ping"), ["PING"]);
        assert_eq!(flags_for("GET /images/{name}/json"), ["IMAGES"]);
        assert_eq!(flags_for("POST /volumes/create"), ["POST", "VOLUMES"]);
        assert_eq!(flags_for("POST /networks/create"), ["POST", "NETWORKS"]);
        assert_eq!(flags_for("GET /v1.41/info"), ["INFO"]);
        assert!(flags_for("GET /nonsense").is_empty());
        assert_eq!(
            enable_hint(&flags_for("POST /containers/create")),
            "enable POST=1 and CONTAINERS=1"
        );
    }
}
