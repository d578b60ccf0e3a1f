//! A merged container spec → the normalized [`Spec`] the engine gets: restricted defaults
//! applied, every value in canonical units, berth-level settings (restart, volumes' cleanup)
//! split off. Pure: the seccomp profile's content comes in as an argument.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::manifest::types::{
    CleanupPolicy, ContainerSpec, HostPortSpec, OnUnhealthy, ProtocolName, RestartPolicyName,
};
use crate::model::{
    parse_quantity, CleanupRule, HealthCheck, HostBinding, PortMapping, Protocol, RestartPolicy,
    RestartSpec, Spec, VolumeBinding, VolumeClaim, VolumeSource,
};
use crate::policy::{capabilities, restricted};

/// (JSON pointer, message) of a field that cannot be normalized.
pub(super) type FieldError = (&'static str, String);

fn dur(v: Option<&str>, default: Duration, pointer: &'static str) -> Result<Duration, FieldError> {
    match v {
        None => Ok(default),
        Some(s) => humantime::parse_duration(s).map_err(|e| (pointer, e.to_string())),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Applies the restricted defaults and converts to canonical units. `seccomp` is the
/// content of a custom profile (compact JSON), read by the caller.
pub(super) fn normalize(
    c: &ContainerSpec,
    image: String,
    object_labels: &BTreeMap<String, String>,
    seccomp: Option<String>,
) -> Result<Spec, FieldError> {
    let r = c.resources.clone().unwrap_or_default();
    let s = c.security.clone().unwrap_or_default();
    let memory_bytes = match &r.memory {
        Some(m) => parse_quantity(m).map_err(|e| ("/spec/resources/memory", e.to_string()))?,
        None => restricted::MEMORY_BYTES,
    };
    let caps = s.capabilities.clone().unwrap_or_default();
    let norm_caps = |list: Option<Vec<String>>, default: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = match list {
            Some(l) => l
                .iter()
                .filter_map(|c| capabilities::normalize(c))
                .collect(),
            None => default.iter().map(|s| s.to_string()).collect(),
        };
        v.sort();
        v.dedup();
        v
    };
    let seccomp_profile = match s.seccomp_profile.as_deref() {
        None | Some("default") => None,
        Some("unconfined") => Some("unconfined".to_string()),
        Some(_) => Some(seccomp.ok_or((
            "/spec/security/seccompProfile",
            "internal error: the profile was not read".to_string(),
        ))?),
    };
    let health = match &c.health {
        Some(h) => {
            let Some(command) = h.exec.clone() else {
                return Err((
                    "/spec/health/exec",
                    "a health check needs an exec command".into(),
                ));
            };
            Some(HealthCheck {
                command,
                interval_ms: millis(dur(
                    h.interval.as_deref(),
                    restricted::HEALTH_INTERVAL,
                    "/spec/health/interval",
                )?),
                timeout_ms: millis(dur(
                    h.timeout.as_deref(),
                    restricted::HEALTH_TIMEOUT,
                    "/spec/health/timeout",
                )?),
                retries: h.retries.unwrap_or(restricted::HEALTH_RETRIES),
                start_period_ms: millis(dur(
                    h.start_period.as_deref(),
                    restricted::HEALTH_START_PERIOD,
                    "/spec/health/startPeriod",
                )?),
            })
        }
        None => None,
    };
    let grace = dur(
        c.stop_grace_period.as_deref(),
        restricted::STOP_GRACE,
        "/spec/stopGracePeriod",
    )?;
    let mut tmpfs = BTreeMap::new();
    for t in c.tmpfs.iter().flatten() {
        let size = match &t.size {
            Some(q) => parse_quantity(q).map_err(|e| ("/spec/tmpfs", e.to_string()))?,
            None => restricted::TMPFS_BYTES,
        };
        tmpfs.insert(t.mount_path.clone(), size);
    }
    let read_only = s
        .read_only_root_filesystem
        .unwrap_or(restricted::READ_ONLY_ROOT_FILESYSTEM);
    let mut ports: Vec<PortMapping> = c
        .ports
        .iter()
        .flatten()
        .map(|p| PortMapping {
            container_port: p.container_port,
            protocol: match p.protocol.unwrap_or(ProtocolName::Tcp) {
                ProtocolName::Tcp => Protocol::Tcp,
                ProtocolName::Udp => Protocol::Udp,
            },
            host_port: match p.host_port {
                Some(HostPortSpec::Number(n)) => Some(n),
                _ => None,
            },
            host_port_auto: matches!(p.host_port, Some(HostPortSpec::Auto(_))),
            host_ip: p.host_ip.clone(),
        })
        .collect();
    ports.sort();
    let mut volumes: Vec<VolumeBinding> = c
        .volumes
        .iter()
        .flatten()
        .map(|v| VolumeBinding {
            mount_path: v.mount_path.clone(),
            source: VolumeSource {
                name: v.name.clone(),
                shared: v.shared.unwrap_or(false),
            },
            read_only: v.read_only.unwrap_or(false),
        })
        .collect();
    volumes.sort();
    let mut host_mounts: Vec<HostBinding> = c
        .host_mounts
        .iter()
        .flatten()
        .map(|h| HostBinding {
            mount_path: h.mount_path.clone(),
            host_path: h.host_path.clone(),
            read_only: h.read_only.unwrap_or(true),
        })
        .collect();
    host_mounts.sort();
    // A read-only root still gets a writable /tmp, unless something is mounted there.
    let at_tmp = |p: &str| p.trim_end_matches('/') == restricted::TMP_PATH;
    if read_only
        && !tmpfs.keys().any(|p| at_tmp(p))
        && !volumes.iter().any(|v| at_tmp(&v.mount_path))
        && !host_mounts.iter().any(|h| at_tmp(&h.mount_path))
    {
        tmpfs.insert(restricted::TMP_PATH.to_string(), restricted::TMPFS_BYTES);
    }
    let mut labels: BTreeMap<String, String> = object_labels.clone();
    labels.extend(c.labels.clone().unwrap_or_default());
    Ok(Spec {
        image,
        command: c.command.clone(),
        args: c.args.clone(),
        env: c.env.clone().unwrap_or_default(),
        working_dir: c.working_dir.clone(),
        labels,
        memory_bytes,
        nano_cpus: Some(
            r.cpus
                .map_or(restricted::NANO_CPUS, |c| (c * 1e9).round() as i64),
        ),
        pids_limit: r.pids.unwrap_or(restricted::PIDS),
        read_only_root_filesystem: read_only,
        no_new_privileges: s.no_new_privileges.unwrap_or(restricted::NO_NEW_PRIVILEGES),
        user: s.user.clone(),
        cap_drop: norm_caps(caps.drop, restricted::CAP_DROP),
        cap_add: norm_caps(caps.add, &[]),
        seccomp_profile,
        health,
        stop_grace_period_secs: grace.as_secs() + u64::from(grace.subsec_nanos() > 0),
        tmpfs,
        ports,
        volumes,
        host_mounts,
        privileges: super::privileges::normalize(c),
        network: super::privileges::network(c),
        traefik: None,
    })
}

/// The volumes an object mounts, with their cleanup policies.
pub(super) fn claims_of(c: &ContainerSpec) -> Result<Vec<VolumeClaim>, FieldError> {
    c.volumes
        .iter()
        .flatten()
        .map(|v| {
            let cleanup = match &v.cleanup {
                None => None,
                Some(cl) => Some(match cl.policy {
                    CleanupPolicy::Delete => CleanupRule::Delete,
                    CleanupPolicy::Retain => CleanupRule::Retain,
                    CleanupPolicy::RetainFor => CleanupRule::RetainFor {
                        after: dur(cl.after.as_deref(), Duration::ZERO, "/spec/volumes")?,
                    },
                }),
            };
            Ok(VolumeClaim {
                source: VolumeSource {
                    name: v.name.clone(),
                    shared: v.shared.unwrap_or(false),
                },
                cleanup,
            })
        })
        .collect()
}

pub(super) fn restart_of(c: &ContainerSpec) -> Result<RestartSpec, FieldError> {
    let r = c.restart.clone().unwrap_or_default();
    let b = r.backoff.unwrap_or_default();
    let health = c.health.as_ref();
    let initial = dur(
        b.initial.as_deref(),
        restricted::BACKOFF_INITIAL,
        "/spec/restart/backoff/initial",
    )?;
    let max = dur(
        b.max.as_deref(),
        restricted::BACKOFF_MAX.max(initial),
        "/spec/restart/backoff/max",
    )?;
    if max < initial {
        return Err((
            "/spec/restart/backoff/max",
            format!(
                "max ({}) is shorter than initial ({})",
                humantime::format_duration(max),
                humantime::format_duration(initial)
            ),
        ));
    }
    Ok(RestartSpec {
        policy: match r.policy {
            None | Some(RestartPolicyName::Always) => RestartPolicy::Always,
            Some(RestartPolicyName::OnFailure) => RestartPolicy::OnFailure,
            Some(RestartPolicyName::Never) => RestartPolicy::Never,
        },
        backoff_initial: initial,
        backoff_max: max,
        reset_after: dur(
            b.reset_after.as_deref(),
            restricted::BACKOFF_RESET_AFTER,
            "/spec/restart/backoff/resetAfter",
        )?,
        on_unhealthy_restart: health
            .and_then(|h| h.on_unhealthy)
            .is_none_or(|o| o == OnUnhealthy::Restart),
        unhealthy_max_restarts: health
            .and_then(|h| h.max_restarts)
            .unwrap_or(restricted::UNHEALTHY_MAX_RESTARTS),
        unhealthy_window: dur(
            health.and_then(|h| h.restart_window.as_deref()),
            restricted::UNHEALTHY_WINDOW,
            "/spec/health/restartWindow",
        )?,
    })
}
