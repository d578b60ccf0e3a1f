//! Host paths as the policy compares them. berth cannot look at the engine's host (it may
//! run elsewhere, behind a proxy), so normalization is lexical plus what every Linux host
//! shares:
//!
//! - repeated `/`, `.` segments and trailing `/` go: `//var/run/./docker.sock/` is
//!   `/var/run/docker.sock`;
//! - `..` is refused outright: through a symlink it can resolve outside any prefix that the
//!   lexical form seems to be under;
//! - the symlinks every distribution ships are resolved: `/var/run` is `/run`, `/var/lock`
//!   is `/run/lock`, `/dev/fd` is `/proc/self/fd`.
//!
//! Two tables say what no prefix opens. [`KERNEL_PATHS`] (the kernel's views of the host,
//! `/proc` and `/sys`, magic links such as `/proc/self/root` among them) are refused always.
//! [`ENGINE_PATHS`] (the control sockets and state directories of every engine and runtime)
//! are refused unless the Policy lists that engine path, or the path itself, exactly. A path
//! is caught when it is one of them, lies inside one, or contains one: engine bind mounts are
//! recursive, so a mount of `/run` carries `/run/docker.sock` with it.

use super::glob;

/// Symlinks present on every current Linux distribution (FHS 3.0, systemd, udev).
const ALIASES: &[(&str, &str)] = &[
    ("/var/run", "/run"),
    ("/var/lock", "/run/lock"),
    ("/dev/fd", "/proc/self/fd"),
    ("/dev/stdin", "/proc/self/fd/0"),
    ("/dev/stdout", "/proc/self/fd/1"),
    ("/dev/stderr", "/proc/self/fd/2"),
    ("/dev/core", "/proc/kcore"),
];

/// The kernel's views of the host: no Policy can open them.
pub const KERNEL_PATHS: &[(&str, &str)] = &[
    ("/proc", "the host's processes and kernel (/proc)"),
    ("/sys", "the host's kernel and devices (/sys)"),
];

/// Control sockets and state directories of engines and runtimes, after alias resolution;
/// `*` stands for one path segment. Reaching any of them is root on the host.
pub const ENGINE_PATHS: &[(&str, &str)] = &[
    ("/run/docker.sock", "Docker's socket"),
    (
        "/run/docker",
        "Docker's state (its private containerd socket among it)",
    ),
    ("/var/lib/docker", "Docker's data root"),
    ("/etc/docker", "Docker's configuration"),
    ("/var/snap/docker", "Docker's snap installation"),
    ("/run/containerd", "containerd's sockets and state"),
    ("/var/lib/containerd", "containerd's data root"),
    ("/run/k3s", "k3s's containerd"),
    ("/run/runc", "runc's state"),
    ("/run/crun", "crun's state"),
    ("/run/podman", "Podman's socket"),
    ("/run/containers", "Podman's runtime state"),
    ("/run/libpod", "Podman's runtime state"),
    ("/var/lib/containers", "Podman's storage"),
    ("/etc/containers", "Podman's configuration"),
    ("/run/crio", "CRI-O's socket and state"),
    ("/var/lib/crio", "CRI-O's data"),
    ("/run/buildkit", "BuildKit's socket"),
    ("/var/lib/buildkit", "BuildKit's data"),
    ("/run/user/*/docker.sock", "rootless Docker's socket"),
    ("/run/user/*/docker", "rootless Docker's state"),
    ("/run/user/*/containerd", "rootless containerd's state"),
    ("/run/user/*/buildkit", "rootless BuildKit's socket"),
    ("/run/user/*/podman", "rootless Podman's socket"),
    ("/run/user/*/containers", "rootless Podman's state"),
    ("/run/user/*/libpod", "rootless Podman's state"),
    ("/home/*/.local/share/docker", "rootless Docker's data root"),
    (
        "/home/*/.local/share/containers",
        "rootless Podman's storage",
    ),
    ("/root/.local/share/docker", "rootless Docker's data root"),
    ("/root/.local/share/containers", "rootless Podman's storage"),
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
    #[error("{0:?} contains a control character")]
    Control(String),
}

