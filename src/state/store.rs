//! `<instance>.json` and `<instance>.lock`: reading, atomic writing, and the lock that keeps
//! one daemon per instance and state directory. A missing file is an empty state; an
//! unreadable one is kept aside and reported, never silently overwritten.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{StateError, StateFile};

/// Where an instance keeps its state file.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
}

impl Store {
    /// `<dir>/<instance>.json`.
    pub fn new(dir: &Path, instance: &str) -> Store {
        Store {
            path: dir.join(format!("{instance}.json")),
        }
    }

    /// The default directory: `$BERTH_STATE_DIR`, else `/var/lib/berth` for root, else
    /// `$XDG_STATE_HOME/berth` or `~/.local/state/berth`.
    pub fn default_dir() -> PathBuf {
        if let Some(d) = std::env::var_os("BERTH_STATE_DIR") {
            return PathBuf::from(d);
        }
        // The owner of /proc/self is the effective user.
        let is_root = {
            use std::os::unix::fs::MetadataExt;
            fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
        };
        if is_root {
            return PathBuf::from("/var/lib/berth");
        }
        if let Some(x) = std::env::var_os("XDG_STATE_HOME") {
            return PathBuf::from(x).join("berth");
        }
        std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(".local/state/berth"))
            .unwrap_or_else(|| PathBuf::from("/tmp/berth-state"))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory of the state file.
    fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// Makes sure the state directory exists (creating it) and is a directory: what every
    /// command that writes state checks first, so that a file in its place is named as such.
    pub fn check_dir(&self) -> Result<(), StateError> {
        let dir = self.dir();
        match fs::create_dir_all(dir) {
            Ok(()) => Ok(()),
            Err(e) => match dir.ancestors().find(|p| p.exists() && !p.is_dir()) {
                Some(file) => Err(StateError::NotADirectory {
                    dir: dir.display().to_string(),
                    file: file.display().to_string(),
                }),
                None => Err(StateError::Write {
                    path: dir.display().to_string(),
                    message: e.to_string(),
                }),
            },
        }
    }

    /// Takes the instance lock (`<instance>.lock` beside the state file) for as long as the
    /// returned file lives, so two daemons never drive one instance.
    pub fn lock(&self) -> Result<fs::File, StateError> {
        let path = self.path.with_extension("lock");
        let err = |e: std::io::Error| StateError::Write {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        self.check_dir()?;
        let f = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(err)?;
        match f.try_lock() {
            Ok(()) => Ok(f),
            Err(fs::TryLockError::WouldBlock) => Err(StateError::Locked {
                path: path.display().to_string(),
            }),
            Err(fs::TryLockError::Error(e)) => Err(err(e)),
        }
    }

    /// Reads the file; a missing file is an empty state. A file that cannot be parsed is
    /// renamed to `<name>.corrupt-<unix seconds>` and reported, and berth starts empty:
    /// the engine's labels still say what runs.
    pub fn load(&self) -> Result<(StateFile, Option<String>), StateError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((StateFile::default(), None))
            }
            Err(e) => {
                return Err(StateError::Read {
                    path: self.path.display().to_string(),
                    message: e.to_string(),
                })
            }
        };
        match serde_json::from_str::<StateFile>(&text) {
            Ok(s) => Ok((s, None)),
            Err(e) => {
                let secs = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let aside = self.path.with_extension(format!("json.corrupt-{secs}"));
                let _ = fs::rename(&self.path, &aside);
                Ok((
                    StateFile::default(),
                    Some(format!(
                        "state file {} was unreadable ({e}); moved to {} and starting empty",
                        self.path.display(),
                        aside.display()
                    )),
                ))
            }
        }
    }

    /// Reads the file without changing anything (for `berth get`): a missing file is an
    /// empty state, an unreadable one an error.
    pub fn peek(&self) -> Result<StateFile, StateError> {
        let err = |message: String| StateError::Read {
            path: self.path.display().to_string(),
            message,
        };
        match fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| err(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StateFile::default()),
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
                let dir = self.dir();
                let file = dir.ancestors().find(|p| p.exists() && !p.is_dir());
                Err(StateError::NotADirectory {
                    dir: dir.display().to_string(),
                    file: file.unwrap_or(dir).display().to_string(),
                })
            }
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// Writes atomically: a crash leaves the old file or the new one, never a mix.
    pub fn save(&self, state: &StateFile) -> Result<(), StateError> {
        self.check_dir()?;
        let mut body = serde_json::to_vec_pretty(state).expect("state serializes");
        body.push(b'\n');
        write_atomically(&self.path, &body)
    }

    /// Whether a `berth run` holds the instance's lock now.
    pub fn daemon_running(&self) -> bool {
        matches!(self.lock(), Err(StateError::Locked { .. }))
    }

    /// For one-shot commands while no `berth run` holds the instance: takes the lock,
    /// reads the file, lets `change` edit it and writes it back. `Locked` when a daemon
    /// runs (it owns the file then).
    pub fn update<T>(&self, change: impl FnOnce(&mut StateFile) -> T) -> Result<T, StateError> {
        let _lock = self.lock()?;
        let (mut file, warning) = self.load()?;
        if let Some(w) = warning {
            tracing::warn!("{w}");
        }
        let out = change(&mut file);
        self.save(&file)?;
        Ok(out)
    }
}

