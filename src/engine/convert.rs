//! bollard models ↔ the project's model.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, ContainerSummary, ContainerSummaryStateEnum, HealthConfig, HostConfig,
    Mount, MountType, PortBinding, RestartPolicy, RestartPolicyNameEnum, Volume,
};

use crate::model::{
    labels, CleanupRule, DesiredContainer, Health, Kind, ObjectKey, Observed, ObservedVolume,
    RunState, Spec, VolumeOwner,
};

/// Reads a listed container. Exit code and health come from the one-line status
/// ("Exited (137) 3 seconds ago", "Up 2 minutes (healthy)"), so one list call is enough.
pub(super) fn observed(c: ContainerSummary) -> Observed {
    let mut l = c.labels.unwrap_or_default();
    let name = c
        .names
        .and_then(|n| n.into_iter().next())
        .map(|n| n.trim_start_matches('/').to_string())
        .unwrap_or_default();
    let key = identity(&l, &name);
    let status = c.status.unwrap_or_default();
    let state = match c.state {
        Some(ContainerSummaryStateEnum::CREATED) => RunState::Created,
        Some(ContainerSummaryStateEnum::RUNNING) => RunState::Running,
        Some(ContainerSummaryStateEnum::PAUSED) => RunState::Paused,
        Some(ContainerSummaryStateEnum::RESTARTING) => RunState::Restarting,
        Some(ContainerSummaryStateEnum::REMOVING) => RunState::Removing,
        Some(ContainerSummaryStateEnum::DEAD) => RunState::Dead,
        Some(ContainerSummaryStateEnum::STOPPING) => RunState::Running,
        Some(ContainerSummaryStateEnum::EXITED) | Some(ContainerSummaryStateEnum::EMPTY) | None => {
            RunState::Exited {
                code: exit_code(&status),
            }
        }
    };
    let spec_label = l.remove(labels::SPEC);
    // Podman shows a short name it resolved locally as `localhost/NAME:TAG`: show the
    // image as the manifest names it.
    let mut image = c.image.unwrap_or_default();
    if let Some(short) = image.strip_prefix("localhost/") {
        let spec = spec_label
            .as_deref()
            .and_then(|s| serde_json::from_str::<Spec>(s).ok());
        if spec.is_some_and(|s| s.image == short) {
            image = short.to_string();
        }
    }
    let pool = l.get(labels::POOL).cloned();
    let spec_hash = l.get(labels::SPEC_HASH).cloned();
    let source = l.get(labels::SOURCE).cloned();
    let address = c.network_settings.and_then(|n| n.networks).and_then(|n| {
        n.into_values()
            .filter_map(|e| e.ip_address)
            .find(|ip| !ip.is_empty())
    });
    Observed {
        // Moved, not copied: the spec label is out already.
        labels: l.into_iter().collect(),
        stopped_outside: false,
        address,
        id: c.id.unwrap_or_default(),
        pool,
        started_at: None,
        name,
        key,
        spec_hash,
        spec_label,
        source,
        image,
        state,
        health: health(&status),
        created: c.created.unwrap_or_default(),
        status,
        volumes: c
            .mounts
            .unwrap_or_default()
            .into_iter()
            .filter(|m| m.typ.as_deref() == Some("volume"))
            .filter_map(|m| m.name)
            .collect(),
    }
}

/// Reads a listed volume.
pub(super) fn observed_volume(v: Volume) -> ObservedVolume {
    let created = v.created_at.as_deref().and_then(|t| {
        humantime::parse_rfc3339_weak(t.trim_end_matches('Z').split('.').next().unwrap_or(t))
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64)
    });
    ObservedVolume {
        owner: v
            .labels
            .get(labels::VOLUME_OWNER)
            .and_then(|o| VolumeOwner::parse(o)),
        cleanup: v
            .labels
            .get(labels::VOLUME_CLEANUP)
            .and_then(|c| CleanupRule::parse(c).ok()),
        created,
        size: v.usage_data.and_then(|u| u64::try_from(u.size).ok()),
        name: v.name,
    }
}

fn exit_code(status: &str) -> Option<i64> {
    let rest = status.strip_prefix("Exited (")?;
    rest.split(')').next()?.trim().parse().ok()
}

