//! Reading files that another program may have written: only regular files, never more
//! than a cap, never blocking. A FIFO, socket or device is refused from its metadata, before
//! anything opens it; the open itself is non-blocking and the opened file is checked again, so
//! a file swapped for a FIFO in between cannot hang berth either. Text must be UTF-8, and
//! where it is not, the error says at which line and column.

use std::fs::{self, File, Metadata};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use thiserror::Error;

/// How much berth reads in one load of the manifests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest file berth reads (manifest, Policy or seccomp profile).
    pub max_file_bytes: u64,
    /// All files of one load together.
    pub max_total_bytes: u64,
    /// Manifest files found under the paths of one load.
    pub max_files: usize,
    /// Values (YAML nodes: mappings, sequences, scalars) all files of one load may hold.
    pub max_values: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 1 << 20,
            max_total_bytes: 8 << 20,
            max_files: 10_000,
            max_values: 150_000,
        }
    }
}

/// Why a file was not read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FileError {
    #[error("not a regular file but a {0}: only regular files are read")]
    NotRegular(&'static str),
    #[error("{size} bytes, over the limit of {limit} bytes for one file (--max-file-size)")]
    TooLarge { size: u64, limit: u64 },
    #[error(
        "not read: the files of this load are over the limit of {limit} bytes together (--max-total-size)"
    )]
    TotalExceeded { limit: u64 },
    #[error("invalid UTF-8 at line {line}, column {column}: manifests are UTF-8 text")]
    Utf8 { line: usize, column: usize },
    /// It was there when the directory was listed and is not any more (deleted since).
    #[error("no such file or directory")]
    Vanished,
    #[error("{0}")]
    Io(String),
}

impl FileError {
    /// Where in the file the error is; `None` when it is about the file as a whole.
    pub fn position(&self) -> Option<(usize, usize)> {
        match self {
            FileError::Utf8 { line, column } => Some((*line, *column)),
            _ => None,
        }
    }
}

/// What kind of file `meta` describes, for a refusal; `None` for a regular file.
pub fn irregular_kind(meta: &Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_file() {
        None
    } else if t.is_dir() {
        Some("directory")
    } else if t.is_fifo() {
        Some("FIFO")
    } else if t.is_socket() {
        Some("socket")
    } else if t.is_block_device() {
        Some("block device")
    } else if t.is_char_device() {
        Some("character device")
    } else {
        Some("special file")
    }
}

/// An I/O error as a person reads it.
pub fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Reads files under one [`Limits`]: the total is counted across calls, and so are the
/// values the files parse into ([`Reader::values`]).
#[derive(Debug, Clone)]
pub struct Reader {
    limits: Limits,
    used: u64,
    /// What the files read so far may still parse into.
    pub values: super::yaml::Budget,
}

impl Reader {
    pub fn new(limits: Limits) -> Reader {
        Reader {
            limits,
            used: 0,
            values: super::yaml::Budget::with_nodes(limits.max_values),
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The text of `path`, or why it was not read.
    pub fn read_text(&mut self, path: &Path) -> Result<String, FileError> {
        let bytes = self.read_bytes(path)?;
        text(bytes)
    }

    /// The bytes of `path` (at most the per-file cap), or why they were not read.
    pub fn read_bytes(&mut self, path: &Path) -> Result<Vec<u8>, FileError> {
        let io = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::NotFound => FileError::Vanished,
            _ => FileError::Io(io_message(&e)),
        };
        let meta = fs::metadata(path).map_err(io)?;
        self.check(&meta)?;
        let file = File::options()
            .read(true)
            // Never wait for a writer, never become the controlling terminal.
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path)
            .map_err(io)?;
        // The path may have been swapped for something else since the check.
        self.check(&file.metadata().map_err(io)?)?;
        let cap = self.limits.max_file_bytes;
        let mut buf = Vec::with_capacity(meta.len().min(cap) as usize);
        file.take(cap + 1).read_to_end(&mut buf).map_err(io)?;
        let size = buf.len() as u64;
        if size > cap {
            return Err(FileError::TooLarge { size, limit: cap });
        }
        if self.used + size > self.limits.max_total_bytes {
            return Err(FileError::TotalExceeded {
                limit: self.limits.max_total_bytes,
            });
        }
        self.used += size;
        Ok(buf)
    }

    fn check(&self, meta: &Metadata) -> Result<(), FileError> {
        if let Some(kind) = irregular_kind(meta) {
            return Err(FileError::NotRegular(kind));
        }
        if meta.len() > self.limits.max_file_bytes {
            return Err(FileError::TooLarge {
                size: meta.len(),
                limit: self.limits.max_file_bytes,
            });
        }
        if self.used + meta.len() > self.limits.max_total_bytes {
            return Err(FileError::TotalExceeded {
                limit: self.limits.max_total_bytes,
            });
        }
        Ok(())
    }
}

/// Bytes as UTF-8 text, or where they stop being UTF-8.
pub fn text(bytes: Vec<u8>) -> Result<String, FileError> {
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        // The valid prefix is UTF-8 by definition.
        let prefix = std::str::from_utf8(valid).unwrap_or_default();
        let line = prefix.matches('\n').count() + 1;
        let column = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        FileError::Utf8 { line, column }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_is_placed() {
        assert_eq!(
            text(b"ab\ncd\xffe".to_vec()),
            Err(FileError::Utf8 { line: 2, column: 3 })
        );
        let mut b = "é".as_bytes().to_vec();
        b.push(0xff);
        assert_eq!(text(b), Err(FileError::Utf8 { line: 1, column: 2 }));
        assert_eq!(text(b"ok".to_vec()).unwrap(), "ok");
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("x.yaml");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let mut r = Reader::new(Limits::default());
        assert_eq!(r.read_text(&fifo), Err(FileError::NotRegular("FIFO")));
        assert_eq!(
            r.read_text(Path::new("/dev/zero")),
            Err(FileError::NotRegular("character device"))
        );
        assert_eq!(
            r.read_text(dir.path()),
            Err(FileError::NotRegular("directory"))
        );
    }

    #[test]
    fn caps_per_file_and_in_total() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        fs::write(&a, vec![b'x'; 600]).unwrap();
        let limits = Limits {
            max_file_bytes: 500,
            max_total_bytes: 1000,
            max_files: 10,
            max_values: 10,
        };
        let mut r = Reader::new(limits);
        assert_eq!(
            r.read_text(&a),
            Err(FileError::TooLarge {
                size: 600,
                limit: 500
            })
        );
        fs::write(&a, vec![b'x'; 400]).unwrap();
        assert!(r.read_text(&a).is_ok());
        assert!(r.read_text(&a).is_ok());
        assert_eq!(
            r.read_text(&a),
            Err(FileError::TotalExceeded { limit: 1000 })
        );
    }
}