/// Writes `body` to `path` so that a crash leaves the old file or the new one: the new
/// content goes to `<name>.tmp-XXXXXX` beside it (created with the mode a plain create
/// would give), is synced, renamed over the file, and the directory is synced.
pub(super) fn write_atomically(path: &Path, body: &[u8]) -> Result<(), StateError> {
    let err = |e: std::io::Error| StateError::Write {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(err)?;
    let prefix = match path.file_name() {
        Some(name) => format!("{}.tmp-", name.to_string_lossy()),
        None => ".tmp-".to_string(),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(err)?;
    tmp.write_all(body).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use std::collections::BTreeMap;

    use super::*;
    use crate::model::{History, Kind, ObjectKey, ObjectRuntime, Phase, Runtime};
    use crate::state::{snapshot, Published};

    /// `--state-dir` naming a file once said "File exists (os error 17)".
    #[test]
    fn a_file_as_the_state_directory_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state");
        std::fs::write(&file, "").unwrap();
        let f = file.display();
        for (store, says) in [
            (
                Store::new(&file, "t"),
                format!("--state-dir {f} is a file, not a directory"),
            ),
            (
                Store::new(&file.join("below"), "t"),
                format!("--state-dir {f}/below: {f} is a file, not a directory"),
            ),
        ] {
            assert_eq!(store.check_dir().unwrap_err().to_string(), says);
            assert!(matches!(
                store.lock(),
                Err(StateError::NotADirectory { .. })
            ));
            assert!(matches!(
                store.save(&StateFile::default()),
                Err(StateError::NotADirectory { .. })
            ));
        }
        assert!(matches!(
            Store::new(&file, "t").peek(),
            Err(StateError::NotADirectory { .. })
        ));
        let fresh = Store::new(&dir.path().join("new/dir"), "t");
        fresh.check_dir().unwrap();
        assert!(dir.path().join("new/dir").is_dir());
    }

    #[test]
    fn round_trips_and_survives_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "t");
        assert_eq!(store.load().unwrap().0, StateFile::default());

        let key = ObjectKey::new(Kind::Session, "s1");
        let rt: Runtime = [(
            key.clone(),
            ObjectRuntime {
                restarts: 3,
                first_started: Some(UNIX_EPOCH + Duration::from_millis(1_700_000_000_123)),
                expired: true,
                ..Default::default()
            },
        )]
        .into();
        let published = [(
            key.clone(),
            Published {
                phase: Some(Phase::Expired),
                ..Default::default()
            },
        )]
        .into();
        let file = snapshot("t", &rt, published, &BTreeMap::new(), &History::default());
        store.save(&file).unwrap();
        let (back, warning) = store.load().unwrap();
        assert!(warning.is_none());
        assert_eq!(back, file);
        assert_eq!(back.runtime(), rt);
        assert_eq!(back.entry(&key).unwrap().phase, Some(Phase::Expired));

        fs::write(store.path(), "{ not json").unwrap();
        let (empty, warning) = store.load().unwrap();
        assert_eq!(empty, StateFile::default());
        assert!(warning.unwrap().contains("moved to"));
        assert!(!store.path().exists());
    }

    #[test]
    fn one_lock_holder_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "t");
        let held = store.lock().unwrap();
        assert!(matches!(store.lock(), Err(StateError::Locked { .. })));
        drop(held);
        store.lock().unwrap();
    }
}
