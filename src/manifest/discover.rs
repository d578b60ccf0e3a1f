//! Which files the sources name: files as given; directories recursively, keeping `*.yaml`
//! and `*.yml` and skipping hidden entries (`.git/` among them) and editor leftovers.
//!
//! Every file carries the trust of the source it was found under. A file under a
//! `--sessions` directory is a drop-in file even when a trusted path also contains it, and
//! the `--policy` source is never read as a manifest. Inside a drop-in directory a symbolic
//! link is followed only when it stays inside that directory. Entries that are not manifests
//! (other names, dangling links) never make a directory unreadable.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use super::files::io_message;
use super::sources::{Sources, Trust};

/// A manifest file to read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SourceFile {
    /// The path as the user wrote it, or as found below a directory they named.
    pub display: String,
    /// Absolute, symlinks resolved: what goes into the source label.
    pub canonical: String,
    pub trust: Trust,
}

/// A path that could not be read; everything under it is in doubt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub display: String,
    /// Absolute form, used to hold containers whose source lies under it.
    pub absolute: String,
    pub message: String,
    /// A problem with one entry rather than with a whole path: its file is held, and only
    /// its own (`absolute`); nothing else is in doubt.
    pub entry_only: bool,
}

/// An entry that was skipped, with the reason (a warning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub display: String,
    pub message: String,
}

/// What the sources name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// Sorted: trusted files first, then drop-in files, each by path; no duplicates.
    pub files: Vec<SourceFile>,
    pub unreadable: Vec<Unreadable>,
    pub skipped: Vec<Skipped>,
    /// Canonical paths of the files named directly (not found in a directory): one of them
    /// gone is doubt, where a file gone from a directory is a deletion.
    pub named: Vec<String>,
    /// What decides the list besides the files: every directory walked (canonical) and
    /// every source path as given (a symbolic link swapped to another release changes what
    /// it leads to, not what it was canonicalised to). While none of them changes, a walk
    /// finds the same files.
    pub walked: Vec<String>,
}

/// Expands the manifest paths of `sources` into files.
pub fn discover(sources: &Sources) -> Discovery {
    let mut out = Discovery::default();
    let canon = |p: &PathBuf| fs::canonicalize(p).ok();
    let policy: Vec<PathBuf> = sources.policy.iter().filter_map(canon).collect();
    let dropins: Vec<PathBuf> = sources.sessions.iter().filter_map(canon).collect();
    let mut trusted_excluded = policy.clone();
    trusted_excluded.extend(dropins.iter().cloned());
    let mut count = 0usize;
    out.walked = sources
        .manifest_paths()
        .map(|p| p.display().to_string())
        .collect();
    out.named = sources
        .manifest_paths()
        .filter(|p| p.is_file())
        .filter_map(canon)
        .map(|c| c.display().to_string())
        .collect();
    for p in &sources.trusted {
        let mut w = Walk {
            trust: Trust::Trusted,
            excluded: &trusted_excluded,
            root: None,
            max_files: sources.limits.max_files,
            count: &mut count,
            out: &mut out,
        };
        w.path(p);
    }
    for p in &sources.sessions {
        let root = canon(p);
        let mut w = Walk {
            trust: Trust::DropIn,
            excluded: &policy,
            root: root.as_deref(),
            max_files: sources.limits.max_files,
            count: &mut count,
            out: &mut out,
        };
        w.path(p);
    }
    // One file named twice keeps its lowest trust.
    out.files
        .sort_by(|a, b| a.canonical.cmp(&b.canonical).then(b.trust.cmp(&a.trust)));
    out.files.dedup_by(|a, b| a.canonical == b.canonical);
    out.files.sort_by(|a, b| {
        a.trust
            .cmp(&b.trust)
            .then_with(|| a.display.cmp(&b.display))
    });
    out
}

struct Walk<'a> {
    trust: Trust,
    /// Canonical paths never read as manifests of this trust.
    excluded: &'a [PathBuf],
    /// The canonical drop-in directory links must stay inside (drop-in sources only).
    root: Option<&'a Path>,
    max_files: usize,
    count: &'a mut usize,
    out: &'a mut Discovery,
}

