//! The engine adapter: the only module that knows bollard. It speaks the project's own
//! types ([`crate::model`]) and maps every engine answer to an [`EngineError`].

mod certificate;
mod convert;
mod doctor;
mod error;
mod events;
mod network;
mod portainer;
mod privileges;
pub mod proxy;
mod tls;

use std::collections::HashMap;
use std::sync::Arc;

use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListVolumesOptionsBuilder, RemoveContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};
use bollard::Docker;

pub use certificate::{PeerCertificate, Verification};
pub use doctor::{EngineInfo, EngineKind, Need, Probe, Verdict};
pub use error::EngineError;
pub use events::{EngineEvent, EventKind};
pub use network::network_name;
pub use portainer::{Portainer, Target};
pub use tls::TlsVerify;

use crate::model::{
    labels, CleanupRule, DesiredContainer, HostFacts, Observed, ObservedVolume, VolumeOwner,
};

/// How long berth waits for calls that should answer at once (`GET /info`): a wedged engine
/// must not hold up a command.
const QUICK_CALL: std::time::Duration = std::time::Duration::from_secs(5);
/// Beyond a stop's own grace period, how long the engine has to finish the stop.
const STOP_MARGIN: std::time::Duration = std::time::Duration::from_secs(30);

/// A connection to a Docker-compatible engine.
#[derive(Debug, Clone)]
pub struct Engine {
    docker: Docker,
    endpoint: String,
    api_version: String,
    info: EngineInfo,
    calls: CallObserver,
    /// What `GET /info` said, asked once per connection.
    facts: Arc<tokio::sync::OnceCell<HostFacts>>,
}

/// Told the name of every engine call (the bollard operation, e.g. `list_containers`) just
/// before it is made: how `berth run` counts its engine requests.
#[derive(Clone, Default)]
pub struct CallObserver(Option<Arc<dyn Fn(&'static str) + Send + Sync>>);

impl std::fmt::Debug for CallObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "CallObserver(set)"
        } else {
            "CallObserver(none)"
        })
    }
}

impl Engine {
    /// Connects as the `docker` CLI would: `DOCKER_HOST` (`unix://`, `tcp://`) or the local
    /// socket, then negotiates the API version with the engine.
    pub async fn connect() -> Result<Engine, EngineError> {
        Engine::connect_to(&Target::DockerHost).await
    }

    /// Connects to `target`: `DOCKER_HOST` or Portainer.
    pub async fn connect_to(target: &Target) -> Result<Engine, EngineError> {
        let (docker, endpoint) = match target {
            Target::DockerHost => {
                let endpoint = std::env::var("DOCKER_HOST")
                    .unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
                let docker = Docker::connect_with_defaults()
                    .map_err(|e| EngineError::from_bollard("connect", &endpoint, e))?;
                (docker, endpoint)
            }
            Target::Portainer(p) => p.connect()?,
        };
        let docker = docker
            .negotiate_version()
            .await
            .map_err(|e| EngineError::from_bollard("GET /version", &endpoint, e))?;
        let api_version = docker.client_version().to_string();
        let version = docker
            .version()
            .await
            .map_err(|e| EngineError::from_bollard("GET /version", &endpoint, e))?;
        Ok(Engine {
            docker,
            endpoint,
            api_version,
            info: EngineInfo::from_version(&version),
            calls: CallObserver::default(),
            facts: Arc::default(),
        })
    }

    /// The certificate the target presents, from a TLS handshake of berth's own (for `berth
    /// doctor`): `None` unless the target is Portainer over HTTPS. A certificate berth
    /// refuses is still described, with the refusal as its verification.
    pub async fn peer_certificate(target: &Target) -> Option<Result<PeerCertificate, EngineError>> {
        match target {
            Target::DockerHost => None,
            Target::Portainer(p) => p.peer_certificate().await,
        }
    }

