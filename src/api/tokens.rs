//! `--api-tokens FILE`: who may call the session API, and what each caller may touch.
//!
//! One token per line, three fields separated by white space: a name (for the log), a
//! scope and the token itself. `#` starts a comment line.
//!
//! ```text
//! # name    scope            token
//! webapp    write:team=a     5b0c9e0f3d2a4e7f8a1b6c9d0e3f4a5b
//! grafana   read             0a1b2c3d4e5f60718293a4b5c6d7e8f9
//! ```
//!
//! A scope is `read` or `write`, optionally restricted by a label selector as kubectl
//! writes them (`write:team=a`, `read:user in (u1,u2)`): a caller sees and changes only
//! the objects whose labels match. `write` includes `read`. Tokens are kept as SHA-256
//! digests only, compared without early exit, and never logged.

use std::collections::BTreeSet;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::model::Selector;

/// The shortest token accepted: guessing one must be out of reach.
pub const MIN_TOKEN_LEN: usize = 16;

/// What a token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    Read,
    Write,
}

/// One caller.
pub struct Caller {
    pub name: String,
    pub access: Access,
    /// The objects it may see and change (empty: all of them).
    pub selector: Selector,
    digest: [u8; 32],
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("name", &self.name)
            .field("access", &self.access)
            .field("selector", &self.selector.to_string())
            .finish_non_exhaustive()
    }
}

impl Caller {
    /// Whether it may see an object with these labels.
    pub fn may_read(&self, labels: &std::collections::BTreeMap<String, String>) -> bool {
        self.selector.matches(labels)
    }

    /// Whether it may create, change or remove an object with these labels.
    pub fn may_write(&self, labels: &std::collections::BTreeMap<String, String>) -> bool {
        self.access == Access::Write && self.selector.matches(labels)
    }

    /// The scope as written in the file.
    pub fn scope(&self) -> String {
        let access = match self.access {
            Access::Read => "read",
            Access::Write => "write",
        };
        match self.selector.to_string().as_str() {
            "" => access.to_string(),
            s => format!("{access}:{s}"),
        }
    }
}

/// Why the token file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("--api-tokens {path}: {message}")]
    File { path: String, message: String },
    #[error("--api-tokens {path}:{line}: {message}")]
    Line {
        path: String,
        line: usize,
        message: String,
    },
}

/// Every caller of the API.
#[derive(Debug, Default)]
pub struct Tokens {
    callers: Vec<Caller>,
}

impl Tokens {
    /// Reads the token file. It must not be readable by everyone: the tokens are secrets.
    pub fn load(path: &Path) -> Result<Tokens, TokenError> {
        let shown = path.display().to_string();
        let file_err = |message: String| TokenError::File {
            path: shown.clone(),
            message,
        };
        let meta = std::fs::metadata(path)
            .map_err(|e| file_err(crate::manifest::files::io_message(&e)))?;
        if !meta.is_file() {
            return Err(file_err("is not a regular file".into()));
        }
        if meta.len() > 1 << 20 {
            return Err(file_err("is larger than 1 MiB".into()));
        }
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o004 != 0 {
            return Err(file_err(
                "is readable by every user; it holds secrets (chmod o-r)".into(),
            ));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| file_err(crate::manifest::files::io_message(&e)))?;
        Tokens::parse(&text, &shown)
    }

    /// The callers a token file's text declares.
    pub fn parse(text: &str, path: &str) -> Result<Tokens, TokenError> {
        let mut callers = Vec::new();
        let mut names = BTreeSet::new();
        let mut digests = BTreeSet::new();
        for (i, line) in text.lines().enumerate() {
            let err = |message: String| TokenError::Line {
                path: path.to_string(),
                line: i + 1,
                message,
            };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 3 {
                return Err(err(
                    "expected NAME SCOPE TOKEN (e.g. `webapp write:team=a <token>`)".into(),
                ));
            }
            let name = fields[0];
            let token = fields[fields.len() - 1];
            let scope = fields[1..fields.len() - 1].join(" ");
            let (access, selector) = match scope.split_once(':') {
                Some((a, s)) => (a, s),
                None => (scope.as_str(), ""),
            };
            let access = match access {
                "read" => Access::Read,
                "write" => Access::Write,
                other => {
                    return Err(err(format!(
                        "scope {other:?}: use read or write, optionally with :SELECTOR"
                    )))
                }
            };
            let selector: Selector = selector.parse().map_err(|e| err(format!("scope: {e}")))?;
            if token.len() < MIN_TOKEN_LEN {
                return Err(err(format!(
                    "the token of {name:?} is shorter than {MIN_TOKEN_LEN} characters"
                )));
            }
            if !names.insert(name.to_string()) {
                return Err(err(format!("{name:?} is named twice")));
            }
            let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
            if !digests.insert(digest) {
                return Err(err(format!("the token of {name:?} is used twice")));
            }
            callers.push(Caller {
                name: name.to_string(),
                access,
                selector,
                digest,
            });
        }
        if callers.is_empty() {
            return Err(TokenError::File {
                path: path.to_string(),
                message: "declares no token: the API would refuse every request".into(),
            });
        }
        Ok(Tokens { callers })
    }

    /// The caller a presented token belongs to. Every digest is compared in full.
    pub fn find(&self, presented: &str) -> Option<&Caller> {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = None;
        for c in &self.callers {
            let diff = c
                .digest
                .iter()
                .zip(digest.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b));
            if diff == 0 {
                found = Some(c);
            }
        }
        found
    }

    pub fn len(&self) -> usize {
        self.callers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.callers.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_file_names_callers_and_their_scopes() {
        let t = Tokens::parse(
            "# who scope token\n\nweb write:team=a aaaaaaaaaaaaaaaa\nro read bbbbbbbbbbbbbbbb\nsome read:user in (u1,u2) cccccccccccccccc\n",
            "t",
        )
        .unwrap();
        assert_eq!(t.len(), 3);
        let web = t.find("aaaaaaaaaaaaaaaa").unwrap();
        assert_eq!(
            (web.name.as_str(), web.scope()),
            ("web", "write:team=a".into())
        );
        let a = [("team".to_string(), "a".to_string())].into();
        let b = [("team".to_string(), "b".to_string())].into();
        assert!(web.may_write(&a) && !web.may_write(&b) && !web.may_read(&b));
        let ro = t.find("bbbbbbbbbbbbbbbb").unwrap();
        assert!(ro.may_read(&b) && !ro.may_write(&b));
        assert_eq!(
            t.find("cccccccccccccccc").unwrap().scope(),
            "read:user in (u1,u2)"
        );
        assert!(t.find("nope").is_none());
        assert!(!format!("{web:?}").contains("aaaa"), "never printed");
    }

    #[test]
    fn bad_lines_say_where_and_why() {
        for (text, says) in [
            ("web write", "t:1: expected NAME SCOPE TOKEN"),
            ("web admin aaaaaaaaaaaaaaaa", "t:1: scope \"admin\""),
            ("web write short", "shorter than 16"),
            ("web write:=x aaaaaaaaaaaaaaaa", "t:1: scope: selector"),
            (
                "a read aaaaaaaaaaaaaaaa\na read bbbbbbbbbbbbbbbb",
                "t:2: \"a\" is named twice",
            ),
            (
                "a read aaaaaaaaaaaaaaaa\nb read aaaaaaaaaaaaaaaa",
                "t:2: the token of \"b\" is used twice",
            ),
            ("# nothing\n", "declares no token"),
        ] {
            let e = Tokens::parse(text, "t").unwrap_err().to_string();
            assert!(e.contains(says), "{text:?}: {e}");
        }
    }
}
