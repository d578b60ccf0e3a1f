//! Sources only signal "something changed"; the loader re-reads the paths. A debouncer folds
//! a burst of file events (a `git checkout` swapping hundreds of files) into one signal, and
//! the controller's periodic resync covers the events inotify can miss. In the drop-in
//! directories, a file renamed into place signals at once as well: a program that writes a
//! Session file atomically does not wait out the debounce. Nothing else skips it: a removal
//! or a file closed after writing may be one of a burst (`rm *`, a checkout), whose middle
//! must not be acted on (an emptied directory reaps nothing only if it is seen emptied).

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::RecursiveMode;
use notify_debouncer_full::{new_debouncer, DebounceEventResult, Debouncer, RecommendedCache};
use thiserror::Error;
use tokio::sync::mpsc;

use crate::manifest::discover::is_ignored;

/// Why the manifest paths cannot be watched.
#[derive(Debug, Error)]
pub enum WatchError {
    /// No file watcher can be set up at all (the inotify limits, for one).
    #[error("cannot start watching files: {message}")]
    Start { message: String },
    /// This path cannot be watched.
    #[error("cannot watch {path}: {message}")]
    Path { path: String, message: String },
}

/// Watches manifest paths; dropping it stops the watch.
pub struct Watcher {
    _debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
    /// The undebounced watch of complete files, where there is one.
    _complete: Option<notify::RecommendedWatcher>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Watcher")
    }
}

/// Watches `paths` (directories recursively; for a file, its directory) and sends `()` on
/// `changed` after each debounced batch that touches a relevant file, and at once when a
/// file is renamed into one of the `drop_ins` directories. A path that does not exist yet
/// is watched through its nearest existing parent.
pub fn watch(
    paths: &[PathBuf],
    drop_ins: &[PathBuf],
    debounce: Duration,
    changed: mpsc::Sender<()>,
) -> Result<Watcher, WatchError> {
    let targets: Vec<PathBuf> = paths.iter().map(|p| watch_target(p)).collect();
    let roots = targets.clone();
    let changed_now = changed.clone();
    let mut debouncer = new_debouncer(debounce, None, move |res: DebounceEventResult| {
        let relevant = match res {
            Ok(events) => events
                .iter()
                .any(|e| !e.kind.is_access() && e.paths.iter().any(|p| relevant_path(&roots, p))),
            // An overflowed queue or a watch error: let the loader look.
            Err(_) => true,
        };
        if relevant {
            // A full channel already holds a pending signal: this one can be dropped.
            let _ = changed.try_send(());
        }
    })
    .map_err(|e| WatchError::Start {
        message: e.to_string(),
    })?;
    for target in &targets {
        debouncer
            .watch(target, RecursiveMode::Recursive)
            .map_err(|e| WatchError::Path {
                path: target.display().to_string(),
                message: e.to_string(),
            })?;
    }
    Ok(Watcher {
        _debouncer: debouncer,
        _complete: renamed_in(drop_ins, changed_now),
    })
}

/// A second, undebounced watch of the drop-in directories that signals only when a file
/// is renamed into place (complete, as atomic writers make it). Best effort: when it cannot
/// be set up (the inotify limits), the debounced watch still sees everything.
fn renamed_in(dirs: &[PathBuf], changed: mpsc::Sender<()>) -> Option<notify::RecommendedWatcher> {
    use notify::event::{ModifyKind, RenameMode};
    use notify::{EventKind, Watcher as _};
    if dirs.is_empty() {
        return None;
    }
    let targets: Vec<PathBuf> = dirs.iter().map(|p| watch_target(p)).collect();
    let roots = targets.clone();
    let mut w = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(e) = res else { return };
        let renamed_in = matches!(
            e.kind,
            EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Both))
        );
        // `Both` carries the old name first: the new one must be a manifest.
        if renamed_in && e.paths.last().is_some_and(|p| relevant_path(&roots, p)) {
            let _ = changed.try_send(());
        }
    })
    .ok()?;
    for target in &targets {
        w.watch(target, RecursiveMode::Recursive).ok()?;
    }
    Some(w)
}

