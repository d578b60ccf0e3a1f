//! `--alert-webhook URL`: firing and resolved alerts POSTed as Alertmanager's webhook
//! payload (version 4), so whatever receives Alertmanager's notifications receives
//! berth's. Delivery runs in its own task behind a bounded queue: the loop only ever
//! enqueues, never waits; a failed delivery is retried with a doubling delay, and a full
//! queue drops the newest with a warning. Plain `http://` only (put a local relay in front
//! of anything else).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::model::Backoff;

/// Notifications waiting for delivery at most.
pub const QUEUE: usize = 1024;
/// Attempts per notification.
pub const ATTEMPTS: u32 = 6;
/// Between attempts: 1 s doubling to 30 s (about a minute in all).
pub const RETRY: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
/// One attempt's limit.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// One alert that fired or resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub firing: bool,
    /// `alertname`, `instance`, `kind`, `name`, `severity` and the exported object labels.
    pub labels: BTreeMap<String, String>,
    pub summary: String,
    pub starts_at: SystemTime,
    /// When it resolved.
    pub ends_at: Option<SystemTime>,
}

/// Why the webhook URL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--alert-webhook {url:?}: {message}")]
pub struct WebhookError {
    pub url: String,
    pub message: String,
}

/// Where notifications are queued.
#[derive(Debug, Clone)]
pub struct Webhook {
    tx: mpsc::Sender<Notification>,
}

impl Webhook {
    /// Checks the URL and starts the delivery task.
    pub fn start(url: &str) -> Result<Webhook, WebhookError> {
        let err = |message: &str| WebhookError {
            url: url.to_string(),
            message: message.to_string(),
        };
        let uri: http::Uri = url.parse().map_err(|_| err("not a URL"))?;
        if uri.scheme_str() != Some("http") || uri.host().is_none() {
            return Err(err(
                "use http://HOST[:PORT]/PATH (a local relay for anything else)",
            ));
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(deliver(uri, rx));
        Ok(Webhook { tx })
    }

    /// Queues a notification; never waits.
    pub fn send(&self, n: Notification) {
        if self.tx.try_send(n).is_err() {
            warn!(
                class = "infrastructure",
                "alert webhook queue full ({QUEUE}): a notification is dropped"
            );
        }
    }
}

async fn deliver(uri: http::Uri, mut rx: mpsc::Receiver<Notification>) {
    let http: HttpClient<HttpConnector, Full<Bytes>> =
        HttpClient::builder(TokioExecutor::new()).build(HttpConnector::new());
    while let Some(n) = rx.recv().await {
        let body = Bytes::from(payload(&n).to_string());
        let mut delay = RETRY.initial;
        for attempt in 1..=ATTEMPTS {
            let request = http::Request::post(uri.clone())
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(Full::new(body.clone()))
                .expect("a valid request");
            let outcome = tokio::time::timeout(CALL_TIMEOUT, http.request(request)).await;
            let why = match outcome {
                Ok(Ok(r)) if r.status().is_success() => {
                    debug!(alert = %n.summary, "alert webhook delivered");
                    break;
                }
                Ok(Ok(r)) => format!("answered {}", r.status()),
                Ok(Err(e)) => e.to_string(),
                Err(_) => format!("no answer within {}s", CALL_TIMEOUT.as_secs()),
            };
            if attempt == ATTEMPTS {
                warn!(class = "infrastructure", url = %uri, "alert webhook: {why}; giving up on this notification after {ATTEMPTS} attempts");
                break;
            }
            warn!(class = "infrastructure", url = %uri, "alert webhook: {why}; retrying in {}", humantime::format_duration(delay));
            tokio::time::sleep(delay).await;
            delay = RETRY.next(delay);
        }
    }
}

/// Alertmanager's webhook payload (version 4) for one notification.
pub fn payload(n: &Notification) -> Value {
    let status = if n.firing { "firing" } else { "resolved" };
    let time = |t: SystemTime| humantime::format_rfc3339_millis(t).to_string();
    let ends = n.ends_at.map_or("0001-01-01T00:00:00Z".to_string(), time);
    let fingerprint = {
        use sha2::Digest;
        let text: Vec<String> = n.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let d = sha2::Sha256::digest(text.join(",").as_bytes());
        d[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let group: BTreeMap<&str, &String> = n
        .labels
        .iter()
        .filter(|(k, _)| k.as_str() == "alertname")
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    json!({
        "version": "4",
        "groupKey": format!("{{}}:{{alertname=\"{}\"}}", n.labels.get("alertname").map_or("", |s| s)),
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "berth",
        "groupLabels": group,
        "commonLabels": n.labels,
        "commonAnnotations": { "summary": n.summary },
        "externalURL": "",
        "alerts": [{
            "status": status,
            "labels": n.labels,
            "annotations": { "summary": n.summary },
            "startsAt": time(n.starts_at),
            "endsAt": ends,
            "generatorURL": "",
            "fingerprint": fingerprint,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_is_alertmanagers() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000);
        let labels: BTreeMap<String, String> = [
            ("alertname", "BerthMemoryHigh"),
            ("kind", "session"),
            ("name", "s1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let n = Notification {
            firing: false,
            labels,
            summary: "session/s1: memory at 93% of its 64Mi".into(),
            starts_at: t,
            ends_at: Some(t + Duration::from_secs(60)),
        };
        let p = payload(&n);
        assert_eq!(p["version"], "4");
        assert_eq!(p["status"], "resolved");
        assert_eq!(p["alerts"][0]["labels"]["alertname"], "BerthMemoryHigh");
        assert_eq!(p["alerts"][0]["startsAt"], "2026-11-30T00:53:20.000Z");
        assert_eq!(p["alerts"][0]["endsAt"], "2026-11-30T00:54:20.000Z");
        assert_eq!(p["groupLabels"]["alertname"], "BerthMemoryHigh");
        assert!(Webhook::start("https://x/").is_err());
    }
}
