//! What the engine is, and which of the calls berth needs get through: the data behind
//! `berth doctor`. Every probe is read-only except the POST and EXEC probes, which start a
//! container and an exec instance that cannot exist (a 404 means the write got through the
//! proxy; nothing changes).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::query_parameters::{
    EventsOptionsBuilder, ListContainersOptionsBuilder, ListImagesOptionsBuilder,
    ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
};
use futures_util::StreamExt;
use serde::Serialize;

use super::{Client, EngineError};
use crate::model::labels;

/// Which engine answers (`docker`, `podman` in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    Docker,
    Podman,
}

impl EngineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Docker => "Docker",
            EngineKind::Podman => "Podman",
        }
    }
}

impl std::fmt::Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What `GET /version` says about the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineInfo {
    pub kind: EngineKind,
    /// The engine's own version, e.g. `20.10.24+dfsg1` or `4.3.1`.
    pub version: String,
    /// The newest API version the engine speaks.
    pub api_version: String,
    pub min_api_version: Option<String>,
    /// `linux/amd64`.
    pub platform: String,
}

impl EngineInfo {
    pub(super) fn from_version(v: &bollard::models::SystemVersion) -> EngineInfo {
        let podman = v
            .components
            .iter()
            .flatten()
            .any(|c| c.name.to_ascii_lowercase().contains("podman"))
            || v.platform
                .as_ref()
                .is_some_and(|p| p.name.to_ascii_lowercase().contains("podman"));
        EngineInfo {
            kind: if podman {
                EngineKind::Podman
            } else {
                EngineKind::Docker
            },
            version: v.version.clone().unwrap_or_default(),
            api_version: v.api_version.clone().unwrap_or_default(),
            min_api_version: v.min_api_version.clone(),
            platform: format!(
                "{}/{}",
                v.os.clone().unwrap_or_default(),
                v.arch.clone().unwrap_or_default()
            ),
        }
    }
}

/// Whether berth needs what a probe tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Need {
    Required,
    /// Needed only in the situation named.
    Only(&'static str),
    /// Needed only by the command named (`berth exec`); never makes `doctor` fail.
    Optional(&'static str),
    /// berth never uses it: allowing it only widens what a compromised client could do.
    NotNeeded,
}

/// What a probe found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "camelCase")]
pub enum Verdict {
    Allowed,
    /// 403: by the socket proxy (an HTML page) or by the engine.
    Refused {
        by_proxy: bool,
        message: String,
    },
    /// Anything else went wrong.
    Failed {
        message: String,
    },
}

/// One probe: a proxy flag, the call that tests it, and what happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Probe {
    pub flag: &'static str,
    pub operation: &'static str,
    pub need: Need,
    #[serde(flatten)]
    pub verdict: Verdict,
    pub millis: u64,
}

impl Probe {
    /// Whether this probe makes `doctor` fail.
    pub fn is_missing(&self, conditional_needed: bool) -> bool {
        let needed = match self.need {
            Need::Required => true,
            Need::Only(_) => conditional_needed,
            Need::Optional(_) | Need::NotNeeded => false,
        };
        needed && self.verdict != Verdict::Allowed
    }
}

/// A name no container can have (the probe must find nothing).
fn absent_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("berth-doctor-probe-{}-{nanos}", std::process::id())
}

