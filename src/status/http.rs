//! `/healthz`, `/readyz`, `/metrics`, `/status` and the dashboard `/ui` (see [`super::ui`])
//! for `berth run --listen ADDR`, and the wake endpoint (every other path, see
//! [`super::wake`]).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub use super::shared::Shared;

/// Binds `addr` and serves until `shutdown` resolves. Returns the bound address (useful
/// with port 0) once listening.
pub async fn serve(
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .route("/ui", get(super::ui::page))
        .route("/ui/app.js", get(super::ui::script))
        .route("/ui/style.css", get(super::ui::style))
        .fallback(super::wake::handle)
        .with_state(shared);
    let handle = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "status server stopped");
        }
    });
    Ok((bound, handle))
}

async fn readyz(State(s): State<Arc<Shared>>) -> Response {
    if s.liveness.is_ready() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: first sync not done\n",
        )
            .into_response()
    }
}

async fn metrics(State(s): State<Arc<Shared>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(),
    )
        .into_response()
}

async fn status(State(s): State<Arc<Shared>>) -> Response {
    let report = s.report.read().expect("not poisoned").clone();
    axum::Json(report.with_usage(&s.metrics.usage)).into_response()
}
