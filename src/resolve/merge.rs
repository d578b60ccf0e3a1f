//! Templates merged under an Agent's or Session's own fields, Kubernetes-style and typed:
//! mappings (env, labels, sysctls and every nested settings block) merge key by key, lists
//! and scalars replace.

use std::collections::BTreeMap;

use crate::manifest::types::{
    Backoff, Capabilities, ContainerSpec, HealthSpec, HostNamespaces, Resources, RestartSpec,
    Security,
};

/// A value that can be laid over a base of the same type.
pub trait Merge: Clone {
    /// `self` over `base`: what `self` sets wins, the rest comes from `base`.
    fn over(&self, base: &Self) -> Self;
}

/// An optional field: set wins; two settings blocks merge.
fn opt<T: Merge>(own: &Option<T>, base: &Option<T>) -> Option<T> {
    match (own, base) {
        (Some(o), Some(b)) => Some(o.over(b)),
        (Some(o), None) => Some(o.clone()),
        (None, b) => b.clone(),
    }
}

/// An optional list or scalar: set replaces.
fn replace<T: Clone>(own: &Option<T>, base: &Option<T>) -> Option<T> {
    own.clone().or_else(|| base.clone())
}

impl Merge for BTreeMap<String, String> {
    fn over(&self, base: &Self) -> Self {
        let mut out = base.clone();
        out.extend(self.iter().map(|(k, v)| (k.clone(), v.clone())));
        out
    }
}

impl Merge for ContainerSpec {
    fn over(&self, b: &Self) -> Self {
        ContainerSpec {
            image: replace(&self.image, &b.image),
            command: replace(&self.command, &b.command),
            args: replace(&self.args, &b.args),
            env: opt(&self.env, &b.env),
            working_dir: replace(&self.working_dir, &b.working_dir),
            labels: opt(&self.labels, &b.labels),
            resources: opt(&self.resources, &b.resources),
            security: opt(&self.security, &b.security),
            health: opt(&self.health, &b.health),
            restart: opt(&self.restart, &b.restart),
            stop_grace_period: replace(&self.stop_grace_period, &b.stop_grace_period),
            tmpfs: replace(&self.tmpfs, &b.tmpfs),
            ports: replace(&self.ports, &b.ports),
            volumes: replace(&self.volumes, &b.volumes),
            host_mounts: replace(&self.host_mounts, &b.host_mounts),
            host_namespaces: opt(&self.host_namespaces, &b.host_namespaces),
            devices: replace(&self.devices, &b.devices),
            sysctls: opt(&self.sysctls, &b.sysctls),
            network: replace(&self.network, &b.network),
            expose: replace(&self.expose, &b.expose),
            alerts: opt(&self.alerts, &b.alerts),
        }
    }
}

impl Merge for crate::manifest::types::AlertsSpec {
    fn over(&self, b: &Self) -> Self {
        crate::manifest::types::AlertsSpec {
            memory: replace(&self.memory, &b.memory),
            cpu: replace(&self.cpu, &b.cpu),
            restarts: replace(&self.restarts, &b.restarts),
        }
    }
}

impl Merge for Resources {
    fn over(&self, b: &Self) -> Self {
        Resources {
            memory: replace(&self.memory, &b.memory),
            cpus: replace(&self.cpus, &b.cpus),
            pids: replace(&self.pids, &b.pids),
        }
    }
}

impl Merge for Security {
    fn over(&self, b: &Self) -> Self {
        Security {
            read_only_root_filesystem: replace(
                &self.read_only_root_filesystem,
                &b.read_only_root_filesystem,
            ),
            no_new_privileges: replace(&self.no_new_privileges, &b.no_new_privileges),
            user: replace(&self.user, &b.user),
            capabilities: opt(&self.capabilities, &b.capabilities),
            seccomp_profile: replace(&self.seccomp_profile, &b.seccomp_profile),
            privileged: replace(&self.privileged, &b.privileged),
            apparmor_profile: replace(&self.apparmor_profile, &b.apparmor_profile),
        }
    }
}

impl Merge for Capabilities {
    fn over(&self, b: &Self) -> Self {
        Capabilities {
            drop: replace(&self.drop, &b.drop),
            add: replace(&self.add, &b.add),
        }
    }
}

impl Merge for HealthSpec {
    fn over(&self, b: &Self) -> Self {
        HealthSpec {
            exec: replace(&self.exec, &b.exec),
            interval: replace(&self.interval, &b.interval),
            timeout: replace(&self.timeout, &b.timeout),
            retries: replace(&self.retries, &b.retries),
            start_period: replace(&self.start_period, &b.start_period),
            on_unhealthy: replace(&self.on_unhealthy, &b.on_unhealthy),
            max_restarts: replace(&self.max_restarts, &b.max_restarts),
            restart_window: replace(&self.restart_window, &b.restart_window),
        }
    }
}

impl Merge for RestartSpec {
    fn over(&self, b: &Self) -> Self {
        RestartSpec {
            policy: replace(&self.policy, &b.policy),
            backoff: opt(&self.backoff, &b.backoff),
        }
    }
}

impl Merge for Backoff {
    fn over(&self, b: &Self) -> Self {
        Backoff {
            initial: replace(&self.initial, &b.initial),
            max: replace(&self.max, &b.max),
            reset_after: replace(&self.reset_after, &b.reset_after),
        }
    }
}

impl Merge for HostNamespaces {
    fn over(&self, b: &Self) -> Self {
        HostNamespaces {
            network: replace(&self.network, &b.network),
            pid: replace(&self.pid, &b.pid),
            ipc: replace(&self.ipc, &b.ipc),
            uts: replace(&self.uts, &b.uts),
            user: replace(&self.user, &b.user),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: serde_json::Value) -> ContainerSpec {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn mappings_merge_and_lists_replace() {
        let base = spec(serde_json::json!({
            "image": "a:1",
            "command": ["x", "y"],
            "env": { "A": "1", "B": "2" },
            "resources": { "memory": "64Mi", "pids": 10 },
            "security": { "user": "1000", "capabilities": { "drop": ["ALL"], "add": ["CHOWN"] } },
            "health": { "exec": ["true"], "interval": "2s" },
            "restart": { "backoff": { "initial": "1s" } },
            "tmpfs": [ { "mountPath": "/tmp" } ]
        }));
        let own = spec(serde_json::json!({
            "command": ["z"],
            "env": { "B": "3", "C": "4" },
            "resources": { "memory": "32Mi" },
            "security": { "capabilities": { "add": [] } },
            "health": { "retries": 5 },
            "restart": { "policy": "Never", "backoff": { "max": "5s" } },
            "tmpfs": []
        }));
        let merged = serde_json::to_value(own.over(&base)).unwrap();
        assert_eq!(
            merged,
            serde_json::json!({
                "image": "a:1",
                "command": ["z"],
                "env": { "A": "1", "B": "3", "C": "4" },
                "resources": { "memory": "32Mi", "pids": 10 },
                "security": { "user": "1000", "capabilities": { "drop": ["ALL"], "add": [] } },
                "health": { "exec": ["true"], "interval": "2s", "retries": 5 },
                "restart": { "policy": "Never", "backoff": { "initial": "1s", "max": "5s" } },
                "tmpfs": []
            })
        );
    }
}
