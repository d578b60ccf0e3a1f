//! Health checks on Podman. Podman runs a container's health check from systemd timers;
//! under `podman system service` without systemd it never runs them, so berth does: Podman's
//! own API runs the check on demand (`GET /libpod/containers/{id}/healthcheck`, what
//! `podman healthcheck run` calls), with the container's own timeout, retries and start
//! period, and records the result; berth then reads the container's health as the Docker
//! API shows it (`State.Health.Status` of an inspect: Podman's listing leaves it out).
//! bollard knows no libpod path, so the request is made here with hyper over the same
//! socket (or TCP address).

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;

use super::{Client, EngineError};
use crate::model::Health;

/// Podman's libpod API version in the path; Podman 4 answers any 4.x.
const LIBPOD: &str = "/v4.0.0/libpod";

/// A check that takes longer than the container's own timeout plus this is abandoned.
const SLACK: Duration = Duration::from_secs(10);

impl Client {
    /// Runs `id`'s health check once and returns its health afterwards (`None` while Podman
    /// has none to report). `timeout` is the check's own.
    pub(super) async fn run_podman_health_check(
        &self,
        id: &str,
        timeout: Duration,
    ) -> Result<Option<Health>, EngineError> {
        let operation = "GET /libpod/containers/{id}/healthcheck";
        let path = format!("{LIBPOD}/containers/{id}/healthcheck");
        let fail = |message: String| EngineError::Engine {
            operation: operation.into(),
            status: 0,
            message,
        };
        self.api("healthcheck");
        let status = tokio::time::timeout(timeout + SLACK, self.libpod_get(&path))
            .await
            .map_err(|_| fail("no answer in time".into()))??;
        match status {
            200 => {}
            // 409: the container has no health check, or is not running: nothing to run.
            404 | 409 => return Ok(None),
            s => {
                return Err(EngineError::Engine {
                    operation: operation.into(),
                    status: s,
                    message: format!("Podman answered {s}"),
                })
            }
        }
        self.container_health(id).await
    }

    /// A container's health as the engine recorded it (`State.Health.Status`).
    pub(super) async fn container_health(&self, id: &str) -> Result<Option<Health>, EngineError> {
        let inspect = self
            .api("inspect_container")
            .inspect_container(id, None)
            .await
            .map_err(|e| self.err("GET /containers/{id}/json", e))?;
        let status = inspect
            .state
            .and_then(|s| s.health)
            .and_then(|h| h.status)
            .map(|s| s.to_string());
        Ok(match status.as_deref() {
            Some("healthy") => Some(Health::Healthy),
            Some("unhealthy") => Some(Health::Unhealthy),
            Some("starting") => Some(Health::Starting),
            _ => None,
        })
    }

    /// For one-shot readers (`get`, `describe`) on Podman, whose listing leaves health out:
    /// the health of each running container whose spec declares a check, from an inspect
    /// (the results of the checks berth ran), `starting` before any. A no-op elsewhere.
    pub async fn fill_health(&self, observed: &mut [crate::model::Observed]) {
        if self.info().kind != super::EngineKind::Podman {
            return;
        }
        for o in observed
            .iter_mut()
            .filter(|o| o.state == crate::model::RunState::Running)
        {
            if o.spec().is_some_and(|s| s.health.is_some()) {
                let h = self.container_health(&o.id).await.ok().flatten();
                o.health = Some(h.unwrap_or(Health::Starting));
            }
        }
    }

    /// A GET on the engine's own address; the HTTP status.
    async fn libpod_get(&self, path: &str) -> Result<u16, EngineError> {
        let unreachable = |message: String| EngineError::Unreachable {
            operation: format!("GET {path}"),
            endpoint: self.endpoint().to_string(),
            message,
        };
        let endpoint = self.endpoint();
        let response = if let Some(socket) = endpoint.strip_prefix("unix://") {
            let client: HttpClient<_, Empty<bytes::Bytes>> =
                HttpClient::builder(TokioExecutor::new()).build(hyperlocal::UnixConnector);
            client
                .get(hyperlocal::Uri::new(socket, path).into())
                .await
                .map_err(|e| unreachable(e.to_string()))?
        } else if let Some(addr) = endpoint
            .strip_prefix("tcp://")
            .or_else(|| endpoint.strip_prefix("http://"))
        {
            let client: HttpClient<_, Empty<bytes::Bytes>> =
                HttpClient::builder(TokioExecutor::new()).build_http();
            let uri: http::Uri = format!("http://{}{path}", addr.trim_end_matches('/'))
                .parse()
                .map_err(|e: http::uri::InvalidUri| unreachable(e.to_string()))?;
            client
                .get(uri)
                .await
                .map_err(|e| unreachable(e.to_string()))?
        } else {
            return Err(unreachable(
                "berth drives Podman's health checks only over a unix socket or plain TCP".into(),
            ));
        };
        let status = response.status().as_u16();
        // Drain the body so the connection closes cleanly; its content is not needed.
        let _ = response.into_body().collect().await;
        Ok(status)
    }
}
