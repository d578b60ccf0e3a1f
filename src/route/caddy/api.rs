//! The admin API calls: one request each, bounded in time and in what is read.

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full, Limited};
use serde_json::Value;

use super::{Caddy, BODY_CAP, CALL_TIMEOUT};
use crate::route::RouteError;

impl Caddy {
    pub(super) async fn get_json(&self, path: &str) -> Result<Value, RouteError> {
        let (status, body) = self.call(Method::GET, path, None).await?;
        self.ok(Method::GET, path, status, &body)?;
        serde_json::from_slice(&body).map_err(|e| RouteError::BadAnswer {
            router: self.describe(),
            call: format!("GET {path}"),
            message: format!("not JSON: {e}"),
        })
    }

    pub(super) fn ok(
        &self,
        method: Method,
        path: &str,
        status: u16,
        body: &[u8],
    ) -> Result<(), RouteError> {
        if (200..300).contains(&status) {
            return Ok(());
        }
        Err(RouteError::Refused {
            router: self.describe(),
            call: format!("{method} {path}"),
            status,
            message: error_text(body),
        })
    }

    /// One admin API call: the status and the body (at most [`BODY_CAP`]).
    pub(super) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Bytes), RouteError> {
        let call = format!("{method} {path}");
        let unreachable = |reason: String| RouteError::Unreachable {
            router: self.describe(),
            call: call.clone(),
            reason,
        };
        let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let request = || {
            Request::builder()
                .method(method.clone())
                .uri(format!("{}{path}", self.admin))
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(Full::new(bytes.clone()))
        };
        request().map_err(|e| unreachable(format!("bad request: {e}")))?;
        let exchange = async {
            // Caddy replaces its admin server on every config change; a connection that
            // meets the old one as it closes is reset before the request is read: send the
            // request again (a level-based sync repairs anything a repeat could duplicate).
            let mut attempt = 0;
            let response = loop {
                let r = request().map_err(|e| e.to_string())?;
                match self.http.request(r).await {
                    Ok(response) => break response,
                    Err(e) if attempt < SEND_RETRIES && (e.is_connect() || reset(&e)) => {
                        attempt += 1;
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                    Err(e) => return Err(chain(&e)),
                }
            };
            let status = response.status().as_u16();
            let body = Limited::new(response.into_body(), BODY_CAP)
                .collect()
                .await
                .map_err(|e| format!("reading the answer: {}", chain(&*e)))?;
            Ok::<_, String>((status, body.to_bytes()))
        };
        match tokio::time::timeout(CALL_TIMEOUT, exchange).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(reason)) => Err(unreachable(reason)),
            Err(_) => Err(unreachable(format!(
                "no answer within {}s",
                CALL_TIMEOUT.as_secs()
            ))),
        }
    }
}

/// Sends of one call after a connection was refused or reset.
const SEND_RETRIES: u32 = 3;

/// Whether the connection was reset or closed before an answer came.
fn reset(e: &hyper_util::client::legacy::Error) -> bool {
    let text = chain(e);
    text.contains("reset by peer") || text.contains("connection closed before message completed")
}

/// Caddy's `{"error": "..."}`, or the start of whatever else it sent.
fn error_text(body: &[u8]) -> String {
    if let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(body) {
        if let Some(Value::String(e)) = o.get("error") {
            return e.clone();
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None if text.is_empty() => "(no error text)".into(),
        None => text.to_string(),
    }
}

/// An id as one URL path segment (Caddy decodes it again).
pub(super) fn escape(id: &str) -> String {
    let mut s = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// An error and its causes, `: `-separated (hyper's own message is only "client error").
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cause = c.source();
    }
    s
}