impl Walk<'_> {
    fn unreadable(&mut self, p: &Path, message: String, entry_only: bool) {
        let absolute = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        self.out.unreadable.push(Unreadable {
            display: p.display().to_string(),
            absolute: absolute.display().to_string(),
            message,
            entry_only,
        });
    }

    fn excluded(&self, canonical: &Path) -> bool {
        self.excluded.iter().any(|e| canonical.starts_with(e))
    }

    /// Whether a link's target leaves the drop-in directory (say so, then skip it).
    fn escapes(&mut self, link: &Path, canonical: &Path) -> bool {
        let Some(root) = self.root else { return false };
        if canonical.starts_with(root) {
            return false;
        }
        self.unreadable(
            link,
            format!(
                "a symbolic link out of the --sessions directory (to {}) is not followed",
                canonical.display()
            ),
            true,
        );
        true
    }

    fn push(&mut self, display: &Path, canonical: PathBuf) -> bool {
        *self.count += 1;
        if *self.count > self.max_files {
            return false;
        }
        self.out.files.push(SourceFile {
            display: display.display().to_string(),
            canonical: canonical.display().to_string(),
            trust: self.trust,
        });
        true
    }

    fn path(&mut self, p: &Path) {
        let meta = match fs::metadata(p) {
            Ok(m) => m,
            Err(e) => return self.unreadable(p, io_message(&e), false),
        };
        let Ok(canonical) = fs::canonicalize(p) else {
            return self.unreadable(p, "cannot resolve the path".into(), false);
        };
        if self.excluded(&canonical) {
            return; // the Policy source, or a drop-in directory inside a trusted one
        }
        if !meta.is_dir() {
            // A file named on the command line is read whatever its name.
            if !self.push(p, canonical) {
                self.too_many(p);
            }
            return;
        }
        self.dir(p, canonical);
    }

    fn too_many(&mut self, p: &Path) {
        let message = format!(
            "more than {} manifest files (--max-files): nothing is removed until there are fewer",
            self.max_files
        );
        self.unreadable(p, message, false);
    }

    fn dir(&mut self, top: &Path, top_canonical: PathBuf) {
        // Canonical form of each directory visited, so a file's canonical path is its
        // directory's plus its name, without a system call per file.
        let mut dirs: HashMap<PathBuf, PathBuf> = HashMap::new();
        self.out.walked.push(top_canonical.display().to_string());
        dirs.insert(top.to_path_buf(), top_canonical);
        let mut it = WalkDir::new(top)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !is_ignored(&e.file_name().to_string_lossy()));
        while let Some(item) = it.next() {
            let entry = match item {
                Ok(e) => e,
                Err(e) => {
                    self.walk_error(e);
                    continue;
                }
            };
            if entry.depth() == 0 {
                continue;
            }
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let linked = entry.path_is_symlink();
            if entry.file_type().is_dir() {
                let canonical = if linked {
                    match fs::canonicalize(path) {
                        Ok(c) => c,
                        Err(e) => {
                            self.unreadable(path, io_message(&e), false);
                            it.skip_current_dir();
                            continue;
                        }
                    }
                } else {
                    match path.parent().and_then(|p| dirs.get(p)) {
                        Some(parent) => parent.join(&name),
                        None => fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
                    }
                };
                if self.excluded(&canonical) || (linked && self.escapes(path, &canonical)) {
                    it.skip_current_dir();
                    continue;
                }
                self.out.walked.push(canonical.display().to_string());
                dirs.insert(path.to_path_buf(), canonical);
                continue;
            }
            if !is_manifest(&name) {
                continue;
            }
            let canonical = if linked {
                match fs::canonicalize(path) {
                    Ok(c) => c,
                    Err(e) => {
                        self.unreadable(path, io_message(&e), true);
                        continue;
                    }
                }
            } else {
                match path.parent().and_then(|p| dirs.get(p)) {
                    Some(parent) => parent.join(&name),
                    None => path.to_path_buf(),
                }
            };
            if self.excluded(&canonical) || (linked && self.escapes(path, &canonical)) {
                continue;
            }
            if !self.push(path, canonical) {
                self.too_many(top);
                return;
            }
        }
    }

    fn walk_error(&mut self, e: walkdir::Error) {
        if e.loop_ancestor().is_some() {
            return; // a symlink loop: its directory is walked once already
        }
        let Some(path) = e.path().map(Path::to_path_buf) else {
            return;
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let gone = e
            .io_error()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound)
            && fs::symlink_metadata(&path).is_err();
        if gone {
            return; // deleted while the directory was walked: not there
        }
        let dangling = fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink())
            && fs::metadata(&path).is_err();
        if dangling {
            if is_manifest(&name) {
                self.out.skipped.push(Skipped {
                    display: path.display().to_string(),
                    message: "skipped: a symbolic link to nothing".into(),
                });
            }
            return;
        }
        let message = e
            .io_error()
            .map(io_message)
            .unwrap_or_else(|| e.to_string());
        // A directory berth cannot list may hold anything: that is doubt. One file it
        // cannot look at is that file's problem only.
        let is_dir = fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
        if is_dir || is_manifest(&name) {
            self.unreadable(&path, message, !is_dir);
        }
    }
}

