//! The router adapters: keep berth's [`Route`]s in a reverse proxy — Caddy through its admin
//! API ([`caddy`]), or nginx through one include file per route ([`nginx`]).
//!
//! Routes are owned objects: a sync lists what the router holds, keeps only the routes whose
//! id starts with [`RouteId::prefix`] of the instance (never another instance's or another
//! program's), diffs them against what is wanted ([`changes`]) and writes only the
//! difference. Nothing is written when everything matches: Caddy closes every proxied
//! WebSocket on each config change. Each adapter maps every answer to a [`RouteError`]
//! that names the router, the call and the reason.

pub mod caddy;
mod error;
pub mod nginx;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;

pub use error::{RouteError, SpecError};

use crate::model::{Route, RouteId};

/// The Caddy admin address when none is given.
pub const DEFAULT_CADDY_ADMIN: &str = "http://127.0.0.1:2019";
/// The Caddy server berth's routes go into when none is given.
pub const DEFAULT_CADDY_SERVER: &str = "srv0";
/// The command that tells nginx to read its configuration again.
pub const DEFAULT_NGINX_RELOAD: &str = "nginx -s reload";

/// Which router berth keeps its routes in: the value of `--router`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouterSpec {
    /// `caddy=URL` or `caddy=URL#SERVER`: Caddy's admin API at `admin` (`http://HOST:PORT`,
    /// no trailing slash), routes in the HTTP server `server`.
    Caddy { admin: String, server: String },
    /// `nginx=DIR`: one `<route id>.conf` file per route in `dir`, which the nginx
    /// configuration includes inside a `server` block; `reload` (run with `sh -c`) makes
    /// nginx read them again.
    Nginx { dir: PathBuf, reload: String },
    /// `traefik`: Traefik's docker provider reads each exposed container's labels, which
    /// berth puts on the container (so nothing is synced; a changed route is a new
    /// container).
    Traefik,
}

impl FromStr for RouterSpec {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, value) = match s.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (s.trim(), None),
        };
        match (kind, value) {
            ("", _) => Err(SpecError::Empty),
            ("caddy", Some(v)) if !v.is_empty() => parse_caddy(v),
            ("nginx", Some(v)) if !v.is_empty() => Ok(RouterSpec::Nginx {
                dir: PathBuf::from(v),
                reload: DEFAULT_NGINX_RELOAD.to_string(),
            }),
            ("caddy" | "nginx", _) => Err(SpecError::MissingValue { kind: kind.into() }),
            ("traefik", None) => Ok(RouterSpec::Traefik),
            ("traefik", Some(_)) => Err(SpecError::NoValue { kind: kind.into() }),
            ("haproxy" | "envoy" | "apache" | "httpd", _) => {
                Err(SpecError::NotSupported { kind: kind.into() })
            }
            _ => Err(SpecError::UnknownKind { kind: kind.into() }),
        }
    }
}

fn parse_caddy(v: &str) -> Result<RouterSpec, SpecError> {
    let (url, server) = match v.split_once('#') {
        Some((u, s)) => (u, s),
        None => (v, DEFAULT_CADDY_SERVER),
    };
    let bad = |reason: &str| SpecError::BadUrl {
        url: url.into(),
        reason: reason.into(),
    };
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| bad("the admin API is reached over plain http://HOST:PORT"))?;
    let authority = rest.trim_end_matches('/');
    if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
        return Err(bad("give only http://HOST:PORT, without a path"));
    }
    if authority.parse::<http::uri::Authority>().is_err() {
        return Err(bad("not a valid HOST:PORT"));
    }
    let server_ok = !server.is_empty()
        && server
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !server_ok {
        return Err(SpecError::BadServer {
            server: server.into(),
        });
    }
    Ok(RouterSpec::Caddy {
        admin: format!("http://{authority}"),
        server: server.into(),
    })
}

/// A router berth keeps routes in.
#[derive(Debug)]
pub enum Router {
    Caddy(caddy::Caddy),
    Nginx(nginx::Nginx),
    /// Routes live in the containers' labels: nothing to sync.
    Traefik,
}

/// What a sync changed in the router.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Synced {
    /// Routes added or replaced.
    pub put: usize,
    /// Own routes removed.
    pub deleted: usize,
}

impl Router {
    pub fn new(spec: RouterSpec) -> Router {
        match spec {
            RouterSpec::Caddy { admin, server } => Router::Caddy(caddy::Caddy::new(admin, server)),
            RouterSpec::Nginx { dir, reload } => Router::Nginx(nginx::Nginx::new(dir, reload)),
            RouterSpec::Traefik => Router::Traefik,
        }
    }

    /// For messages: `caddy at http://127.0.0.1:2019, server srv0`, `nginx files in DIR`.
    pub fn describe(&self) -> String {
        match self {
            Router::Caddy(c) => c.describe(),
            Router::Nginx(n) => n.describe(),
            Router::Traefik => "traefik (routes in the containers' labels)".into(),
        }
    }

    /// Makes `instance`'s routes in the router exactly `want`: puts the missing or changed
    /// ones, deletes the instance's others, leaves every other route alone, and writes
    /// nothing when all match.
    pub async fn sync(&self, instance: &str, want: &[Route]) -> Result<Synced, RouteError> {
        match self {
            Router::Caddy(c) => c.sync(instance, want).await,
            Router::Nginx(n) => n.sync(instance, want).await,
            Router::Traefik => Ok(Synced::default()),
        }
    }

    /// For `berth doctor`: whether the router is there and berth can write to it.
    pub async fn check(&self) -> Result<String, RouteError> {
        match self {
            Router::Caddy(c) => c.check().await,
            Router::Nginx(n) => n.check().await,
            Router::Traefik => Ok(
                "traefik: berth puts the labels on the containers; Traefik's docker provider must watch this engine".into(),
            ),
        }
    }
}

/// One write a sync makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change<T> {
    /// Add the route, or replace the one with this id.
    Put(RouteId, T),
    /// Remove the route with this id.
    Delete(RouteId),
}

/// The writes that turn `have` into `want`: puts (in id order) for routes missing or
/// different, then deletes (in id order) for routes not wanted. Empty when they match.
pub fn changes<T: PartialEq + Clone>(
    want: &BTreeMap<RouteId, T>,
    have: &BTreeMap<RouteId, T>,
) -> Vec<Change<T>> {
    let puts = want
        .iter()
        .filter(|(id, w)| have.get(*id) != Some(*w))
        .map(|(id, w)| Change::Put(id.clone(), w.clone()));
    let deletes = have
        .keys()
        .filter(|id| !want.contains_key(*id))
        .map(|id| Change::Delete(id.clone()));
    puts.chain(deletes).collect()
}

/// What a sync that applied `synced` ends with: an error listing the routes the router
/// could not take, if any.
fn outcome(
    router: String,
    refused: Vec<(RouteId, String)>,
    synced: Synced,
) -> Result<Synced, RouteError> {
    if refused.is_empty() {
        Ok(synced)
    } else {
        Err(RouteError::Unsupported {
            router,
            routes: refused,
            synced,
        })
    }
}

/// Whether `id` is one of `instance`'s routes: it starts with [`RouteId::prefix`] and names
/// an object (`berth_demo_session_x`). Instance names hold no `_`, so instance `demo` never
/// claims the routes of an instance `demo-x` (`berth_demo-x_session_y`).
pub fn owned(instance: &str, id: &str) -> bool {
    id.starts_with(&RouteId::prefix(instance)) && RouteId(id.to_string()).key(instance).is_some()
}

#[cfg(test)]
mod tests;