fn health(status: &str) -> Option<Health> {
    if status.contains("(healthy)") {
        Some(Health::Healthy)
    } else if status.contains("(unhealthy)") {
        Some(Health::Unhealthy)
    } else if status.contains("(health: starting)") {
        Some(Health::Starting)
    } else {
        None
    }
}

/// The engine's own AppArmor profile, set explicitly where the host has AppArmor.
pub(super) const DOCKER_APPARMOR_PROFILE: &str = "docker-default";

/// The CPU weight (`CpuShares`) for a CPU limit: 1000 per core (a milli-CPU each, as the
/// kubelet derives shares from requests), so a container's priority follows its limit.
fn cpu_shares(nano_cpus: i64) -> i64 {
    (nano_cpus / 1_000_000).clamp(2, 262_144)
}

/// Which object a container of this instance belongs to: its kind and name labels, except
/// for a pool member, which its name says (a claim renames it to its Session's name).
pub(super) fn identity(l: &HashMap<String, String>, name: &str) -> Option<ObjectKey> {
    let kind = l.get(labels::KIND).and_then(|k| k.parse::<Kind>().ok())?;
    let named = l.get(labels::NAME)?;
    match (kind, l.get(labels::POOL), l.get(labels::INSTANCE)) {
        (Kind::Pool, Some(_), Some(instance)) => crate::model::owner_of(instance, named, name),
        (Kind::Pool, _, _) => None,
        _ => Some(ObjectKey::new(kind, named.clone())),
    }
}