/// Whether a directory entry's name is skipped: hidden, editor backups and lock files.
pub fn is_ignored(name: &str) -> bool {
    name.starts_with('.')
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || (name.starts_with('#') && name.ends_with('#'))
}

fn is_manifest(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn names(d: &Discovery, root: &Path) -> Vec<String> {
        d.files
            .iter()
            .map(|f| {
                f.display
                    .strip_prefix(&*root.display().to_string())
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    fn trusted(paths: &[PathBuf]) -> Sources {
        Sources {
            trusted: paths.to_vec(),
            ..Sources::default()
        }
    }

    #[test]
    fn walks_directories_and_skips_noise() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in [
            "a.yaml",
            "b.yml",
            "notes.txt",
            "c.yaml~",
            ".#d.yaml",
            ".e.yaml.swp",
            "#f.yaml#",
            "sub/g.yaml",
            ".git/h.yaml",
            ".hidden/i.yaml",
        ] {
            let p = root.join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, "").unwrap();
        }
        symlink(root.join("nowhere.txt"), root.join("dangling.txt")).unwrap();
        symlink(root.join("nowhere.yaml"), root.join("dangling.yaml")).unwrap();
        symlink(root, root.join("sub/loop")).unwrap();
        let d = discover(&trusted(&[root.to_path_buf(), root.join("notes.txt")]));
        assert!(d.unreadable.is_empty(), "{:?}", d.unreadable);
        assert_eq!(
            names(&d, root),
            ["/a.yaml", "/b.yml", "/notes.txt", "/sub/g.yaml"]
        );
        assert_eq!(d.skipped.len(), 1, "{:?}", d.skipped);
        assert!(d.skipped[0].display.ends_with("dangling.yaml"));
    }

    #[test]
    fn a_missing_path_is_reported() {
        let d = discover(&trusted(&[PathBuf::from("/nonexistent/berth")]));
        assert!(d.files.is_empty());
        assert_eq!(d.unreadable[0].message, "no such file or directory");
        assert_eq!(d.unreadable[0].absolute, "/nonexistent/berth");
        assert!(!d.unreadable[0].entry_only);
    }

    #[test]
    fn drop_in_files_keep_their_trust_and_links_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("t.yaml"), "").unwrap();
        for f in ["m/a.yaml", "m/sessions/s.yaml", "m/policy.yaml"] {
            let p = root.join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, "").unwrap();
        }
        symlink(
            outside.path().join("t.yaml"),
            root.join("m/sessions/out.yaml"),
        )
        .unwrap();
        symlink(
            root.join("m/sessions/s.yaml"),
            root.join("m/sessions/in.yaml"),
        )
        .unwrap();
        let sources = Sources {
            trusted: vec![root.join("m")],
            sessions: vec![root.join("m/sessions")],
            policy: Some(root.join("m/policy.yaml")),
            ..Sources::default()
        };
        let d = discover(&sources);
        let got: Vec<(String, Trust)> = d
            .files
            .iter()
            .map(|f| (f.display.rsplit('/').next().unwrap().to_string(), f.trust))
            .collect();
        // in.yaml and s.yaml are one file: it is read once.
        assert_eq!(
            got,
            [
                ("a.yaml".to_string(), Trust::Trusted),
                ("in.yaml".to_string(), Trust::DropIn)
            ]
        );
        assert_eq!(d.unreadable.len(), 1);
        assert!(d.unreadable[0].entry_only);
        assert!(d.unreadable[0]
            .message
            .contains("out of the --sessions directory"));
    }

    #[test]
    fn too_many_files_is_doubt() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..5 {
            fs::write(dir.path().join(format!("{i}.yaml")), "").unwrap();
        }
        let mut s = trusted(&[dir.path().to_path_buf()]);
        s.limits.max_files = 3;
        let d = discover(&s);
        assert_eq!(d.files.len(), 3);
        assert!(d.unreadable[0]
            .message
            .contains("more than 3 manifest files"));
        assert!(!d.unreadable[0].entry_only);
    }
}
