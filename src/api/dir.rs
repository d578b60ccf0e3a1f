//! The sessions directory as the API sees it: which Session each file declares, with the
//! labels and template quotas and scopes look at. Files are read again only when their
//! size, inode or modification time changed, all changed files in one pass of the same
//! resolve pipeline the loop runs, so files another program dropped count as the API's own.
//! Writes are atomic (a hidden temporary file renamed into place), so the loop never
//! reads half a manifest.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::manifest::discover::{is_ignored, SourceFile};
use crate::manifest::files::{io_message, Reader};
use crate::manifest::sources::Trust;
use crate::manifest::Sources;
use crate::model::Kind;

/// One Session declared by a file of the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub name: String,
    /// As resolved: the manifest's labels and the template's.
    pub labels: BTreeMap<String, String>,
    pub template: Option<String>,
    /// The file's name in the directory.
    pub file: String,
    /// The file declares nothing else.
    pub alone: bool,
}

/// When a file was last read: size, inode, modification time.
type Stamp = (u64, u64, i64, i64);

#[derive(Debug, Clone)]
struct Entry {
    stamp: Stamp,
    /// SHA-256 of the text, to tell the same request from another.
    digest: [u8; 32],
    sessions: Vec<Known>,
}

/// Why the directory cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("sessions directory {path}: {message}")]
pub struct DirError {
    pub path: String,
    pub message: String,
}

/// The API's view of its sessions directory.
#[derive(Debug)]
pub struct SessionDir {
    /// Canonical.
    dir: PathBuf,
    /// As the user named it.
    display: String,
    files: HashMap<String, Entry>,
    /// Session name → file name.
    by_name: HashMap<String, String>,
}

impl SessionDir {
    pub fn open(path: &Path) -> Result<SessionDir, DirError> {
        let dir = std::fs::canonicalize(path).map_err(|e| DirError {
            path: path.display().to_string(),
            message: io_message(&e),
        })?;
        Ok(SessionDir {
            dir,
            display: path.display().to_string().trim_end_matches('/').to_string(),
            files: HashMap::new(),
            by_name: HashMap::new(),
        })
    }

    /// The file a Session of this name is written to.
    pub fn source_of(&self, name: &str) -> SourceFile {
        let file = format!("{name}.yaml");
        SourceFile {
            display: format!("{}/{file}", self.display),
            canonical: self.dir.join(&file).display().to_string(),
            trust: Trust::DropIn,
        }
    }

    /// The canonical path of a file of the directory.
    pub fn path_of(&self, file: &str) -> String {
        self.dir.join(file).display().to_string()
    }

    /// A file of the directory as messages name it.
    pub fn display_of(&self, file: &str) -> String {
        format!("{}/{file}", self.display)
    }

    pub fn session(&self, name: &str) -> Option<&Known> {
        let file = self.by_name.get(name)?;
        self.files
            .get(file)?
            .sessions
            .iter()
            .find(|k| k.name == name)
    }

    /// Whether the Session's file holds exactly `text`.
    pub fn holds(&self, name: &str, text: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        self.by_name
            .get(name)
            .and_then(|f| self.files.get(f))
            .is_some_and(|e| e.digest == digest)
    }

    /// Whether a file of that name exists (valid or not).
    pub fn has_file(&self, file: &str) -> bool {
        self.files.contains_key(file)
    }

    pub fn sessions(&self) -> impl Iterator<Item = &Known> {
        self.files.values().flat_map(|e| &e.sessions)
    }