/// The create request for `want`, with the ownership labels. `apparmor` is the profile to
/// set when the manifest names none.
pub(super) fn create_body(
    instance: &str,
    want: &DesiredContainer,
    apparmor: Option<&str>,
) -> ContainerCreateBody {
    let s = &want.spec;
    let mut l: HashMap<String, String> = s.labels.clone().into_iter().collect();
    if let Some(e) = &s.traefik {
        l.extend(crate::model::traefik_labels(
            &crate::model::RouteId::of(instance, &want.key),
            e,
        ));
    }
    l.insert(labels::INSTANCE.into(), instance.into());
    l.insert(labels::KIND.into(), want.key.kind.as_str().into());
    l.insert(labels::NAME.into(), want.key.name.clone());
    l.insert(labels::SPEC_HASH.into(), want.hash.clone());
    l.insert(labels::SPEC.into(), s.label());
    l.insert(labels::SOURCE.into(), want.source.clone());
    if let (Kind::Pool, Some(t)) = (want.key.kind, &want.template) {
        l.insert(labels::POOL.into(), t.clone());
    }

    let mut security_opt = Vec::new();
    if s.no_new_privileges {
        security_opt.push("no-new-privileges:true".to_string());
    }
    if let Some(p) = &s.seccomp_profile {
        security_opt.push(format!("seccomp={p}"));
    }
    if let (None, Some(profile), false) = (
        &s.privileges.apparmor_profile,
        apparmor,
        s.privileges.privileged,
    ) {
        security_opt.push(format!("apparmor={profile}"));
    }
    let ms = |ms: u64| i64::try_from(ms.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
    // Without a health check in the manifest, the image's own HEALTHCHECK is switched off:
    // the container runs as declared, not as the image's author preferred.
    let healthcheck = Some(s.health.as_ref().map_or_else(
        || HealthConfig {
            test: Some(vec!["NONE".to_string()]),
            ..Default::default()
        },
        |h| {
            HealthConfig {
                test: Some(
                    std::iter::once("CMD".to_string())
                        .chain(h.command.iter().cloned())
                        .collect(),
                ),
                interval: Some(ms(h.interval_ms)),
                timeout: Some(ms(h.timeout_ms)),
                retries: Some(i64::from(h.retries)),
                start_period: Some(ms(h.start_period_ms)),
                start_interval: None,
            }
        },
    ));
    let port_key = |p: &crate::model::PortMapping| format!("{}/{}", p.container_port, p.protocol);
    let mut port_bindings = HashMap::new();
    for p in s.ports.iter().filter(|p| p.host_port.is_some()) {
        port_bindings
            .entry(port_key(p))
            .or_insert_with(|| Some(Vec::new()))
            .as_mut()
            .expect("inserted as Some")
            .push(PortBinding {
                host_ip: p.host_ip.clone(),
                host_port: p.host_port.map(|h| h.to_string()),
            });
    }
    let memory = i64::try_from(s.memory_bytes).unwrap_or(i64::MAX);
    let mounts: Vec<Mount> = s
        .volumes
        .iter()
        .map(|v| Mount {
            target: Some(v.mount_path.clone()),
            source: Some(v.source.engine_name(instance, &want.key)),
            typ: Some(MountType::VOLUME),
            read_only: Some(v.read_only),
            ..Default::default()
        })
        .chain(s.host_mounts.iter().map(|h| Mount {
            target: Some(h.mount_path.clone()),
            source: Some(h.host_path.clone()),
            typ: Some(MountType::BIND),
            read_only: Some(h.read_only),
            ..Default::default()
        }))
        .collect();
    let mut body = ContainerCreateBody {
        image: Some(s.image.clone()),
        entrypoint: s.command.clone(),
        cmd: s.args.clone(),
        env: Some(s.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        working_dir: s.working_dir.clone(),
        user: s.user.clone(),
        labels: Some(l),
        healthcheck,
        stop_timeout: Some(i64::try_from(s.stop_grace_period_secs).unwrap_or(i64::MAX)),
        exposed_ports: (!s.ports.is_empty()).then(|| s.ports.iter().map(port_key).collect()),
        host_config: Some(HostConfig {
            memory: Some(memory),
            // No swap beyond the memory limit: the limit means what it says.
            memory_swap: Some(memory),
            nano_cpus: s.nano_cpus,
            cpu_shares: s.nano_cpus.map(cpu_shares),
            pids_limit: Some(s.pids_limit),
            readonly_rootfs: Some(s.read_only_root_filesystem),
            security_opt: Some(security_opt),
            cap_drop: Some(s.cap_drop.clone()),
            cap_add: Some(s.cap_add.clone()),
            tmpfs: (!s.tmpfs.is_empty()).then(|| {
                s.tmpfs
                    .iter()
                    .map(|(path, size)| (path.clone(), format!("size={size}")))
                    .collect()
            }),
            port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
            mounts: (!mounts.is_empty()).then_some(mounts),
            // berth restarts containers itself, with backoff; the engine must not race it.
            restart_policy: Some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::NO),
                maximum_retry_count: None,
            }),
            // A tiny init reaps zombies and forwards SIGTERM to the workload.
            init: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    };
    if let Some(host) = body.host_config.as_mut() {
        super::privileges::apply(&s.privileges, host);
        super::network::apply(instance, want, host);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_weight_follows_the_limit_and_apparmor_is_explicit() {
        assert_eq!(cpu_shares(1_000_000_000), 1000);
        assert_eq!(cpu_shares(500_000_000), 500);
        assert_eq!(cpu_shares(10_000_000), 10);
        assert_eq!(cpu_shares(1_000_000), 2);
        let mut spec = crate::model::sample_spec();
        spec.nano_cpus = Some(1_000_000_000);
        let want = DesiredContainer::new(
            ObjectKey::new(Kind::Agent, "a"),
            spec,
            crate::model::sample_restart(),
            None,
            "/m/a.yaml".into(),
        );
        let h = create_body("i", &want, Some(DOCKER_APPARMOR_PROFILE))
            .host_config
            .unwrap();
        assert_eq!(h.cpu_shares, Some(1000));
        assert!(h
            .security_opt
            .unwrap()
            .contains(&"apparmor=docker-default".to_string()));
        let h = create_body("i", &want, None).host_config.unwrap();
        assert!(!h
            .security_opt
            .unwrap()
            .iter()
            .any(|o| o.starts_with("apparmor")));
    }

    #[test]
    fn status_lines_give_exit_code_and_health() {
        assert_eq!(exit_code("Exited (137) 3 seconds ago"), Some(137));
        assert_eq!(exit_code("Exited (0) About a minute ago"), Some(0));
        assert_eq!(exit_code("Up 2 minutes"), None);
        assert_eq!(health("Up 2 minutes (healthy)"), Some(Health::Healthy));
        assert_eq!(
            health("Up 5 seconds (health: starting)"),
            Some(Health::Starting)
        );
        assert_eq!(health("Up 1 minute (unhealthy)"), Some(Health::Unhealthy));
        assert_eq!(health("Up 1 minute"), None);
    }
}