    /// The same connection, telling `observe` about every engine call it makes from now on.
    pub fn observed_by(mut self, observe: impl Fn(&'static str) + Send + Sync + 'static) -> Engine {
        self.calls = CallObserver(Some(Arc::new(observe)));
        self
    }

    /// The client, for one call named `operation` (counted).
    fn api(&self, operation: &'static str) -> &Docker {
        if let Some(observe) = &self.calls.0 {
            observe(operation);
        }
        &self.docker
    }

    /// What the engine said about itself at connect.
    pub fn info(&self) -> &EngineInfo {
        &self.info
    }

    /// Where the engine answers, for messages.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The API version both sides agreed on.
    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    fn err(&self, operation: &str, e: bollard::errors::Error) -> EngineError {
        EngineError::from_bollard(operation, &self.endpoint, e)
    }

    /// What the engine says about its host, asked once per connection; empty where it does
    /// not say (a socket proxy without INFO=1, or no answer within a few seconds).
    pub async fn host_facts(&self) -> HostFacts {
        self.facts
            .get_or_init(|| async {
                let quick = self.api("info").clone().with_timeout(QUICK_CALL);
                match quick.info().await {
                    Ok(i) => HostFacts {
                        cpus: i.ncpu.and_then(|n| u32::try_from(n).ok()).filter(|n| *n > 0),
                        memory_bytes: i
                            .mem_total
                            .and_then(|m| u64::try_from(m).ok())
                            .filter(|m| *m > 0),
                        data_root: i.docker_root_dir.filter(|d| d.starts_with('/')),
                        apparmor: i.security_options.map(|o| {
                            o.iter().any(|opt| {
                                opt.split(',').any(|kv| kv == "name=apparmor" || kv == "apparmor")
                            })
                        }),
                    },
                    Err(e) => {
                        tracing::debug!(error = %self.err("GET /info", e), "no host facts from the engine");
                        HostFacts::default()
                    }
                }
            })
            .await
            .clone()
    }

    /// Every container (running or not) that carries `instance`'s ownership label. One call.
    pub async fn list(&self, instance: &str) -> Result<Vec<Observed>, EngineError> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("{}={instance}", labels::INSTANCE)],
        )]);
        let opts = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        // Podman reports a container whose process just ended as `stopped` for a moment,
        // a state the Docker API (and bollard) does not know: the whole listing then fails
        // to read. It settles to `exited` within milliseconds, so look again.
        let mut attempt = 0;
        let list = loop {
            match self
                .api("list_containers")
                .list_containers(Some(opts.clone()))
                .await
            {
                Err(bollard::errors::Error::JsonDataError { message, .. })
                    if message.contains("unknown variant") && attempt < 40 =>
                {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                other => break other.map_err(|e| self.err("GET /containers/json", e))?,
            }
        };
        Ok(list
            .into_iter()
            // The filter is the engine's; check again so no foreign container slips through.
            .filter(|c| {
                c.labels
                    .as_ref()
                    .and_then(|l| l.get(labels::INSTANCE))
                    .is_some_and(|v| v == instance)
            })
            .map(convert::observed)
            .collect())
    }

    /// Every volume that carries `instance`'s ownership label. One call.
    pub async fn list_volumes(&self, instance: &str) -> Result<Vec<ObservedVolume>, EngineError> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("{}={instance}", labels::INSTANCE)],
        )]);
        let opts = ListVolumesOptionsBuilder::new().filters(&filters).build();
        let list = self
            .api("list_volumes")
            .list_volumes(Some(opts))
            .await
            .map_err(|e| self.err("GET /volumes", e))?;
        Ok(list
            .volumes
            .unwrap_or_default()
            .into_iter()
            .filter(|v| {
                v.labels
                    .get(labels::INSTANCE)
                    .is_some_and(|i| i == instance)
            })
            .map(convert::observed_volume)
            .collect())
    }

    /// Sizes of the instance's volumes, where the engine reports them (`GET /system/df`,
    /// which a socket proxy allows only with SYSTEM=1).
    pub async fn volume_sizes(&self) -> Result<HashMap<String, u64>, EngineError> {
        let df = self
            .api("df")
            .df(None::<bollard::query_parameters::DataUsageOptions>)
            .await
            .map_err(|e| self.err("GET /system/df", e))?;
        let items = df.volume_usage.and_then(|u| u.items).unwrap_or_default();
        Ok(items
            .iter()
            .filter_map(|v| {
                let name = v.get("Name")?.as_str()?.to_string();
                let size = v.get("UsageData")?.get("Size")?.as_i64()?;
                (size >= 0).then_some((name, size as u64))
            })
            .collect())
    }

    /// Creates a volume with berth's labels for `owner`; an existing one is left as it is.
    pub async fn create_volume(
        &self,
        instance: &str,
        name: &str,
        owner: &VolumeOwner,
        cleanup: Option<&CleanupRule>,
    ) -> Result<(), EngineError> {
        let mut l = HashMap::from([
            (labels::INSTANCE.to_string(), instance.to_string()),
            (labels::VOLUME_OWNER.to_string(), owner.to_string()),
        ]);
        if let Some(c) = cleanup {
            l.insert(labels::VOLUME_CLEANUP.to_string(), c.label());
        }
        self.api("create_volume")
            .create_volume(bollard::models::VolumeCreateRequest {
                name: Some(name.to_string()),
                labels: Some(l),
                ..Default::default()
            })
            .await
            .map(|_| ())
            .map_err(|e| self.err("POST /volumes/create", e))
    }

    /// Removes a volume, never forced: one in use answers a conflict (retried later); one
    /// already gone is success.
    pub async fn remove_volume(&self, name: &str) -> Result<(), EngineError> {
        match self
            .api("remove_volume")
            .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
            .await
            .map_err(|e| self.err("DELETE /volumes/{name}", e))
        {
            Err(EngineError::NotFound { .. }) => Ok(()),
            other => other,
        }
    }

    /// Creates the container for `want` under its predictable name; returns its id.
    pub async fn create(
        &self,
        instance: &str,
        want: &DesiredContainer,
    ) -> Result<String, EngineError> {
        let name = want.key.container_name(instance);
        let opts = bollard::query_parameters::CreateContainerOptionsBuilder::new()
            .name(&name)
            .build();
        let facts = self.host_facts().await;
        // Where the host has AppArmor, the engine's profile is set explicitly (CIS 5.2);
        // Podman applies its own default by itself.
        let apparmor = (facts.apparmor == Some(true) && self.info.kind == EngineKind::Docker)
            .then_some(convert::DOCKER_APPARMOR_PROFILE);
        let body = convert::create_body(instance, want, apparmor);
        match self
            .api("create_container")
            .create_container(Some(opts), body)
            .await
        {
            Ok(r) => Ok(r.id),
            Err(e) => Err(match self.err("POST /containers/create", e) {
                EngineError::NotFound { message, .. } if message.contains("image") => {
                    EngineError::ImageMissing {
                        image: want.spec.image.clone(),
                    }
                }
                other => other,
            }),
        }
    }

    /// Starts a container; already running is success.
    pub async fn start(&self, id: &str) -> Result<(), EngineError> {
        self.api("start_container")
            .start_container(id, None)
            .await
            .or_else(not_modified_ok)
            .map_err(|e| self.err("POST /containers/{id}/start", e))
    }

    /// Stops a container with `grace_secs` between SIGTERM and SIGKILL; already stopped or
    /// gone is success. The call may take the whole grace period: its timeout is longer.
    pub async fn stop(&self, id: &str, grace_secs: u64) -> Result<(), EngineError> {
        let opts = StopContainerOptionsBuilder::new()
            .t(i32::try_from(grace_secs).unwrap_or(i32::MAX))
            .build();
        let client = self.api("stop_container");
        let needed = std::time::Duration::from_secs(grace_secs) + STOP_MARGIN;
        let client = if client.timeout() < needed {
            client.clone().with_timeout(needed)
        } else {
            client.clone()
        };
        match client
            .stop_container(id, Some(opts))
            .await
            .or_else(not_modified_ok)
            .map_err(|e| self.err("POST /containers/{id}/stop", e))
        {
            Err(EngineError::NotFound { .. }) => Ok(()),
            other => other,
        }
    }

    /// Removes a container (forcing a still-running one); already gone is success. A
    /// network of the object's own goes with it.
    pub async fn remove(&self, id: &str) -> Result<(), EngineError> {
        // Which network was the container's own? Its network mode names it, and its
        // labels say whose it is.
        let own_network = match self
            .api("inspect_container")
            .inspect_container(id, None)
            .await
        {
            Ok(c) => {
                let mode = c.host_config.and_then(|h| h.network_mode);
                let instance = c
                    .config
                    .and_then(|c| c.labels)
                    .and_then(|l| l.get(labels::INSTANCE).cloned());
                mode.zip(instance)
                    .filter(|(mode, instance)| mode.starts_with(&format!("berth_{instance}_")))
            }
            Err(_) => None, // gone, or unreadable: the removal below says which
        };
        let opts = RemoveContainerOptionsBuilder::new().force(true).build();
        match self
            .api("remove_container")
            .remove_container(id, Some(opts))
            .await
            .map_err(|e| self.err("DELETE /containers/{id}", e))
        {
            Err(EngineError::NotFound { .. }) | Ok(()) => {}
            Err(other) => return Err(other),
        }
        if let Some((network, instance)) = own_network {
            self.remove_owned_network(&network, &instance).await?;
        }
        Ok(())
    }

    /// Removes `name` if `instance` owns it and no container uses it any more.
    async fn remove_owned_network(&self, name: &str, instance: &str) -> Result<(), EngineError> {
        let owned = match self
            .api("inspect_network")
            .inspect_network(name, None)
            .await
        {
            Ok(n) => n
                .labels
                .as_ref()
                .and_then(|l| l.get(labels::INSTANCE))
                .is_some_and(|v| v == instance),
            Err(e) => match self.err("GET /networks/{id}", e) {
                EngineError::NotFound { .. } => return Ok(()),
                other => return Err(other),
            },
        };
        if !owned {
            return Ok(());
        }
        match self.remove_network(name).await {
            // Still in use (a duplicate container): it goes with the last one.
            Err(EngineError::Conflict { .. }) => Ok(()),
            other => other,
        }
    }
}

/// 304 Not Modified: the container was already in the asked state.
fn not_modified_ok(e: bollard::errors::Error) -> Result<(), bollard::errors::Error> {
    match e {
        bollard::errors::Error::DockerResponseServerError {
            status_code: 304, ..
        } => Ok(()),
        other => Err(other),
    }
}
