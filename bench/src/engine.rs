//! Engine access of the harness itself: cleanup of what the bench created (by its own label
//! only), counting running containers, and the engine's event stream.

use std::collections::HashMap;

use anyhow::{Context, Result};
use bollard::query_parameters::{
    EventsOptionsBuilder, ListContainersOptionsBuilder, ListNetworksOptionsBuilder,
    ListVolumesOptionsBuilder, RemoveContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::{stream, StreamExt, TryStreamExt};
use tokio::sync::mpsc;

use crate::manifests::{OWNER_LABEL, OWNER_VALUE};

/// Every name the bench gives an instance, a compose project or a container starts so.
pub const PREFIX: &str = "bench-";

pub async fn connect() -> Result<Docker> {
    let docker = Docker::connect_with_defaults()
        .context("connecting to the engine")?
        .negotiate_version()
        .await
        .context("negotiating the engine API version")?;
    docker.ping().await.context("no engine answers")?;
    Ok(docker)
}

fn owner_filter() -> HashMap<String, Vec<String>> {
    HashMap::from([(
        "label".to_string(),
        vec![format!("{OWNER_LABEL}={OWNER_VALUE}")],
    )])
}

/// Ids of the bench's containers (any state), optionally only those with `label=value`.
pub async fn containers(docker: &Docker, also: Option<(&str, &str)>) -> Result<Vec<String>> {
    let mut filters = owner_filter();
    if let Some((k, v)) = also {
        filters
            .get_mut("label")
            .expect("inserted")
            .push(format!("{k}={v}"));
    }
    let opts = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    Ok(docker
        .list_containers(Some(opts))
        .await?
        .into_iter()
        .filter_map(|c| c.id)
        .collect())
}

/// How many of the bench's containers with `label=value` are running.
pub async fn running(docker: &Docker, label: &str, value: &str) -> Result<usize> {
    let mut filters = owner_filter();
    filters
        .get_mut("label")
        .expect("inserted")
        .push(format!("{label}={value}"));
    filters.insert("status".into(), vec!["running".into()]);
    let opts = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    Ok(docker.list_containers(Some(opts)).await?.len())
}

/// Removes every container carrying the bench's owner label, the networks of the bench's
/// compose projects and the volumes of its berth instances. Nothing else is touched.
pub async fn cleanup(docker: &Docker) -> Result<usize> {
    let ids = containers(docker, None).await?;
    let n = ids.len();
    stream::iter(ids)
        .map(|id| async move {
            let opts = RemoveContainerOptionsBuilder::new()
                .force(true)
                .v(true)
                .build();
            match docker.remove_container(&id, Some(opts)).await {
                Ok(())
                | Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => Ok(()),
                Err(e) => Err(anyhow::Error::from(e).context(format!("removing container {id}"))),
            }
        })
        .buffer_unordered(8)
        .try_collect::<Vec<()>>()
        .await?;
    // Compose networks (the generated files use the default bridge, so none is expected).
    let filters = HashMap::from([(
        "label".to_string(),
        vec!["com.docker.compose.project".to_string()],
    )]);
    let opts = ListNetworksOptionsBuilder::new().filters(&filters).build();
    for net in docker.list_networks(Some(opts)).await? {
        let project = net
            .labels
            .as_ref()
            .and_then(|l| l.get("com.docker.compose.project"))
            .cloned()
            .unwrap_or_default();
        if let (true, Some(id)) = (project.starts_with(PREFIX), net.id) {
            docker.remove_network(&id).await.ok();
        }
    }
    let filters = HashMap::from([("label".to_string(), vec!["berth.instance".to_string()])]);
    let opts = ListVolumesOptionsBuilder::new().filters(&filters).build();
    let volumes = docker
        .list_volumes(Some(opts))
        .await?
        .volumes
        .unwrap_or_default();
    for v in volumes {
        if v.labels
            .get("berth.instance")
            .is_some_and(|i| i.starts_with(PREFIX))
        {
            docker
                .remove_volume(
                    &v.name,
                    None::<bollard::query_parameters::RemoveVolumeOptions>,
                )
                .await
                .ok();
        }
    }
    Ok(n)
}

/// A container event as the engine stamped it.
#[derive(Debug, Clone)]
pub struct Event {
    /// `start`, `die`, `destroy`, ...
    pub action: String,
    /// The container's `berth.name` label.
    pub name: String,
    /// The engine's timestamp, Unix nanoseconds.
    pub time_nano: i64,
}

/// Subscribes to the container events of berth instance `instance`; the task ends when the
/// receiver is dropped.
pub fn events(docker: &Docker, instance: &str) -> mpsc::UnboundedReceiver<Event> {
    let (tx, rx) = mpsc::unbounded_channel();
    let filters = HashMap::from([
        ("type".to_string(), vec!["container".to_string()]),
        (
            "label".to_string(),
            vec![format!("berth.instance={instance}")],
        ),
        (
            "event".to_string(),
            ["start", "die", "destroy", "create"]
                .map(String::from)
                .to_vec(),
        ),
    ]);
    let docker = docker.clone();
    tokio::spawn(async move {
        let opts = EventsOptionsBuilder::new().filters(&filters).build();
        let mut s = docker.events(Some(opts));
        while let Some(Ok(msg)) = s.next().await {
            let attrs = msg.actor.and_then(|a| a.attributes).unwrap_or_default();
            let ev = Event {
                action: msg.action.unwrap_or_default(),
                name: attrs.get("berth.name").cloned().unwrap_or_default(),
                time_nano: msg
                    .time_nano
                    .or(msg.time.map(|t| t * 1_000_000_000))
                    .unwrap_or_default(),
            };
            if tx.send(ev).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for the next `action` event of `name`, skipping others, for at most `timeout`.
pub async fn wait_event(
    rx: &mut mpsc::UnboundedReceiver<Event>,
    name: &str,
    action: &str,
    timeout: std::time::Duration,
) -> Result<Event> {
    tokio::time::timeout(timeout, async {
        while let Some(ev) = rx.recv().await {
            if ev.name == name && ev.action == action {
                return Ok(ev);
            }
        }
        anyhow::bail!("the event stream ended")
    })
    .await
    .with_context(|| format!("no {action} event for {name} within {timeout:?}"))?
}

/// A Linux bridge takes at most 1023 ports: beyond that the engine cannot start another
/// container on its default bridge ("exchange full").
const BRIDGE_PORTS: usize = 1023;

/// Fails unless `more` containers still fit on the engine's default bridge.
pub async fn ensure_bridge_room(docker: &Docker, more: usize) -> Result<()> {
    let net = docker
        .inspect_network(
            "bridge",
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await
        .context("inspecting the default bridge network")?;
    let used = net.containers.map_or(0, |c| c.len());
    anyhow::ensure!(
        used + more <= BRIDGE_PORTS,
        "the default bridge holds {used} running containers and Linux bridges take at most \
         {BRIDGE_PORTS}: {more} more would not start (\"exchange full\"). Stop other \
         containers on the default bridge first"
    );
    Ok(())
}
