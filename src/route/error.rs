use std::fmt::Write as _;
use std::path::PathBuf;

use thiserror::Error;

use super::Synced;
use crate::model::RouteId;

/// What went wrong keeping routes in a router. `router` is [`super::Router::describe`],
/// `call` the request or step (`PATCH /id/berth_demo_session_a`, `write`).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RouteError {
    /// No answer: connection refused, the connection broke, or no answer in time.
    #[error("{router}: {call}: no answer: {reason}")]
    Unreachable {
        router: String,
        call: String,
        reason: String,
    },
    /// The router answered with an error status; `message` is its own error text (Caddy's
    /// `{"error": ...}`).
    #[error("{router}: {call}: refused ({status}): {message}")]
    Refused {
        router: String,
        call: String,
        status: u16,
        message: String,
    },
    /// An answer berth cannot read (not the JSON it expects, or too large).
    #[error("{router}: {call}: unexpected answer: {message}")]
    BadAnswer {
        router: String,
        call: String,
        message: String,
    },
    /// The router is there but not set up the way berth needs (no such Caddy server, the
    /// route folder is not a folder).
    #[error("{router}: {message}")]
    NotConfigured { router: String, message: String },
    /// Reading or writing a route file failed.
    #[error("{router}: cannot {call} {}: {error}", path.display())]
    Io {
        router: String,
        call: String,
        path: PathBuf,
        error: std::io::Error,
    },
    /// The reload command failed (nginx then keeps serving its old configuration); the
    /// previous route files were put back. `status` is how it ended (`exit status 1`, `timed
    /// out after 30s`), `stderr` the end of what it printed.
    #[error("{router}: reload command `{command}` failed ({status}){}: the previous route files were restored", tail(stderr))]
    Reload {
        router: String,
        command: String,
        status: String,
        stderr: String,
    },
    /// Routes this router cannot hold (nginx: a host), each with the reason. The other
    /// routes were synced (`synced`).
    #[error("{router}: {}", unsupported(routes, synced))]
    Unsupported {
        router: String,
        routes: Vec<(RouteId, String)>,
        synced: Synced,
    },
}

fn tail(stderr: &str) -> String {
    let s = stderr.trim();
    if s.is_empty() {
        String::new()
    } else {
        format!(": {s}")
    }
}

fn unsupported(routes: &[(RouteId, String)], synced: &Synced) -> String {
    let mut s = match routes.len() {
        1 => "1 route not applied: ".to_string(),
        n => format!("{n} routes not applied: "),
    };
    for (i, (id, why)) in routes.iter().enumerate() {
        let sep = if i == 0 { "" } else { "; " };
        let _ = write!(s, "{sep}{id} ({why})");
    }
    let _ = write!(
        s,
        "; the others are in place ({} put, {} deleted)",
        synced.put, synced.deleted
    );
    s
}

/// A `--router` value berth does not understand.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SpecError {
    #[error("empty router: expected caddy=URL[#SERVER], nginx=DIR or traefik")]
    Empty,
    #[error("router {kind} needs a value: caddy=http://127.0.0.1:2019[#SERVER] or nginx=DIR")]
    MissingValue { kind: String },
    #[error("router {kind} takes no value: write just `traefik`")]
    NoValue { kind: String },
    #[error("router {kind} is not supported yet: use caddy=URL[#SERVER], nginx=DIR or traefik")]
    NotSupported { kind: String },
    #[error("unknown router {kind:?}: expected caddy=URL[#SERVER], nginx=DIR or traefik")]
    UnknownKind { kind: String },
    #[error("caddy admin address {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("caddy server name {server:?}: letters, digits and - _ . only")]
    BadServer { server: String },
}
