//! Before planning: objects that ask for more than the engine's host has, or reach into the
//! engine's data root, are held with a reason instead of being sent to the engine (which
//! would refuse them, or worse). Pure: the caller passes what the engine said.

use crate::model::{format_bytes, DesiredSet, HostFacts, ObjectKey};
use crate::policy::paths;

/// An object held because it does not fit the engine's host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misfit {
    pub key: ObjectKey,
    /// The manifest file that declares it.
    pub source: String,
    pub message: String,
}

/// Holds every desired object that does not fit `facts`, and says why.
pub fn check(desired: &mut DesiredSet, facts: &HostFacts) -> Vec<Misfit> {
    let mut out = Vec::new();
    for (key, want) in &desired.objects {
        let s = &want.spec;
        let mut why = Vec::new();
        if let (Some(n), Some(cpus)) = (s.nano_cpus, facts.cpus) {
            if n > i64::from(cpus) * 1_000_000_000 {
                why.push(format!(
                    "cpus {} is more than the {cpus} CPU(s) the engine has",
                    n as f64 / 1e9
                ));
            }
        }
        if let Some(mem) = facts.memory_bytes {
            if s.memory_bytes > mem {
                why.push(format!(
                    "memory {} is more than the engine host's {}",
                    format_bytes(s.memory_bytes),
                    format_bytes(mem)
                ));
            }
        }
        if let Some(root) = facts
            .data_root
            .as_deref()
            .and_then(|r| paths::normalize(r).ok())
        {
            let reached = s
                .host_mounts
                .iter()
                .map(|h| h.host_path.as_str())
                .chain(s.privileges.devices.iter().map(|d| d.host_path.as_str()))
                .filter_map(|p| paths::normalize(p).ok())
                .find(|p| paths::is_under(p, &root) || paths::is_under(&root, p));
            if let Some(p) = reached {
                why.push(format!(
                    "host path {p} reaches the engine's data root {root}, which is root on the host"
                ));
            }
        }
        if !why.is_empty() {
            out.push(Misfit {
                key: key.clone(),
                source: want.source.clone(),
                message: why.join("; "),
            });
        }
    }
    for m in &out {
        desired.objects.remove(&m.key);
        desired.held_keys.insert(m.key.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DesiredContainer, HostBinding, Kind};

    fn set(f: impl FnOnce(&mut crate::model::Spec)) -> DesiredSet {
        let mut spec = crate::model::sample_spec();
        f(&mut spec);
        let key = ObjectKey::new(Kind::Agent, "a");
        let d = DesiredContainer::new(
            key.clone(),
            spec,
            crate::model::sample_restart(),
            None,
            "/m/a.yaml".into(),
        );
        DesiredSet {
            objects: [(key, d)].into(),
            ..Default::default()
        }
    }

    #[test]
    fn what_does_not_fit_is_held_with_a_reason() {
        let facts = HostFacts {
            cpus: Some(2),
            memory_bytes: Some(1 << 30),
            data_root: Some("/srv/docker".into()),
            apparmor: None,
        };
        let cases: Vec<(&str, DesiredSet, Option<&str>)> = vec![
            ("fits", set(|s| s.nano_cpus = Some(2_000_000_000)), None),
            (
                "too many cpus",
                set(|s| s.nano_cpus = Some(2_500_000_000)),
                Some("cpus 2.5 is more than the 2 CPU(s) the engine has"),
            ),
            (
                "too much memory",
                set(|s| s.memory_bytes = 2 << 30),
                Some("memory 2Gi is more than the engine host's 1Gi"),
            ),
            (
                "the data root",
                set(|s| {
                    s.host_mounts = vec![HostBinding {
                        host_path: "/srv//docker/volumes".into(),
                        mount_path: "/x".into(),
                        read_only: true,
                    }]
                }),
                Some("host path /srv/docker/volumes reaches the engine's data root /srv/docker"),
            ),
        ];
        for (name, mut desired, want) in cases {
            let got = check(&mut desired, &facts);
            match want {
                None => assert!(
                    got.is_empty() && desired.objects.len() == 1,
                    "{name}: {got:?}"
                ),
                Some(w) => {
                    assert!(got[0].message.starts_with(w), "{name}: {got:?}");
                    assert!(desired.objects.is_empty() && desired.held_keys.len() == 1);
                }
            }
        }
        let mut unknown = set(|s| s.nano_cpus = Some(64_000_000_000));
        assert!(check(&mut unknown, &HostFacts::default()).is_empty());
    }
}
