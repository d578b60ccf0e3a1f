//! The normalized container spec: what berth asks the engine to run, with every default
//! applied and every value in canonical units. Its hash decides whether a container must be
//! recreated; berth-level behaviour (restart policy, backoff, TTL) is deliberately not part of
//! it, so changing that never recreates a container.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::quantity::format_bytes;
use super::{HostBinding, NetworkMode, Privileges, VolumeBinding};

/// A container as berth wants it on the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    pub image: String,
    /// Replaces the image's entrypoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Replaces the image's default arguments (`CMD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    pub memory_bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nano_cpus: Option<i64>,
    pub pids_limit: i64,
    pub read_only_root_filesystem: bool,
    pub no_new_privileges: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Upper-case capability names without the `CAP_` prefix, sorted.
    pub cap_drop: Vec<String>,
    pub cap_add: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp_profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthCheck>,
    pub stop_grace_period_secs: u64,
    /// Mount path → size in bytes.
    #[serde(default)]
    pub tmpfs: BTreeMap<String, u64>,
    /// Sorted by container port and protocol.
    #[serde(default)]
    pub ports: Vec<PortMapping>,
    /// Sorted by mount path. Left out of the hash input when empty, so specs written before
    /// volumes existed keep their hash.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<VolumeBinding>,
    /// Sorted by mount path; likewise left out when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host_mounts: Vec<HostBinding>,
    /// Anything beyond the restricted baseline (privileged, host namespaces, devices,
    /// sysctls, AppArmor). Left out of the JSON when empty, so the hash of a spec that asks
    /// for none of it is what it was before these settings existed.
    #[serde(flatten)]
    pub privileges: Privileges,
    /// `isolated` or `internal` (a network of the object's own) or a shared network of the
    /// instance. Left out of the JSON when default, like `privileges`.
    #[serde(default, skip_serializing_if = "NetworkMode::is_default")]
    pub network: NetworkMode,
    /// `--router traefik`: the exposure Traefik reads from the container's labels. Part of
    /// the hash (a label change needs a new container); left out when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traefik: Option<super::Exposure>,
}

/// An engine-native health check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    /// Run with exec (no shell): `CMD` in Docker's terms.
    pub command: Vec<String>,
    pub interval_ms: u64,
    pub timeout_ms: u64,
    pub retries: u32,
    pub start_period_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        })
    }
}

/// One published port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortMapping {
    pub container_port: u16,
    pub protocol: Protocol,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
    /// `hostPort: auto`: `host_port` is filled from the pool before planning
    /// ([`crate::plan::ports`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub host_port_auto: bool,
}

impl fmt::Display for PortMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(ip) = &self.host_ip {
            write!(f, "{ip}:")?;
        }
        match (self.host_port, self.host_port_auto) {
            (Some(h), true) => write!(f, "{h}(auto):{}/{}", self.container_port, self.protocol),
            (Some(h), false) => write!(f, "{h}:{}/{}", self.container_port, self.protocol),
            (None, true) => write!(f, "auto:{}/{}", self.container_port, self.protocol),
            (None, false) => write!(f, "{}/{}", self.container_port, self.protocol),
        }
    }
}

/// Version of the hashing scheme; bump only with a migration note in docs/.
const HASH_DOMAIN: &[u8] = b"berth/v1 spec\n";

impl Spec {
    /// sha256 (hex) of the canonical JSON form. Maps are ordered and values are in canonical
    /// units, so two specs that mean the same hash the same.
    /// The spec as its container label carries it.
    pub fn label(&self) -> String {
        serde_json::to_string(self).expect("a spec always serializes")
    }

    pub fn hash(&self) -> String {
        let json = serde_json::to_vec(self).expect("a spec always serializes");
        let mut h = Sha256::new();
        h.update(HASH_DOMAIN);
        h.update(&json);
        format!("{:x}", h.finalize())
    }

