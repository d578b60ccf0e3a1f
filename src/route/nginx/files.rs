//! The route folder: reading berth's files safely, writing them atomically, and undoing a
//! change whose reload failed.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::FILE_CAP;
use crate::model::RouteId;
use crate::route::{owned, Change, RouteError};

/// The route folder, worked on in blocking threads.
#[derive(Debug, Clone)]
pub(super) struct Files {
    pub(super) router: String,
    pub(super) dir: PathBuf,
}

/// How to put the folder back as it was before [`Files::apply`].
#[derive(Debug, Default)]
pub(super) struct Undo {
    steps: Vec<Step>,
}

#[derive(Debug)]
enum Step {
    /// `path` was new: remove it.
    Remove(PathBuf),
    /// `backup` is a hard link to `path`'s previous content.
    Restore { backup: PathBuf, path: PathBuf },
}

impl Undo {
    /// The change stays: drop the backups.
    pub(super) fn commit(self) {
        for step in self.steps {
            if let Step::Restore { backup, .. } = step {
                let _ = fs::remove_file(backup);
            }
        }
    }
}

impl Files {
    pub(super) async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Files) -> Result<T, RouteError> + Send + 'static,
    ) -> Result<T, RouteError> {
        let me = self.clone();
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || work(&me))
            .await
            .map_err(|e| self.io("work in", &dir, io::Error::other(e.to_string())))?
    }

    pub(super) fn io(&self, call: &str, path: &Path, error: io::Error) -> RouteError {
        RouteError::Io {
            router: self.router.clone(),
            call: call.into(),
            path: path.to_path_buf(),
            error,
        }
    }

    fn path(&self, id: &RouteId) -> PathBuf {
        self.dir.join(format!("{id}.conf"))
    }

    fn backup(&self, id: &RouteId) -> PathBuf {
        self.dir.join(format!(".{id}.conf.berth-old"))
    }

    /// The instance's route files: id → content.
    pub(super) fn read(&self, instance: &str) -> Result<BTreeMap<RouteId, String>, RouteError> {
        let mut have = BTreeMap::new();
        let entries = fs::read_dir(&self.dir).map_err(|e| self.io("list", &self.dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| self.io("list", &self.dir, e))?;
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".conf")) else {
                continue;
            };
            if !owned(instance, id) {
                continue;
            }
            let path = entry.path();
            if let Some(text) = read_regular(&path).map_err(|e| self.io("read", &path, e))? {
                have.insert(RouteId(id.to_string()), text);
            }
        }
        Ok(have)
    }

    /// Applies `todo`; on a failure puts back what it had done.
    pub(super) fn apply(
        &self,
        todo: &[Change<String>],
        have: &BTreeMap<RouteId, String>,
    ) -> Result<Undo, RouteError> {
        let mut undo = Undo::default();
        for change in todo {
            if let Err(e) = self.apply_one(change, have, &mut undo) {
                let _ = self.rollback(undo);
                return Err(e);
            }
        }
        Ok(undo)
    }

    fn apply_one(
        &self,
        change: &Change<String>,
        have: &BTreeMap<RouteId, String>,
        undo: &mut Undo,
    ) -> Result<(), RouteError> {
        let id = match change {
            Change::Put(id, _) | Change::Delete(id) => id,
        };
        let (path, backup) = (self.path(id), self.backup(id));
        if have.contains_key(id) {
            match fs::remove_file(&backup) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(self.io("remove", &backup, e))
                }
                _ => {}
            }
            fs::hard_link(&path, &backup).map_err(|e| self.io("back up", &path, e))?;
            undo.steps.push(Step::Restore {
                backup,
                path: path.clone(),
            });
        } else {
            undo.steps.push(Step::Remove(path.clone()));
        }
        match change {
            Change::Put(_, text) => self.write(&path, text),
            Change::Delete(_) => fs::remove_file(&path).map_err(|e| self.io("remove", &path, e)),
        }
    }

    /// Writes `path` atomically: a temporary file in the folder, renamed over it.
    fn write(&self, path: &Path, text: &str) -> Result<(), RouteError> {
        let mut tmp = tempfile::Builder::new()
            .prefix(".berth-")
            .suffix(".tmp")
            .tempfile_in(&self.dir)
            .map_err(|e| self.io("write into", &self.dir, e))?;
        tmp.write_all(text.as_bytes())
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| self.io("write", tmp.path(), e))?;
        tmp.persist(path)
            .map_err(|e| self.io("rename into place", path, e.error))?;
        Ok(())
    }

    /// Puts the folder back as it was, last step first.
    pub(super) fn rollback(&self, undo: Undo) -> Result<(), RouteError> {
        let mut first = None;
        for step in undo.steps.into_iter().rev() {
            let done = match &step {
                Step::Remove(path) => match fs::remove_file(path) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => Err((path.clone(), e)),
                    _ => Ok(()),
                },
                Step::Restore { backup, path } => {
                    fs::rename(backup, path).map_err(|e| (path.clone(), e))
                }
            };
            if let (Err((path, e)), None) = (done, &first) {
                first = Some(self.io("restore", &path, e));
            }
        }
        first.map_or(Ok(()), Err)
    }
}

/// A regular file's text, at most [`FILE_CAP`] of it (a larger file yields text that matches
/// no route); `None` for anything else (a FIFO, a device, a symbolic link) or a file gone
/// meanwhile. Opened non-blocking and without following links, so nothing can hang the read.
fn read_regular(path: &Path) -> io::Result<Option<String>> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path);
    let file: File = match file {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Ok(None),
        Err(e) => return Err(e),
    };
    if !file.metadata()?.is_file() {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    file.take(FILE_CAP + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > FILE_CAP {
        return Ok(Some("\0(larger than berth writes)".into()));
    }
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}
