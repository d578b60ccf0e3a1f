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

use std::sync::LazyLock;

use super::glob::Pattern;

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

/// An entry of [`KERNEL_PATHS`] or [`ENGINE_PATHS`], its patterns compiled.
#[derive(Debug)]
pub struct TableEntry {
    /// The path, `*` standing for one segment.
    pub path: &'static str,
    /// What lies there, for messages.
    pub what: &'static str,
    whole: Pattern,
    segments: Vec<Pattern>,
}

impl TableEntry {
    fn compile(&(path, what): &(&'static str, &'static str)) -> TableEntry {
        let pattern = |p: &str| Pattern::segments(p).expect("the path tables compile");
        TableEntry {
            path,
            what,
            whole: pattern(path),
            segments: path
                .split('/')
                .filter(|x| !x.is_empty())
                .map(pattern)
                .collect(),
        }
    }

    /// Whether canonical `path` is this entry (`*` matching any one segment).
    pub fn is(&self, path: &str) -> bool {
        self.whole.matches(path)
    }

    /// Whether canonical `path` is this entry, lies inside it or contains it.
    fn touches(&self, path: &str) -> bool {
        let p = path.split('/').filter(|x| !x.is_empty());
        p.zip(&self.segments).all(|(seg, pat)| pat.matches(seg))
    }
}

static KERNEL: LazyLock<Vec<TableEntry>> =
    LazyLock::new(|| KERNEL_PATHS.iter().map(TableEntry::compile).collect());
static ENGINE: LazyLock<Vec<TableEntry>> =
    LazyLock::new(|| ENGINE_PATHS.iter().map(TableEntry::compile).collect());

/// The kernel paths that canonical `path` is, contains (as a directory), or lies inside.
pub fn kernel_paths(path: &str) -> Vec<&'static TableEntry> {
    KERNEL.iter().filter(|e| e.touches(path)).collect()
}

/// The engine paths that canonical `path` is, contains, or lies inside.
pub fn engine_paths(path: &str) -> Vec<&'static TableEntry> {
    ENGINE.iter().filter(|e| e.touches(path)).collect()
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

    fn engine_paths(path: &str) -> Vec<&'static str> {
        super::engine_paths(path).iter().map(|e| e.path).collect()
    }

    fn caught_by_kernel(path: &str) -> bool {
        !kernel_paths(path).is_empty()
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
            assert!(caught_by_kernel(p), "{p}");
        }
        let fd = normalize("/dev/fd/5").unwrap();
        assert!(caught_by_kernel(&fd));
        for p in ["/dev/fuse", "/srv/sys", "/procfs", "/etc/sysctl.d"] {
            assert!(!caught_by_kernel(p), "{p}");
        }
    }
}
