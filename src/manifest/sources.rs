//! What one load reads, and how far each part is trusted.
//!
//! | source | written by | may hold |
//! |---|---|---|
//! | `--policy PATH` | the platform team | exactly one `kind: Policy` |
//! | manifest paths | the platform team, through reviews | Templates, Agents, Sessions |
//! | `--sessions DIR` | another program (an agent platform) | Sessions that name a trusted Template and set only `ttl`, labels, `env` and lower `resources` |
//!
//! See docs/security.md ("Trust levels").

use std::path::PathBuf;

use serde::Serialize;

use super::files::Limits;

/// How far the files of a source are trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Trust {
    /// A manifest path: anything the Policy admits.
    Trusted,
    /// A `--sessions` directory: Sessions within their template's bounds only.
    DropIn,
}

/// Everything one load of the manifests reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sources {
    /// Manifest paths (files or directories).
    pub trusted: Vec<PathBuf>,
    /// Drop-in directories (or files) for Sessions.
    pub sessions: Vec<PathBuf>,
    /// The Policy source (a file or a directory); `None` is the built-in `restricted`
    /// profile.
    pub policy: Option<PathBuf>,
    pub limits: Limits,
    /// `--router traefik`: exposed objects carry Traefik's labels (part of their spec).
    pub traefik: bool,
}

impl Sources {
    /// Manifest paths only, the built-in profile, default limits.
    pub fn trusted(paths: &[PathBuf]) -> Sources {
        Sources {
            trusted: paths.to_vec(),
            ..Sources::default()
        }
    }

    /// Every path named, manifests and drop-ins (what a watcher watches).
    pub fn manifest_paths(&self) -> impl Iterator<Item = &PathBuf> {
        self.trusted.iter().chain(&self.sessions)
    }
}
