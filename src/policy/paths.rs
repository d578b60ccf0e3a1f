//! Host paths as the policy compares them. berth cannot look at the engine's host (it may
//! run elsewhere, behind a proxy), so normalization is lexical plus what every Linux host
//! shares:
//!
//! - repeated `/`, `.` segments and trailing `/` go: `//var/run/./docker.sock/` is
//!   `/var/run/docker.sock`;
//! - `..` is refused outright: through a symlink it can resolve outside any prefix that the
//!   lexical form seems to be under;
//! - the symlinks every distribution ships are resolved: `/var/run` is `/run`, `/var/lock`
//!   is `/run/lock`.
//!
//! The engine's control sockets (and its data root) are special: a path that is one of
//! them, contains one, or lies inside one is allowed only when the policy lists that engine
//! path, or the path itself, exactly.

use super::glob;

/// Symlinks present on every current Linux distribution (FHS 3.0 and systemd).
const ALIASES: &[(&str, &str)] = &[("/var/run", "/run"), ("/var/lock", "/run/lock")];

/// Engine control sockets, and the engine's data root, after alias resolution; `*` stands
/// for one path segment. Reaching any of them is equivalent to root on the host.
pub const ENGINE_PATHS: &[&str] = &[
    "/run/docker.sock",
    "/run/docker/docker.sock",
    "/run/podman/podman.sock",
    "/run/containerd/containerd.sock",
    "/run/crio/crio.sock",
    "/run/user/*/docker.sock",
    "/run/user/*/podman/podman.sock",
    "/var/lib/docker",
];

/// Why a path cannot be compared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("{0:?} is not an absolute path")]
    NotAbsolute(String),
    #[error(
        "{0:?} contains '..', which can resolve outside any allowed prefix through a symlink; write the path without it"
    )]
    DotDot(String),
}

/// The canonical form of a host path, or why it has none.
pub fn normalize(path: &str) -> Result<String, PathError> {
    if !path.starts_with('/') {
        return Err(PathError::NotAbsolute(path.to_string()));
    }
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => return Err(PathError::DotDot(path.to_string())),
            s => parts.push(s),
        }
    }
    let mut out = format!("/{}", parts.join("/"));
    for (link, target) in ALIASES {
        if let Some(rest) = strip_prefix(&out, link) {
            out = format!("{target}{rest}");
            break;
        }
    }
    Ok(out)
}

/// `path` without `prefix` when `prefix` is `path` or one of its ancestors (segment-wise).
fn strip_prefix<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    if prefix == "/" {
        return Some(path);
    }
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// Whether canonical `path` is `prefix` or lies under it (whole segments: `/srv/a` is not
/// under `/srv/ab`... nor `/srv/ab` under `/srv/a`).
pub fn is_under(path: &str, prefix: &str) -> bool {
    strip_prefix(path, prefix).is_some()
}

/// The engine paths that canonical `path` is, contains (as a directory), or lies inside.
pub fn engine_paths(path: &str) -> Vec<&'static str> {
    let p: Vec<&str> = path.split('/').filter(|x| !x.is_empty()).collect();
    ENGINE_PATHS
        .iter()
        .copied()
        .filter(|engine| {
            let e: Vec<&str> = engine.split('/').filter(|x| !x.is_empty()).collect();
            p.iter()
                .zip(&e)
                .all(|(seg, pat)| glob::matches(pat, seg, true))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_normalize_to_one_path() {
        for p in [
            "/var/run/docker.sock",
            "/run/docker.sock",
            "//var//run/docker.sock",
            "/var/run/./docker.sock",
            "/var/run/docker.sock/",
            "/run/./docker.sock//",
        ] {
            assert_eq!(normalize(p).unwrap(), "/run/docker.sock", "{p}");
        }
        assert_eq!(normalize("/").unwrap(), "/");
        assert_eq!(normalize("/etc/").unwrap(), "/etc");
        assert_eq!(normalize("/var/runner").unwrap(), "/var/runner");
        assert_eq!(normalize("/var/lock/x").unwrap(), "/run/lock/x");
        assert!(matches!(
            normalize("/var/run/../run/docker.sock"),
            Err(PathError::DotDot(_))
        ));
        assert!(matches!(normalize("run/x"), Err(PathError::NotAbsolute(_))));
    }

    #[test]
    fn prefixes_match_whole_segments() {
        assert!(is_under("/srv/a/b", "/srv/a"));
        assert!(is_under("/srv/a", "/srv/a"));
        assert!(!is_under("/srv/ab", "/srv/a"));
        assert!(is_under("/anything", "/"));
    }

    #[test]
    fn engine_paths_above_at_and_below_are_found() {
        assert_eq!(engine_paths("/run/docker.sock"), ["/run/docker.sock"]);
        assert_eq!(engine_paths("/").len(), ENGINE_PATHS.len());
        assert!(engine_paths("/run").contains(&"/run/docker.sock"));
        assert_eq!(
            engine_paths("/run/user/1000"),
            ["/run/user/*/docker.sock", "/run/user/*/podman/podman.sock"]
        );
        assert_eq!(
            engine_paths("/run/user/1000/docker.sock"),
            ["/run/user/*/docker.sock"]
        );
        assert_eq!(
            engine_paths("/var/lib/docker/volumes/x"),
            ["/var/lib/docker"]
        );
        assert!(engine_paths("/run/lock").is_empty());
        assert!(engine_paths("/srv/agents").is_empty());
        assert!(engine_paths("/var/lib/dockerx").is_empty());
    }
}