    /// Readable field-by-field changes from `old` to `self`, e.g. `memory 256Mi → 512Mi`.
    pub fn changes_from(&self, old: &Spec) -> Vec<String> {
        let mut out = Vec::new();
        let mut scalar = |field: &str, old: String, new: String| {
            if old != new {
                out.push(format!("{field} {old} → {new}"));
            }
        };
        scalar("image", old.image.clone(), self.image.clone());
        scalar("command", opt_list(&old.command), opt_list(&self.command));
        scalar("args", opt_list(&old.args), opt_list(&self.args));
        scalar("workingDir", opt(&old.working_dir), opt(&self.working_dir));
        scalar(
            "memory",
            format_bytes(old.memory_bytes),
            format_bytes(self.memory_bytes),
        );
        scalar("cpus", cpus(old.nano_cpus), cpus(self.nano_cpus));
        scalar(
            "pids",
            old.pids_limit.to_string(),
            self.pids_limit.to_string(),
        );
        scalar(
            "readOnlyRootFilesystem",
            old.read_only_root_filesystem.to_string(),
            self.read_only_root_filesystem.to_string(),
        );
        scalar(
            "noNewPrivileges",
            old.no_new_privileges.to_string(),
            self.no_new_privileges.to_string(),
        );
        scalar("user", opt(&old.user), opt(&self.user));
        scalar(
            "capabilities.drop",
            list(&old.cap_drop),
            list(&self.cap_drop),
        );
        scalar("capabilities.add", list(&old.cap_add), list(&self.cap_add));
        scalar(
            "seccompProfile",
            opt(&old.seccomp_profile),
            opt(&self.seccomp_profile),
        );
        scalar(
            "stopGracePeriod",
            format!("{}s", old.stop_grace_period_secs),
            format!("{}s", self.stop_grace_period_secs),
        );
        scalar(
            "health",
            old.health.as_ref().map_or("none".into(), health),
            self.health.as_ref().map_or("none".into(), health),
        );
        scalar(
            "ports",
            list(
                &old.ports
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
            ),
            list(
                &self
                    .ports
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
            ),
        );
        let vol = |v: &VolumeBinding| {
            format!(
                "{}{}:{}{}",
                if v.source.shared { "shared:" } else { "" },
                v.source.name,
                v.mount_path,
                if v.read_only { ":ro" } else { "" }
            )
        };
        scalar(
            "volumes",
            list(&old.volumes.iter().map(vol).collect::<Vec<_>>()),
            list(&self.volumes.iter().map(vol).collect::<Vec<_>>()),
        );
        let host = |h: &HostBinding| {
            format!(
                "{}:{}{}",
                h.host_path,
                h.mount_path,
                if h.read_only { ":ro" } else { "" }
            )
        };
        scalar(
            "hostMounts",
            list(&old.host_mounts.iter().map(host).collect::<Vec<_>>()),
            list(&self.host_mounts.iter().map(host).collect::<Vec<_>>()),
        );
        map_changes(&mut out, "env", &old.env, &self.env, |v| v.clone());
        map_changes(&mut out, "labels", &old.labels, &self.labels, |v| v.clone());
        map_changes(&mut out, "tmpfs", &old.tmpfs, &self.tmpfs, |v| {
            format_bytes(*v)
        });
        out.extend(self.privileges.changes_from(&old.privileges));
        scalar_change(
            &mut out,
            "network",
            &old.network.to_string(),
            &self.network.to_string(),
        );
        if old.traefik != self.traefik {
            let url = |e: &Option<super::Exposure>| e.as_ref().map_or("-".into(), |e| e.url());
            out.push(format!(
                "traefik route {} → {}",
                url(&old.traefik),
                url(&self.traefik)
            ));
        }
        out
    }
}

fn scalar_change(out: &mut Vec<String>, field: &str, old: &str, new: &str) {
    if old != new {
        out.push(format!("{field} {old} → {new}"));
    }
}

