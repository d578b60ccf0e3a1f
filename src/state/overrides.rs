//! `<instance>.overrides.json`: what operators asked for (`berth stop`, `berth restart`),
//! written by the CLI under `<instance>.overrides.lock` (so two commands never lose each
//! other's change) and read by the loop and `berth apply`. Kept across restarts of berth.
//! A file that cannot be read is an error, never an empty set: dropping an operator's stop
//! silently would start what they stopped.

use std::fs;
use std::path::{Path, PathBuf};

use super::store::write_atomically;
use super::StateError;
use crate::model::{Overrides, OverridesFile};

/// Where an instance keeps its overrides.
#[derive(Debug, Clone)]
pub struct OverrideStore {
    path: PathBuf,
}

impl OverrideStore {
    /// `<dir>/<instance>.overrides.json`.
    pub fn new(dir: &Path, instance: &str) -> OverrideStore {
        OverrideStore {
            path: dir.join(format!("{instance}.overrides.json")),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The overrides; a missing file is none.
    pub fn read(&self) -> Result<Overrides, StateError> {
        let err = |message: String| StateError::Read {
            path: self.path.display().to_string(),
            message,
        };
        match fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str::<OverridesFile>(&text)
                .map(|f| f.overrides())
                .map_err(|e| err(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Overrides::default()),
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// Reads, lets `change` edit, writes back, all under the overrides lock (waiting for
    /// another command that holds it: they hold it for a read and a write).
    pub fn modify<T>(&self, change: impl FnOnce(&mut Overrides) -> T) -> Result<T, StateError> {
        let lock_path = self.path.with_extension("lock");
        let werr = |p: &Path, e: std::io::Error| StateError::Write {
            path: p.display().to_string(),
            message: e.to_string(),
        };
        if let Some(dir) = lock_path.parent() {
            fs::create_dir_all(dir).map_err(|e| werr(dir, e))?;
        }
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| werr(&lock_path, e))?;
        lock.lock().map_err(|e| werr(&lock_path, e))?;
        let mut overrides = self.read()?;
        let out = change(&mut overrides);
        let mut body =
            serde_json::to_vec_pretty(&OverridesFile::from(&overrides)).expect("serializes");
        body.push(b'\n');
        write_atomically(&self.path, &body)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::model::{Kind, ObjectKey};

    #[test]
    fn overrides_survive_and_garbage_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = OverrideStore::new(dir.path(), "t");
        assert!(store.read().unwrap().is_empty());
        let key = ObjectKey::new(Kind::Agent, "a");
        store
            .modify(|o| o.stopped.insert(key.clone(), UNIX_EPOCH))
            .unwrap();
        assert!(store.read().unwrap().stopped.contains_key(&key));
        fs::write(store.path(), "{ nope").unwrap();
        assert!(store.read().is_err());
        assert!(store.modify(|_| ()).is_err(), "never overwritten blindly");
        assert_eq!(fs::read_to_string(store.path()).unwrap(), "{ nope");
    }
}
