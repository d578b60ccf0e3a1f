//! `hostPort: auto`: host ports from a pool, assigned before planning. Pure: the caller
//! passes what berth remembers (the state file of `berth run`) and what runs.
//!
//! - **Stable.** An object keeps the port it had: the one remembered for it, else the one
//!   its current container publishes (from the container's spec label), so neither a
//!   recreate nor a restart of berth moves it.
//! - **Exclusive.** No two objects of the instance get one port: fixed `hostPort` numbers
//!   and ports held by other objects' containers are never handed out, and objects that
//!   already hold a port keep it before any new one is assigned.
//! - **Deterministic.** A new port is the lowest free one in the pool.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use crate::model::{DesiredSet, ObjectKey, Observed, PortMapping, Protocol};

pub use crate::model::PortAllocations;

/// An inclusive range of host ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortPool {
    pub first: u16,
    pub last: u16,
}

impl Default for PortPool {
    fn default() -> Self {
        PortPool {
            first: 20000,
            last: 29999,
        }
    }
}

impl fmt::Display for PortPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

impl FromStr for PortPool {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not a port range such as 20000-29999");
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let first: u16 = a.trim().parse().map_err(|_| bad())?;
        let last: u16 = b.trim().parse().map_err(|_| bad())?;
        if first == 0 || first > last {
            return Err(bad());
        }
        Ok(PortPool { first, last })
    }
}

/// An object that could not get a port: it is held (its container left as it is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exhausted {
    pub key: ObjectKey,
    pub message: String,
}

fn port_key(p: &PortMapping) -> String {
    format!("{}/{}", p.container_port, p.protocol)
}

/// Fills every `hostPort: auto` of `desired`, updating `memory`. Objects that cannot get a
/// port are moved from the desired objects to the held keys and returned.
pub fn assign(
    desired: &mut DesiredSet,
    observed: &[Observed],
    memory: &mut PortAllocations,
    pool: PortPool,
) -> Vec<Exhausted> {
    if !desired
        .objects
        .values()
        .any(|o| o.spec.ports.iter().any(|p| p.host_port_auto))
    {
        memory.retain(|k, _| desired.objects.contains_key(k) || desired.held_keys.contains(k));
        return Vec::new(); // nothing to assign
    }
    // Who holds which (port, protocol): fixed numbers first, then containers, then memory.
    let mut used: BTreeMap<(u16, Protocol), ObjectKey> = BTreeMap::new();
    for (key, obj) in &desired.objects {
        for p in obj.spec.ports.iter().filter(|p| !p.host_port_auto) {
            if let Some(h) = p.host_port {
                used.entry((h, p.protocol)).or_insert_with(|| key.clone());
            }
        }
    }
    for o in observed {
        let (Some(key), Some(spec)) = (&o.key, o.spec()) else {
            continue;
        };
        for p in &spec.ports {
            if let Some(h) = p.host_port {
                used.entry((h, p.protocol)).or_insert_with(|| key.clone());
            }
        }
    }
    // Forget objects that are neither declared nor held.
    memory.retain(|k, _| desired.objects.contains_key(k) || desired.held_keys.contains(k));
    for (key, ports) in memory.iter() {
        for (pk, h) in ports {
            if let Some(proto) = protocol_of(pk) {
                used.entry((*h, proto)).or_insert_with(|| key.clone());
            }
        }
    }
    let free_for = |used: &BTreeMap<(u16, Protocol), ObjectKey>, h: u16, proto, key: &ObjectKey| {
        used.get(&(h, proto)).is_none_or(|owner| owner == key)
    };

    // Pass 1: keep what each object already has.
    let mut wanted: Vec<(ObjectKey, usize)> = Vec::new();
    for (key, obj) in desired.objects.iter_mut() {
        let current = observed
            .iter()
            .filter(|o| o.key.as_ref() == Some(key))
            .filter_map(Observed::spec)
            .flat_map(|s| s.ports)
            .filter(|p| p.host_port_auto)
            .filter_map(|p| p.host_port.map(|h| (port_key(&p), h)))
            .collect::<BTreeMap<String, u16>>();
        for (i, p) in obj.spec.ports.iter_mut().enumerate() {
            if !p.host_port_auto {
                continue;
            }
            let pk = port_key(p);
            let keep = memory
                .get(key)
                .and_then(|m| m.get(&pk))
                .copied()
                .into_iter()
                .chain(current.get(&pk).copied())
                .find(|h| {
                    (pool.first..=pool.last).contains(h) && free_for(&used, *h, p.protocol, key)
                });
            match keep {
                Some(h) => {
                    p.host_port = Some(h);
                    used.insert((h, p.protocol), key.clone());
                    memory.entry(key.clone()).or_default().insert(pk, h);
                }
                None => {
                    p.host_port = None;
                    wanted.push((key.clone(), i));
                }
            }
        }
    }

    // Pass 2: new ports, lowest free first.
    let mut exhausted: BTreeSet<ObjectKey> = BTreeSet::new();
    let mut out = Vec::new();
    for (key, i) in wanted {
        let obj = desired.objects.get_mut(&key).expect("listed above");
        let proto = obj.spec.ports[i].protocol;
        let pk = port_key(&obj.spec.ports[i]);
        match (pool.first..=pool.last).find(|h| !used.contains_key(&(*h, proto))) {
            Some(h) => {
                obj.spec.ports[i].host_port = Some(h);
                used.insert((h, proto), key.clone());
                memory.entry(key.clone()).or_default().insert(pk, h);
            }
            None => {
                if exhausted.insert(key.clone()) {
                    out.push(Exhausted {
                        key: key.clone(),
                        message: format!(
                            "no free host port in the pool {pool} for {pk} (hostPort: auto); widen --host-port-range"
                        ),
                    });
                }
            }
        }
    }
    for key in &exhausted {
        desired.objects.remove(key);
        desired.held_keys.insert(key.clone());
    }
    for obj in desired.objects.values_mut() {
        if obj.spec.ports.iter().any(|p| p.host_port_auto) {
            obj.hash = obj.spec.hash();
        }
    }
    out
}