fn map_changes<V: PartialEq>(
    out: &mut Vec<String>,
    field: &str,
    old: &BTreeMap<String, V>,
    new: &BTreeMap<String, V>,
    show: impl Fn(&V) -> String,
) {
    for (k, v) in new {
        match old.get(k) {
            None => out.push(format!("{field}.{k} added ({})", show(v))),
            Some(o) if o != v => out.push(format!("{field}.{k} {} → {}", show(o), show(v))),
            Some(_) => {}
        }
    }
    for k in old.keys().filter(|k| !new.contains_key(*k)) {
        out.push(format!("{field}.{k} removed"));
    }
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "(image default)".into())
}

fn opt_list(v: &Option<Vec<String>>) -> String {
    v.as_ref().map_or("(image default)".into(), |l| list(l))
}

fn list(v: &[String]) -> String {
    format!("[{}]", v.join(", "))
}

fn cpus(n: Option<i64>) -> String {
    n.map_or("unlimited".into(), |n| format!("{}", n as f64 / 1e9))
}

fn health(h: &HealthCheck) -> String {
    format!(
        "{} every {}ms (timeout {}ms, retries {}, start period {}ms)",
        list(&h.command),
        h.interval_ms,
        h.timeout_ms,
        h.retries,
        h.start_period_ms
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> Spec {
        Spec {
            image: "berth-runtime:1".into(),
            command: None,
            args: Some(vec!["sleep".into(), "3600".into()]),
            env: BTreeMap::from([("LOG_LEVEL".into(), "info".into())]),
            working_dir: None,
            labels: BTreeMap::new(),
            memory_bytes: 256 << 20,
            nano_cpus: None,
            pids_limit: 256,
            read_only_root_filesystem: false,
            no_new_privileges: true,
            user: None,
            cap_drop: vec!["ALL".into()],
            cap_add: vec![],
            seccomp_profile: None,
            health: None,
            stop_grace_period_secs: 10,
            tmpfs: BTreeMap::new(),
            ports: vec![],
            volumes: vec![],
            host_mounts: vec![],
            privileges: Privileges::default(),
            network: NetworkMode::Default,
            traefik: None,
        }
    }

    #[test]
    fn hash_is_stable_and_sensitive() {
        let a = sample();
        assert_eq!(a.hash(), sample().hash());
        assert_eq!(a.hash().len(), 64);
        let mut b = sample();
        b.memory_bytes = 512 << 20;
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn changes_are_readable() {
        let old = sample();
        let mut new = sample();
        new.memory_bytes = 512 << 20;
        new.env.insert("LOG_LEVEL".into(), "debug".into());
        new.env.insert("ROLE".into(), "reviewer".into());
        new.tmpfs.insert("/tmp".into(), 64 << 20);
        assert_eq!(
            new.changes_from(&old),
            vec![
                "memory 256Mi → 512Mi",
                "env.LOG_LEVEL info → debug",
                "env.ROLE added (reviewer)",
                "tmpfs./tmp added (64Mi)",
            ]
        );
        assert!(old.changes_from(&old).is_empty());
    }

    #[test]
    fn a_spec_without_privileges_serializes_as_before_they_existed() {
        // Containers created before privileges existed must keep their hash (no recreate
        // on upgrade): an empty `privileges` adds nothing to the JSON.
        let v = serde_json::to_value(sample()).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "image",
                "args",
                "env",
                "labels",
                "memoryBytes",
                "pidsLimit",
                "readOnlyRootFilesystem",
                "noNewPrivileges",
                "capDrop",
                "capAdd",
                "stopGracePeriodSecs",
                "tmpfs",
                "ports"
            ]
        );
        let mut p = sample();
        p.privileges.privileged = true;
        assert_ne!(p.hash(), sample().hash());
        assert_eq!(p.changes_from(&sample()), ["privileged false → true"]);
        let back: Spec = serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn spec_roundtrips_through_json() {
        let s = sample();
        let back: Spec = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(s, back);
    }
}
