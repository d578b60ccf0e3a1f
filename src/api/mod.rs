//! The session API of `berth run --api ADDR`: what a platform's web app calls to create,
//! list, renew and delete per-user Sessions, and to stop and start Agents. The files stay
//! the truth: a create validates the request with the same pipeline and Policy as a file,
//! checks the Policy's quotas and writes a manifest into the `--sessions` directory; a
//! delete removes it; the loop does the rest. Answers come from the loop's `/status`
//! report, and `?wait=` wakes on each new one.
//!
//! - `tokens`: `--api-tokens FILE`, bearer tokens with a scope (read or write, optionally
//!   limited by a label selector).
//! - `dir`: the sessions directory: what each file declares, atomic writes.
//! - `render`: a request → the manifest text.
//! - `sessions` (create), `renew`, `listing` (list, get, delete), `agents`: the handlers;
//!   `types`: what they read and answer.
//! - `problem`: errors as `application/problem+json`.
//! - `wait`: `?wait=ready|gone`, bounded.
//! - `openapi`: `GET /v1/openapi.json`, generated from the handlers and types.
//!
//! Imports `status` (the report), `resolve` and `manifest` (validation), `policy` (quotas),
//! `state` (the operator's overrides) and `model`; never the loop or the engine.

mod agents;
mod dir;
mod listing;
pub mod openapi;
mod problem;
mod render;
mod renew;
mod sessions;
pub mod tokens;
pub mod types;
mod wait;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::{mpsc, Mutex, Semaphore};

pub use dir::DirError;
pub use problem::Problem;
use tokens::{Caller, Tokens};

use crate::manifest::Sources;
use crate::state::OverrideStore;
use crate::status::http::Shared;

/// The largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;
/// How long a request that does not wait may take, body included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the API listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// A unix socket, created with mode 0660.
    Unix(PathBuf),
    Tcp(std::net::SocketAddr),
}

/// Everything the handlers share.
pub struct Api {
    shared: Arc<Shared>,
    /// The trusted manifests and the Policy, without the drop-ins: what a request is
    /// validated against.
    sources: Sources,
    dir: Mutex<dir::SessionDir>,
    tokens: Tokens,
    /// Tells the loop the sessions directory changed (it also watches it).
    nudge: mpsc::Sender<()>,
    overrides: OverrideStore,
    waiting: Semaphore,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("callers", &self.tokens.len())
            .finish_non_exhaustive()
    }
}

impl Api {
    /// The API over the sessions directory `dir`. `sources` are the daemon's: the API
    /// validates against their manifest paths and Policy.
    pub fn new(
        shared: Arc<Shared>,
        sources: &Sources,
        dir: &std::path::Path,
        tokens: Tokens,
        nudge: mpsc::Sender<()>,
        overrides: OverrideStore,
    ) -> Result<Api, DirError> {
        let mut session_dir = dir::SessionDir::open(dir)?;
        let trusted = Sources {
            sessions: Vec::new(),
            ..sources.clone()
        };
        session_dir.refresh(&trusted)?;
        Ok(Api {
            shared,
            sources: trusted,
            dir: Mutex::new(session_dir),
            tokens,
            nudge,
            overrides,
            waiting: Semaphore::new(wait::MAX_WAITING),
        })
    }

    /// The caller a request's bearer token names: 401 without one that is known.
    fn caller(&self, headers: &HeaderMap) -> Result<&Caller, Problem> {
        let unauthorized = |detail: &str| Problem::new(StatusCode::UNAUTHORIZED, detail);
        let value = headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| unauthorized("no token: send Authorization: Bearer <token>"))?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| unauthorized("the Authorization header is not Bearer <token>"))?;
        self.tokens
            .find(token)
            .ok_or_else(|| unauthorized("unknown token"))
    }

    /// A place among the waiting requests, or 503.
    fn wait_slot(&self) -> Result<tokio::sync::SemaphorePermit<'_>, Problem> {
        self.waiting.try_acquire().map_err(|_| {
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "{} requests are waiting already; retry, or ask without ?wait",
                    wait::MAX_WAITING
                ),
            )
        })
    }

    fn nudge(&self) {
        let _ = self.nudge.try_send(());
    }
}

/// The routes of the API.
pub fn router(api: Arc<Api>) -> Router {
    Router::new()
        .route("/v1/sessions", post(sessions::create).get(sessions::list))
        .route(
            "/v1/sessions/{name}",
            get(sessions::get_one).delete(sessions::delete),
        )
        .route("/v1/sessions/{name}/renew", post(sessions::renew))
        .route("/v1/agents/{name}/stop", post(agents::stop))
        .route("/v1/agents/{name}/start", post(agents::start))
        .route("/v1/openapi.json", get(openapi::document))
        .fallback(|| async { Problem::not_found("no such endpoint; see /v1/openapi.json") })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn(time_limit))
        .with_state(api)
}

/// Every request ends within [`REQUEST_TIMEOUT`], or its wait's timeout and that; a body
/// over [`MAX_BODY`] is a problem document too.
async fn time_limit(request: Request, next: Next) -> Response {
    let query = request.uri().query().unwrap_or("");
    let waits = query.split('&').any(|p| p.starts_with("wait="));
    let limit = if waits {
        wait::MAX + REQUEST_TIMEOUT
    } else {
        REQUEST_TIMEOUT
    };
    match tokio::time::timeout(limit, next.run(request)).await {
        // axum's own refusal of a large body, as a problem like every other.
        Ok(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {} KiB", MAX_BODY / 1024),
        )
        .into_response(),
        Ok(r) => r,
        Err(_) => Problem::new(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request took longer than {}",
                humantime::format_duration(limit)
            ),
        )
        .into_response(),
    }
}

/// Serves the API on `listen` until `shutdown` resolves. Returns what it is bound to.
pub async fn serve(
    listen: &Listen,
    api: Arc<Api>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<String> {
    let app = router(api);
    match listen {
        Listen::Tcp(addr) => {
            let listener = tokio::net::TcpListener::bind(addr).await?;
            let bound = listener.local_addr()?.to_string();
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app)
                    .with_graceful_shutdown(shutdown)
                    .await
                {
                    tracing::error!(error = %e, "API server stopped");
                }
            });
            Ok(bound)
        }
        Listen::Unix(path) => {
            remove_stale_socket(path)?;
            // Bound under a hidden name, given its mode, then renamed into place: the public
            // path never has the mode the process's umask would give it.
            let staging = path.with_file_name(format!(
                ".{}.{}",
                path.file_name()
                    .map_or("api.sock".into(), |n| n.to_string_lossy()),
                std::process::id()
            ));
            remove_stale_socket(&staging)?;
            let listener = tokio::net::UnixListener::bind(&staging)?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o660))?;
            std::fs::rename(&staging, path)?;
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app)
                    .with_graceful_shutdown(shutdown)
                    .await
                {
                    tracing::error!(error = %e, "API server stopped");
                }
            });
            Ok(format!("unix:{}", path.display()))
        }
    }
}

/// A socket left by an earlier run is removed; anything else at the path is an error,
/// never deleted.
fn remove_stale_socket(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => std::fs::remove_file(path),
        Ok(_) => Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a socket", path.display()),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Answers from a handler: a problem or a response.
type Answer = Result<Response, Problem>;

/// JSON with a status.
fn json<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    (status, axum::Json(body)).into_response()
}

/// `State` for the handlers.
type ApiState = State<Arc<Api>>;