    /// Reads the directory again: files that changed are resolved (all together, against
    /// the trusted manifests and the Policy of `sources`), files that went are forgotten.
    pub fn refresh(&mut self, sources: &Sources) -> Result<(), DirError> {
        let err = |e: std::io::Error| DirError {
            path: self.display.clone(),
            message: io_message(&e),
        };
        let mut seen: HashMap<String, Stamp> = HashMap::new();
        for entry in std::fs::read_dir(&self.dir).map_err(err)? {
            let entry = entry.map_err(err)?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if is_ignored(&name) || !(name.ends_with(".yaml") || name.ends_with(".yml")) {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() {
                continue; // the loop reports it; it declares nothing the API can count
            }
            seen.insert(
                name,
                (meta.len(), meta.ino(), meta.mtime(), meta.mtime_nsec()),
            );
        }
        self.files.retain(|f, _| seen.contains_key(f));
        let changed: Vec<(String, Stamp)> = seen
            .into_iter()
            .filter(|(f, s)| self.files.get(f).is_none_or(|e| e.stamp != *s))
            .collect();
        if !changed.is_empty() {
            let mut reader = Reader::new(sources.limits);
            let mut texts = Vec::new();
            for (file, stamp) in changed {
                let source = SourceFile {
                    display: format!("{}/{file}", self.display),
                    canonical: self.dir.join(&file).display().to_string(),
                    trust: Trust::DropIn,
                };
                // A file that cannot be read declares nothing the API can count.
                let text = reader
                    .read_text(Path::new(&source.canonical))
                    .unwrap_or_default();
                let digest = Sha256::digest(text.as_bytes()).into();
                self.files.insert(
                    file.clone(),
                    Entry {
                        stamp,
                        digest,
                        sessions: Vec::new(),
                    },
                );
                texts.push((file, source, text));
            }
            let extra: Vec<(SourceFile, String)> = texts
                .iter()
                .map(|(_, s, t)| (s.clone(), t.clone()))
                .collect();
            let loaded = crate::resolve::load_with(sources, &extra);
            for (file, source, _) in &texts {
                let sessions: Vec<Known> = loaded
                    .desired
                    .objects
                    .values()
                    .filter(|w| w.key.kind == Kind::Session && w.source == source.canonical)
                    .map(|w| Known {
                        name: w.key.name.clone(),
                        labels: w.spec.labels.clone(),
                        template: w.template.clone(),
                        file: file.clone(),
                        alone: false,
                    })
                    .collect();
                let alone = sessions.len() == 1;
                if let Some(e) = self.files.get_mut(file) {
                    e.sessions = sessions.into_iter().map(|k| Known { alone, ..k }).collect();
                }
            }
        }
        self.by_name = self
            .files
            .iter()
            .flat_map(|(f, e)| e.sessions.iter().map(move |k| (k.name.clone(), f.clone())))
            .collect();
        Ok(())
    }

    /// Writes `text` as the Session's file, atomically. With `replace` false an existing
    /// file is never overwritten (another writer may have put one there).
    pub fn write(&mut self, known: Known, text: &str, replace: bool) -> Result<(), DirError> {
        let path = self.dir.join(&known.file);
        let err = |e: std::io::Error| DirError {
            path: format!("{}/{}", self.display, known.file),
            message: io_message(&e),
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(".berth-api-")
            .suffix(".tmp")
            .tempfile_in(&self.dir)
            .map_err(err)?;
        tmp.write_all(text.as_bytes()).map_err(err)?;
        tmp.as_file().sync_all().map_err(err)?;
        let file = if replace {
            tmp.persist(&path).map_err(|e| err(e.error))?
        } else {
            tmp.persist_noclobber(&path).map_err(|e| err(e.error))?
        };
        let meta = file.metadata().map_err(err)?;
        let stamp = (meta.len(), meta.ino(), meta.mtime(), meta.mtime_nsec());
        self.by_name.insert(known.name.clone(), known.file.clone());
        self.files.insert(
            known.file.clone(),
            Entry {
                stamp,
                digest: Sha256::digest(text.as_bytes()).into(),
                sessions: vec![known],
            },
        );
        Ok(())
    }

    /// Removes the file that declares the Session (only it).
    pub fn remove(&mut self, known: &Known) -> Result<(), DirError> {
        let path = self.dir.join(&known.file);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(DirError {
                    path: format!("{}/{}", self.display, known.file),
                    message: io_message(&e),
                })
            }
        }
        self.files.remove(&known.file);
        self.by_name.remove(&known.name);
        Ok(())
    }
}
