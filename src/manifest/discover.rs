//! Which files a list of paths names: files as given; directories recursively, keeping
//! `*.yaml` and `*.yml` and skipping hidden entries (`.git/` among them) and editor leftovers.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

/// A manifest file to read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SourceFile {
    /// The path as the user wrote it, or as found below a directory they named.
    pub display: String,
    /// Absolute, symlinks resolved: what goes into the source label.
    pub canonical: String,
}

/// A path that could not be read; everything under it is in doubt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub display: String,
    /// Absolute form, used to hold containers whose source lies under it.
    pub absolute: String,
    pub message: String,
}

/// Expands `paths` into manifest files, sorted and without duplicates.
pub fn discover(paths: &[PathBuf]) -> (Vec<SourceFile>, Vec<Unreadable>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let mut seen_dirs = HashSet::new();
    for p in paths {
        match fs::metadata(p) {
            Ok(m) if m.is_dir() => walk(p, &mut files, &mut errors, &mut seen_dirs),
            Ok(_) => push_file(p, &mut files, &mut errors),
            Err(e) => errors.push(unreadable(p, &e)),
        }
    }
    files.sort();
    files.dedup_by(|a, b| a.canonical == b.canonical);
    (files, errors)
}

fn unreadable(p: &Path, e: &std::io::Error) -> Unreadable {
    let absolute = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    Unreadable {
        display: p.display().to_string(),
        absolute: absolute.display().to_string(),
        message: match e.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
            _ => e.to_string(),
        },
    }
}

fn push_file(p: &Path, files: &mut Vec<SourceFile>, errors: &mut Vec<Unreadable>) {
    match fs::canonicalize(p) {
        Ok(c) => files.push(SourceFile {
            display: p.display().to_string(),
            canonical: c.display().to_string(),
        }),
        Err(e) => errors.push(unreadable(p, &e)),
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

fn walk(
    dir: &Path,
    files: &mut Vec<SourceFile>,
    errors: &mut Vec<Unreadable>,
    seen: &mut HashSet<PathBuf>,
) {
    let Ok(canonical) = fs::canonicalize(dir) else {
        return;
    };
    if !seen.insert(canonical.clone()) {
        return; // a symlink loop or the same directory named twice
    }
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return errors.push(unreadable(dir, &e)),
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_cached_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_ignored(&name) {
            continue;
        }
        let path = entry.path();
        // The entry's own type comes with the directory listing; only a symlink (or a
        // filesystem that does not report types) needs a look at what it points to.
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&path, files, errors, seen),
            Ok(t) if t.is_file() => {
                if is_manifest(&name) {
                    files.push(SourceFile {
                        display: path.display().to_string(),
                        canonical: canonical.join(&name).display().to_string(),
                    });
                }
            }
            _ => match fs::metadata(&path) {
                Ok(m) if m.is_dir() => walk(&path, files, errors, seen),
                Ok(_) if is_manifest(&name) => push_file(&path, files, errors),
                Ok(_) => {}
                Err(e) => errors.push(unreadable(&path, &e)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let (files, errors) = discover(&[root.to_path_buf(), root.join("notes.txt")]);
        assert!(errors.is_empty());
        let names: Vec<_> = files
            .iter()
            .map(|f| {
                f.display
                    .strip_prefix(&*root.display().to_string())
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(names, ["/a.yaml", "/b.yml", "/notes.txt", "/sub/g.yaml"]);
    }

    #[test]
    fn a_missing_path_is_reported() {
        let (files, errors) = discover(&[PathBuf::from("/nonexistent/berth")]);
        assert!(files.is_empty());
        assert_eq!(errors[0].message, "no such file or directory");
        assert_eq!(errors[0].absolute, "/nonexistent/berth");
    }
}