impl Client {
    /// Probes every call berth needs (and a few it does not), in a fixed order.
    pub async fn probe(&self, instance: &str) -> Vec<Probe> {
        let label = HashMap::from([(
            "label".to_string(),
            vec![format!("{}={instance}", labels::INSTANCE)],
        )]);
        let absent = absent_name();
        let mut out = Vec::new();
        macro_rules! probe {
            ($flag:expr, $op:expr, $need:expr, $call:expr) => {{
                let started = Instant::now();
                let result: Result<(), EngineError> = $call.await;
                out.push(Probe {
                    flag: $flag,
                    operation: $op,
                    need: $need,
                    verdict: verdict(result),
                    millis: started.elapsed().as_millis() as u64,
                });
            }};
        }
        probe!("VERSION", "GET /version", Need::Required, async {
            self.api("version")
                .version()
                .await
                .map(|_| ())
                .map_err(|e| self.err("GET /version", e))
        });
        probe!("PING", "GET /_ping", Need::Required, async {
            self.api("ping")
                .ping()
                .await
                .map(|_| ())
                .map_err(|e| self.err("GET /_ping", e))
        });
        probe!(
            "CONTAINERS",
            "GET /containers/json",
            Need::Required,
            async {
                let opts = ListContainersOptionsBuilder::new()
                    .all(true)
                    .limit(1)
                    .filters(&label)
                    .build();
                self.api("list_containers")
                    .list_containers(Some(opts))
                    .await
                    .map(|_| ())
                    .map_err(|e| self.err("GET /containers/json", e))
            }
        );
        probe!("IMAGES", "GET /images/json", Need::Required, async {
            let filters = HashMap::from([("reference".to_string(), vec![absent.clone()])]);
            let opts = ListImagesOptionsBuilder::new().filters(&filters).build();
            self.api("list_images")
                .list_images(Some(opts))
                .await
                .map(|_| ())
                .map_err(|e| self.err("GET /images/json", e))
        });
        probe!("VOLUMES", "GET /volumes", Need::Required, async {
            let opts = ListVolumesOptionsBuilder::new().filters(&label).build();
            self.api("list_volumes")
                .list_volumes(Some(opts))
                .await
                .map(|_| ())
                .map_err(|e| self.err("GET /volumes", e))
        });
        probe!("EVENTS", "GET /events", Need::Required, async {
            let now = format!(
                "{}",
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
            );
            let opts = EventsOptionsBuilder::new()
                .since(&now)
                .until(&now)
                .filters(&label)
                .build();
            let mut stream = self.api("events").events(Some(opts));
            // A refusal is the first answer; an open stream with nothing in it is fine.
            match tokio::time::timeout(Duration::from_secs(3), stream.next()).await {
                Ok(Some(Err(e))) => Err(self.err("GET /events", e)),
                _ => Ok(()),
            }
        });
        probe!(
            "POST",
            "POST /containers/{id}/start",
            Need::Required,
            async {
                // Starting a container that does not exist changes nothing; a 404 means the
                // write got through the proxy.
                match self
                    .api("start_container")
                    .start_container(&absent, None)
                    .await
                {
                    Ok(()) => Ok(()),
                    Err(e) => match self.err("POST /containers/{id}/start", e) {
                        EngineError::NotFound { .. } => Ok(()),
                        other => Err(other),
                    },
                }
            }
        );
        probe!(
            "NETWORKS",
            "GET /networks",
            Need::Only("isolated networks"),
            async {
                let opts = ListNetworksOptionsBuilder::new().filters(&label).build();
                self.api("list_networks")
                    .list_networks(Some(opts))
                    .await
                    .map(|_| ())
                    .map_err(|e| self.err("GET /networks", e))
            }
        );
        probe!("INFO", "GET /info", Need::NotNeeded, async {
            self.api("info")
                .info()
                .await
                .map(|_| ())
                .map_err(|e| self.err("GET /info", e))
        });
        probe!(
            "EXEC",
            "POST /exec/{id}/start",
            Need::Optional("berth exec"),
            async {
                // Starting an exec instance that does not exist changes nothing; a 404 means
                // the call got through (it also needs POST, probed above).
                let detached = bollard::exec::StartExecOptions {
                    detach: true,
                    ..Default::default()
                };
                match self
                    .api("start_exec")
                    .start_exec(&absent, Some(detached))
                    .await
                {
                    Ok(_) => Ok(()),
                    Err(e) => match self.err("POST /exec/{id}/start", e) {
                        EngineError::NotFound { .. } => Ok(()),
                        other => Err(other),
                    },
                }
            }
        );
        out
    }
}

fn verdict(r: Result<(), EngineError>) -> Verdict {
    match r {
        Ok(()) => Verdict::Allowed,
        Err(EngineError::Forbidden {
            by_proxy, message, ..
        }) => Verdict::Refused { by_proxy, message },
        Err(e) => Verdict::Failed {
            message: e.to_string(),
        },
    }
}