fn protocol_of(port_key: &str) -> Option<Protocol> {
    match port_key.rsplit_once('/')?.1 {
        "tcp" => Some(Protocol::Tcp),
        "udp" => Some(Protocol::Udp),
        _ => None,
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::model::{DesiredContainer, Kind, RunState, Spec};

    fn spec(ports: Vec<PortMapping>) -> Spec {
        let mut s: Spec = serde_json::from_value(serde_json::json!({
            "image": "berth-runtime:1", "memoryBytes": 1, "pidsLimit": 1,
            "readOnlyRootFilesystem": false, "noNewPrivileges": true, "capDrop": ["ALL"],
            "capAdd": [], "stopGracePeriodSecs": 1
        }))
        .unwrap();
        s.ports = ports;
        s
    }

    fn auto(port: u16) -> PortMapping {
        PortMapping {
            container_port: port,
            protocol: Protocol::Tcp,
            host_port: None,
            host_ip: None,
            host_port_auto: true,
        }
    }

    fn fixed(port: u16, host: u16) -> PortMapping {
        PortMapping {
            host_port: Some(host),
            host_port_auto: false,
            ..auto(port)
        }
    }

    fn key(name: &str) -> ObjectKey {
        ObjectKey::new(Kind::Agent, name)
    }

    fn set(objects: Vec<(&str, Vec<PortMapping>)>) -> DesiredSet {
        let mut d = DesiredSet::default();
        for (name, ports) in objects {
            d.objects.insert(
                key(name),
                DesiredContainer::new(
                    key(name),
                    spec(ports),
                    crate::model::sample_restart(),
                    None,
                    "/m.yaml".into(),
                ),
            );
        }
        d
    }

    fn running(name: &str, s: &Spec) -> Observed {
        Observed {
            labels: Default::default(),
            stopped_outside: false,
            address: None,
            started_at: None,
            pool: None,
            id: format!("id-{name}"),
            name: format!("berth_t_agent_{name}"),
            key: Some(key(name)),
            spec_hash: Some(s.hash()),
            spec_label: Some(s.label()),
            source: None,
            image: s.image.clone(),
            state: RunState::Running,
            health: None,
            created: 0,
            status: String::new(),
            volumes: vec![],
        }
    }

    fn host(d: &DesiredSet, name: &str) -> Vec<Option<u16>> {
        d.objects[&key(name)]
            .spec
            .ports
            .iter()
            .map(|p| p.host_port)
            .collect()
    }

    const POOL: PortPool = PortPool {
        first: 20000,
        last: 20002,
    };

    #[test]
    fn lowest_free_ports_skipping_fixed_ones() {
        let mut d = set(vec![
            ("a", vec![auto(80), auto(443)]),
            ("b", vec![fixed(8080, 20000), auto(9090)]),
        ]);
        let mut mem = PortAllocations::new();
        let pool = PortPool {
            first: 20000,
            last: 20003,
        };
        assert!(assign(&mut d, &[], &mut mem, pool).is_empty());
        assert_eq!(host(&d, "a"), [Some(20001), Some(20002)]);
        assert_eq!(host(&d, "b"), [Some(20000), Some(20003)]);
        assert_eq!(mem[&key("a")]["443/tcp"], 20002);
        // Assigning again changes nothing (idempotent).
        let before = d.objects[&key("a")].hash.clone();
        assert!(assign(&mut d, &[], &mut mem, pool).is_empty());
        assert_eq!(d.objects[&key("a")].hash, before);
    }

    #[test]
    fn ports_are_stable_across_recreation_and_restarts() {
        let mut d = set(vec![("a", vec![auto(80)]), ("b", vec![auto(80)])]);
        let mut mem = PortAllocations::new();
        assign(&mut d, &[], &mut mem, POOL);
        assert_eq!(host(&d, "a"), [Some(20000)]);
        assert_eq!(host(&d, "b"), [Some(20001)]);
        let b_spec = d.objects[&key("b")].spec.clone();

        // berth restarts with no memory; a is gone from the engine, b's container runs.
        // A new object c is declared first in order: it must not take b's port.
        let mut d2 = set(vec![
            ("a", vec![auto(80)]),
            ("b", vec![auto(80)]),
            ("aa", vec![auto(80)]),
        ]);
        let mut mem2 = PortAllocations::new();
        assign(&mut d2, &[running("b", &b_spec)], &mut mem2, POOL);
        assert_eq!(host(&d2, "b"), [Some(20001)], "kept from its container");
        assert_eq!(host(&d2, "a"), [Some(20000)]);
        assert_eq!(host(&d2, "aa"), [Some(20002)]);
        assert_eq!(
            d2.objects[&key("b")].hash,
            b_spec.hash(),
            "same hash: no recreate"
        );

        // Remembered ports win even when the container is gone.
        let mut d3 = set(vec![("b", vec![auto(80)]), ("a", vec![auto(80)])]);
        let mut mem3 = mem.clone();
        assign(&mut d3, &[], &mut mem3, POOL);
        assert_eq!(host(&d3, "b"), [Some(20001)]);
    }

    #[test]
    fn an_exhausted_pool_holds_the_object() {
        let mut d = set(vec![
            ("a", vec![auto(80), auto(81)]),
            ("b", vec![auto(80), auto(81)]),
        ]);
        let mut mem = PortAllocations::new();
        let out = assign(&mut d, &[], &mut mem, POOL);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].key, key("b"));
        assert!(out[0]
            .message
            .contains("no free host port in the pool 20000-20002 for 81/tcp"));
        assert!(d.held_keys.contains(&key("b")));
        assert!(!d.objects.contains_key(&key("b")));
    }

    #[test]
    fn memory_of_undeclared_objects_is_dropped() {
        let mut mem = PortAllocations::new();
        mem.entry(key("gone"))
            .or_default()
            .insert("80/tcp".into(), 20000);
        let mut d = set(vec![("a", vec![auto(80)])]);
        assign(&mut d, &[], &mut mem, POOL);
        assert_eq!(host(&d, "a"), [Some(20000)]);
        assert!(!mem.contains_key(&key("gone")));
    }

    #[test]
    fn ranges_parse() {
        assert_eq!(
            "20000-20099".parse::<PortPool>().unwrap(),
            PortPool {
                first: 20000,
                last: 20099
            }
        );
        assert!("20099-20000".parse::<PortPool>().is_err());
        assert!("x".parse::<PortPool>().is_err());
    }
}
