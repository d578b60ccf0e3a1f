//! The floor: a minimal bollard loop that creates and starts containers with exactly the
//! configuration berth produced (read back from a container berth created), at the same
//! concurrency.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bollard::models::{ContainerCreateBody, ContainerInspectResponse, HostConfig};
use bollard::query_parameters::CreateContainerOptionsBuilder;
use bollard::Docker;
use futures_util::{stream, StreamExt, TryStreamExt};

/// What berth sent for one agent, as the engine reports it.
#[derive(Debug, Clone)]
pub struct Template {
    body: ContainerCreateBody,
}

impl Template {
    /// From the inspection of a container berth created.
    pub fn from_inspect(c: &ContainerInspectResponse) -> Result<Template> {
        let cfg = c.config.clone().context("inspect has no Config")?;
        let host: HostConfig = c.host_config.clone().context("inspect has no HostConfig")?;
        Ok(Template {
            body: ContainerCreateBody {
                image: cfg.image,
                entrypoint: cfg.entrypoint,
                cmd: cfg.cmd,
                env: cfg.env,
                working_dir: cfg.working_dir,
                user: cfg.user,
                labels: cfg.labels,
                healthcheck: cfg.healthcheck,
                stop_timeout: cfg.stop_timeout,
                stop_signal: cfg.stop_signal,
                host_config: Some(host),
                ..Default::default()
            },
        })
    }

    pub fn host(&self) -> &HostConfig {
        self.body.host_config.as_ref().expect("always set")
    }

    pub fn body(&self) -> &ContainerCreateBody {
        &self.body
    }

    /// The labels berth put on the container, with the instance and name relabelled.
    pub fn labels(&self, instance: &str, name: &str) -> HashMap<String, String> {
        let mut l = self.body.labels.clone().unwrap_or_default();
        l.insert("berth.instance".into(), instance.into());
        l.insert("berth.name".into(), name.into());
        l
    }

    fn for_container(&self, instance: &str, name: &str) -> ContainerCreateBody {
        let mut b = self.body.clone();
        b.labels = Some(self.labels(instance, name));
        b
    }
}

/// Creates and starts `n` containers named `<instance>-<i>`, `concurrency` at a time.
pub async fn create_and_start(
    docker: &Docker,
    template: &Template,
    instance: &str,
    n: usize,
    concurrency: usize,
) -> Result<Duration> {
    let bodies: Vec<(String, ContainerCreateBody)> = (0..n)
        .map(|i| {
            let name = crate::manifests::name(i);
            let body = template.for_container(instance, &name);
            (format!("{instance}-{name}"), body)
        })
        .collect();
    let started = Instant::now();
    stream::iter(bodies)
        .map(|(name, body)| async move {
            let opts = CreateContainerOptionsBuilder::new().name(&name).build();
            let id = docker
                .create_container(Some(opts), body)
                .await
                .with_context(|| format!("floor: creating {name}"))?
                .id;
            docker
                .start_container(&id, None)
                .await
                .with_context(|| format!("floor: starting {name}"))
        })
        .buffer_unordered(concurrency)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(started.elapsed())
}
