//! The state file: berth's memory of each object (session start times and expiry, restart
//! counts and backoff, last errors and phases) for what engine labels cannot hold. Written
//! atomically (temporary file, fsync, rename, fsync of the directory), so a kill -9 at any
//! moment leaves either the old or the new file. A missing file is an empty state; an
//! unreadable one is kept aside and reported, never silently overwritten.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::{ObjectKey, ObjectRuntime, Phase, PortAllocations, Runtime, VolumeMemory};

/// The format version written into the file.
pub const VERSION: u32 = 1;

#[derive(Debug, Error)]
pub enum StateError {
    #[error("cannot read the state file {path}: {message}")]
    Read { path: String, message: String },
    #[error("cannot write the state file {path}: {message}")]
    Write { path: String, message: String },
    #[error("another berth run holds {path}: one daemon per instance and state directory")]
    Locked { path: String },
    /// The state directory, or a path on the way to it, is a file.
    #[error("{}", not_a_directory(dir, file))]
    NotADirectory { dir: String, file: String },
}

/// `--state-dir X is a file, not a directory`, or which path on the way to X is one.
fn not_a_directory(dir: &str, file: &str) -> String {
    if dir == file {
        format!("--state-dir {dir} is a file, not a directory")
    } else {
        format!("--state-dir {dir}: {file} is a file, not a directory")
    }
}

/// One object's entry: its runtime memory and the status last reported.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    #[serde(flatten)]
    pub runtime: ObjectRuntime,
    /// The phase last reported (`Running`, `CrashLoopBackOff`, `Expired`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// When the next action is due (backoff, retry), Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_retry_ms: Option<u64>,
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StateFile {
    pub version: u32,
    pub instance: String,
    /// `kind/name` → entry.
    pub objects: BTreeMap<String, Entry>,
    /// Engine volume name → orphan clock and last policy.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, VolumeMemory>,
    /// `hostPort: auto` assignments: `kind/name` → `containerPort/protocol` → host port.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ports: BTreeMap<String, BTreeMap<String, u16>>,
}

impl StateFile {
    pub fn runtime(&self) -> Runtime {
        self.objects
            .iter()
            .filter_map(|(k, e)| parse_key(k).map(|key| (key, e.runtime.clone())))
            .collect()
    }

    pub fn entry(&self, key: &ObjectKey) -> Option<&Entry> {
        self.objects.get(&key.to_string())
    }

    /// The remembered `hostPort: auto` assignments.
    pub fn port_allocations(&self) -> PortAllocations {
        self.ports
            .iter()
            .filter_map(|(k, p)| parse_key(k).map(|key| (key, p.clone())))
            .collect()
    }

    /// Replaces the remembered `hostPort: auto` assignments.
    pub fn set_port_allocations(&mut self, ports: &PortAllocations) {
        self.ports = ports
            .iter()
            .filter(|(_, p)| !p.is_empty())
            .map(|(k, p)| (k.to_string(), p.clone()))
            .collect();
    }
}

fn parse_key(s: &str) -> Option<ObjectKey> {
    let (kind, name) = s.split_once('/')?;
    Some(ObjectKey::new(kind.parse().ok()?, name))
}

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

    /// Writes atomically: a crash leaves the old file or the new one, never a mix. The new
    /// content goes to `<instance>.json.tmp-XXXXXX` beside it (created with the mode a plain
    /// create would give), is synced, renamed over the file, and the directory is synced.
    pub fn save(&self, state: &StateFile) -> Result<(), StateError> {
        let err = |e: std::io::Error| StateError::Write {
            path: self.path.display().to_string(),
            message: e.to_string(),
        };
        self.check_dir()?;
        let dir = self.dir();
        let prefix = match self.path.file_name() {
            Some(name) => format!("{}.tmp-", name.to_string_lossy()),
            None => ".tmp-".to_string(),
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(&prefix)
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
            .tempfile_in(dir)
            .map_err(err)?;
        let mut body = serde_json::to_vec_pretty(state).expect("state serializes");
        body.push(b'\n');
        tmp.write_all(&body).map_err(err)?;
        tmp.as_file().sync_all().map_err(err)?;
        tmp.persist(&self.path).map_err(|e| err(e.error))?;
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

/// Builds the file content for `instance` from the runtime and per-object phases.
pub fn snapshot(
    instance: &str,
    runtime: &Runtime,
    phases: &BTreeMap<ObjectKey, (Phase, Option<u64>)>,
    volumes: &BTreeMap<String, VolumeMemory>,
) -> StateFile {
    let mut objects = BTreeMap::new();
    for (key, rt) in runtime {
        let (phase, next) = match phases.get(key) {
            Some((p, n)) => (Some(*p), *n),
            None => (None, None),
        };
        objects.insert(
            key.to_string(),
            Entry {
                runtime: rt.clone(),
                phase,
                next_retry_ms: next,
            },
        );
    }
    StateFile {
        version: VERSION,
        instance: instance.to_string(),
        objects,
        volumes: volumes.clone(),
        ports: BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::model::Kind;

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
        let phases = [(key.clone(), (Phase::Expired, None))].into();
        let file = snapshot("t", &rt, &phases, &BTreeMap::new());
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
