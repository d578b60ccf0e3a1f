//! Wake on request: while berth keeps an object idle, its route sends requests here (the
//! router adds `X-Berth-Wake: kind/name`). The handler asks the loop to wake the object,
//! holds the request until the object runs, the routers send its traffic to the container
//! again and the container accepts connections there (at most [`HOLD`]), then answers `307` to the same URL, so the client
//! repeats its request and reaches the container directly. After [`HOLD`] it serves a
//! small "starting" page that retries. An expired session is never woken (`410`).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::shared::Shared;
use super::Phase;
use crate::model::ObjectKey;

/// The header a router sets on a wake route.
pub const WAKE_HEADER: &str = "x-berth-wake";
/// How long a request is held while its object starts.
pub const HOLD: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(100);

/// What the endpoint knows of one object right now: its phase, and the container address
/// every router leads it to (once they all do).
fn look(s: &Shared, key: &ObjectKey) -> Option<(Phase, Option<String>)> {
    let report = s.report.read().expect("not poisoned");
    let o = report
        .objects
        .iter()
        .find(|o| o.kind == key.kind.as_str() && o.name == key.name)?;
    let routed = s
        .routed
        .read()
        .expect("not poisoned")
        .get(key)
        .cloned()
        .flatten();
    Some((o.phase, routed))
}

/// Whether the container accepts connections at `address`: a running container's server
/// may still be starting, and a redirect to it then would meet the router's 502.
async fn accepts(address: &str) -> bool {
    let connect = tokio::net::TcpStream::connect(address);
    matches!(
        tokio::time::timeout(Duration::from_millis(500), connect).await,
        Ok(Ok(_))
    )
}

fn text(status: StatusCode, body: String) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], body).into_response()
}

/// Any request that is not one of the status endpoints.
pub async fn handle(State(s): State<Arc<Shared>>, headers: HeaderMap, uri: Uri) -> Response {
    let Some(raw) = headers.get(WAKE_HEADER).and_then(|v| v.to_str().ok()) else {
        return text(StatusCode::NOT_FOUND, "not found\n".into());
    };
    let Ok(key) = raw.parse::<ObjectKey>() else {
        return text(
            StatusCode::BAD_REQUEST,
            format!("berth: {raw:?} is not kind/name\n"),
        );
    };
    let back = uri
        .path_and_query()
        .map_or("/".to_string(), |p| p.as_str().to_string());
    let redirect = || {
        (
            StatusCode::TEMPORARY_REDIRECT,
            [
                (header::LOCATION, back.clone()),
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
        )
            .into_response()
    };
    match look(&s, &key) {
        None => return text(StatusCode::NOT_FOUND, format!("berth: no object {key}\n")),
        Some((Phase::Expired, _)) => {
            return text(StatusCode::GONE, format!("berth: {key} has expired\n"))
        }
        Some((phase, Some(to))) if phase.is_ready() && accepts(&to).await => return redirect(),
        Some(_) => {}
    }
    let Ok(_hold) = s.wake_holds.0.try_acquire() else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "berth: too many requests waiting for a wake\n".into(),
        );
    };
    let sent = s
        .wake
        .lock()
        .expect("not poisoned")
        .as_ref()
        .is_some_and(|tx| tx.send(key.clone()).is_ok());
    if !sent {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "berth: not running\n".into(),
        );
    }
    let deadline = tokio::time::Instant::now() + HOLD;
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(POLL).await;
        match look(&s, &key) {
            Some((phase, Some(to))) if phase.is_ready() && accepts(&to).await => return redirect(),
            Some((Phase::Expired, _)) | None => {
                return text(StatusCode::GONE, format!("berth: {key} is gone\n"))
            }
            _ => {}
        }
    }
    let page = format!(
        "<!doctype html><title>Starting</title><meta http-equiv=\"refresh\" content=\"2\">\
         <p>{key} is starting; this page retries every 2 seconds.</p>\n"
    );
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (header::RETRY_AFTER, "2"),
            (header::CACHE_CONTROL, "no-store"),
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        ],
        page,
    )
        .into_response()
}