/// The canonical form of a host path, or why it has none.
pub fn normalize(path: &str) -> Result<String, PathError> {
    let shown = || crate::model::shorten(path, 80);
    if path.chars().any(char::is_control) {
        return Err(PathError::Control(shown()));
    }
    if !path.starts_with('/') {
        return Err(PathError::NotAbsolute(shown()));
    }
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => return Err(PathError::DotDot(shown())),
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

/// Whether canonical `path` is the pattern `entry`, lies inside it or contains it; `*` in
/// `entry` matches one segment.
fn touches(path: &str, entry: &str) -> bool {
    let p = path.split('/').filter(|x| !x.is_empty());
    let e = entry.split('/').filter(|x| !x.is_empty());
    p.zip(e).all(|(seg, pat)| glob::matches(pat, seg, true))
}

/// The entries of `table` that canonical `path` is, contains (as a directory), or lies
/// inside.
pub fn caught_by(
    path: &str,
    table: &'static [(&'static str, &'static str)],
) -> Vec<&'static (&'static str, &'static str)> {
    table.iter().filter(|(e, _)| touches(path, e)).collect()
}

/// The engine paths that canonical `path` is, contains, or lies inside.
pub fn engine_paths(path: &str) -> Vec<&'static str> {
    caught_by(path, ENGINE_PATHS)
        .into_iter()
        .map(|(e, _)| *e)
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
        assert_eq!(normalize("/dev/fd/3").unwrap(), "/proc/self/fd/3");
        assert_eq!(normalize("/dev/stdin").unwrap(), "/proc/self/fd/0");
        assert!(matches!(
            normalize("/var/run/../run/docker.sock"),
            Err(PathError::DotDot(_))
        ));
        assert!(matches!(normalize("run/x"), Err(PathError::NotAbsolute(_))));
        assert!(matches!(normalize("/srv/a\0b"), Err(PathError::Control(_))));
        assert!(matches!(normalize("/srv/a\nb"), Err(PathError::Control(_))));
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
            [
                "/run/user/*/docker.sock",
                "/run/user/*/docker",
                "/run/user/*/containerd",
                "/run/user/*/buildkit",
                "/run/user/*/podman",
                "/run/user/*/containers",
                "/run/user/*/libpod"
            ]
        );
        assert_eq!(
            engine_paths("/run/user/1000/docker.sock"),
            ["/run/user/*/docker.sock"]
        );
        assert_eq!(
            engine_paths("/var/lib/docker/volumes/x"),
            ["/var/lib/docker"]
        );
        assert_eq!(
            engine_paths("/run/docker/containerd/containerd.sock"),
            ["/run/docker"]
        );
        assert!(engine_paths("/run/lock").is_empty());
        assert!(engine_paths("/srv/agents").is_empty());
        assert!(engine_paths("/var/lib/dockerx").is_empty());
        assert!(engine_paths("/home/alice/projects").is_empty());
        assert_eq!(
            engine_paths("/home/alice/.local/share/docker/volumes"),
            ["/home/*/.local/share/docker"]
        );
    }

    #[test]
    fn docs_security_md_lists_both_tables() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/security.md"))
            .expect("docs/security.md");
        for (path, what) in KERNEL_PATHS.iter().chain(ENGINE_PATHS) {
            let what = what.trim_end_matches(&format!(" ({path})")[..]);
            let row = format!("| `{path}` | {what} |");
            assert!(doc.contains(&row), "docs/security.md lacks the row {row}");
        }
    }

    #[test]
    fn kernel_paths_catch_their_magic_links() {
        for p in [
            "/proc",
            "/proc/self/root",
            "/proc/1/root/etc",
            "/sys/fs/cgroup",
            "/",
        ] {
            assert!(!caught_by(p, KERNEL_PATHS).is_empty(), "{p}");
        }
        let fd = normalize("/dev/fd/5").unwrap();
        assert!(!caught_by(&fd, KERNEL_PATHS).is_empty());
        for p in ["/dev/fuse", "/srv/sys", "/procfs", "/etc/sysctl.d"] {
            assert!(caught_by(p, KERNEL_PATHS).is_empty(), "{p}");
        }
    }
}