/// Watches one file (through its directory, which must exist: writers replace the file by
/// renaming a temporary one over it) and sends `()` on `changed` after each debounced batch
/// that touches it.
pub fn watch_file(
    file: &Path,
    debounce: Duration,
    changed: mpsc::Sender<()>,
) -> Result<Watcher, WatchError> {
    let file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    let dir = file.parent().unwrap_or(Path::new("/")).to_path_buf();
    let wanted = file.clone();
    let mut debouncer = new_debouncer(debounce, None, move |res: DebounceEventResult| {
        let relevant = match res {
            Ok(events) => events
                .iter()
                .any(|e| !e.kind.is_access() && e.paths.contains(&wanted)),
            Err(_) => true,
        };
        if relevant {
            let _ = changed.try_send(());
        }
    })
    .map_err(|e| WatchError::Start {
        message: e.to_string(),
    })?;
    debouncer
        .watch(&dir, RecursiveMode::NonRecursive)
        .map_err(|e| WatchError::Path {
            path: dir.display().to_string(),
            message: e.to_string(),
        })?;
    Ok(Watcher {
        _debouncer: debouncer,
        _complete: None,
    })
}

/// A directory is watched as is; a file through its directory (editors replace files by
/// renaming, which a watch on the file itself would lose); a missing path through its
/// nearest existing ancestor, so its creation is seen.
fn watch_target(p: &Path) -> PathBuf {
    let mut cur = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    if cur.is_file() {
        cur.pop();
        return cur;
    }
    while !cur.exists() {
        if !cur.pop() {
            return PathBuf::from("/");
        }
    }
    cur
}

/// Events under hidden directories (`.git/`) and for editor leftovers are noise. Only the
/// part below the watched directory counts: the directory itself may well be hidden.
fn relevant_path(roots: &[PathBuf], p: &Path) -> bool {
    let below = roots
        .iter()
        .filter_map(|r| p.strip_prefix(r).ok())
        .min_by_key(|rest| rest.components().count())
        .unwrap_or(p);
    !below.components().any(|c| match c {
        std::path::Component::Normal(name) => is_ignored(&name.to_string_lossy()),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_internals_and_editor_files_are_noise() {
        let roots = [PathBuf::from("/srv/m"), PathBuf::from("/tmp/.tmpX1")];
        assert!(relevant_path(&roots, Path::new("/srv/m/agents.yaml")));
        assert!(!relevant_path(&roots, Path::new("/srv/m/.git/index.lock")));
        assert!(!relevant_path(&roots, Path::new("/srv/m/.agents.yaml.swp")));
        assert!(!relevant_path(&roots, Path::new("/srv/m/agents.yaml~")));
        // Regression: a watched directory that is itself hidden (tempdirs are `.tmpXXXX`)
        // made every event look like noise, so changes waited for the resync.
        assert!(relevant_path(&roots, Path::new("/tmp/.tmpX1/a.yaml")));
    }

    #[test]
    fn missing_paths_are_watched_through_an_existing_parent() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("not/yet/there");
        assert_eq!(watch_target(&missing), dir.path());
        let file = dir.path().join("a.yaml");
        std::fs::write(&file, "").unwrap();
        assert_eq!(watch_target(&file), dir.path());
    }

    #[test]
    fn a_watcher_that_cannot_start_names_no_path() {
        // Regression: a debouncer that could not be created printed "cannot watch : ...".
        let start = WatchError::Start {
            message: "inotify limit".into(),
        };
        assert_eq!(
            start.to_string(),
            "cannot start watching files: inotify limit"
        );
        let path = WatchError::Path {
            path: "/srv/m".into(),
            message: "denied".into(),
        };
        assert_eq!(path.to_string(), "cannot watch /srv/m: denied");
    }
}
