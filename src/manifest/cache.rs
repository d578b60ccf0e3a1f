//! Resyncs without re-reading: when no manifest file changed since the last read, the
//! manifests are not parsed, checked and resolved again.
//!
//! A file counts as unchanged when its size, modification and change times, inode and
//! device are the same as when it was last read, and it had last been modified well before
//! that read (so a second write within the same timestamp tick cannot go unseen). A new,
//! removed or renamed file changes the discovered list. Any unreadable path forces a read.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::discover::{discover, SourceFile};
use super::load::read_discovered;
use super::resolve::{resolve, Loaded};

/// A file modified this close to a read is read again next time whatever its stamp says.
const SETTLE: Duration = Duration::from_secs(2);

/// What the last read saw, file by file.
#[derive(Debug, Default)]
pub struct Cache {
    last: Option<Vec<(SourceFile, Stamp)>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    ino: u64,
    dev: u64,
}

impl Stamp {
    /// `None` when the file cannot be stat'ed or changed too recently to be trusted.
    fn of(file: &SourceFile, read_at: SystemTime) -> Option<Stamp> {
        let m = std::fs::metadata(&file.canonical).ok()?;
        let settled = m.modified().ok()? + SETTLE < read_at;
        settled.then(|| Stamp {
            len: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
            ino: m.ino(),
            dev: m.dev(),
        })
    }
}

impl Cache {
    /// Reads, checks and resolves the manifests under `paths`, or returns `None` when
    /// nothing changed since the last call that returned a result.
    pub fn load(&mut self, paths: &[PathBuf]) -> Option<Loaded> {
        let now = SystemTime::now();
        let (files, unreadable) = discover(paths);
        let unchanged = unreadable.is_empty()
            && self.last.as_ref().is_some_and(|last| {
                last.len() == files.len()
                    && files.iter().zip(last).all(|(f, (was, stamp))| {
                        f == was && Stamp::of(f, now).as_ref() == Some(stamp)
                    })
            });
        if unchanged {
            return None;
        }
        let stamps: Option<Vec<(SourceFile, Stamp)>> = if unreadable.is_empty() {
            files
                .iter()
                .map(|f| Stamp::of(f, now).map(|s| (f.clone(), s)))
                .collect()
        } else {
            None
        };
        let loaded = resolve(read_discovered(files, unreadable));
        self.last = stamps;
        Some(loaded)
    }

    /// Forgets what was read: the next [`Cache::load`] reads everything.
    pub fn clear(&mut self) {
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const AGENT: &str =
        "apiVersion: berth/v1\nkind: Agent\nmetadata: {name: a}\nspec: {image: berth-runtime:1}\n";

    /// Makes `path` look last modified long ago, so its stamp is trusted.
    fn age(path: &std::path::Path) {
        let old = SystemTime::now() - Duration::from_secs(60);
        fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }

    #[test]
    fn an_unchanged_settled_set_is_not_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.yaml");
        fs::write(&f, AGENT).unwrap();
        age(&f);
        let mut cache = Cache::default();
        let paths = [dir.path().to_path_buf()];
        let first = cache.load(&paths).expect("first read");
        assert_eq!(first.desired.objects.len(), 1);
        assert!(cache.load(&paths).is_none());

        // Rewritten (same size), then aged again: the change time still differs.
        fs::write(&f, AGENT.replace("name: a", "name: b")).unwrap();
        age(&f);
        let again = cache.load(&paths).expect("changed file is read");
        assert_eq!(again.desired.objects.keys().next().unwrap().name, "b");
        assert!(cache.load(&paths).is_none());

        // A new file and a removed file change the list.
        let g = dir.path().join("g.yaml");
        fs::write(&g, AGENT.replace("name: a", "name: g")).unwrap();
        age(&g);
        assert_eq!(cache.load(&paths).unwrap().desired.objects.len(), 2);
        fs::remove_file(&g).unwrap();
        assert_eq!(cache.load(&paths).unwrap().desired.objects.len(), 1);

        cache.clear();
        assert!(cache.load(&paths).is_some());
    }

    #[test]
    fn a_fresh_file_is_read_every_time() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.yaml"), AGENT).unwrap();
        let mut cache = Cache::default();
        let paths = [dir.path().to_path_buf()];
        assert!(cache.load(&paths).is_some());
        assert!(
            cache.load(&paths).is_some(),
            "modified within the settle time"
        );
    }

    #[test]
    fn an_unreadable_path_is_read_every_time() {
        let dir = tempfile::tempdir().unwrap();
        let paths = [dir.path().join("missing")];
        let mut cache = Cache::default();
        assert!(cache.load(&paths).unwrap().has_errors());
        assert!(cache.load(&paths).is_some());
    }
}
