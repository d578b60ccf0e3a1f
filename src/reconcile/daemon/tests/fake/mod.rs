//! An in-memory engine for the daemon's unit tests: containers and volumes in a map, events
//! on a broadcast channel, every call recorded with its (tokio) time, and ways to make it
//! misbehave: kill a container with or without telling, fail the next call of an operation,
//! go away and come back, answer slowly.

mod controls;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream::{self, BoxStream, StreamExt};
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::engine::{
    Engine, EngineError, EngineEvent, EventKind, ExecOptions, ExecSession, LogOptions, OutputChunk,
};
use crate::model::{
    CleanupRule, DesiredContainer, Health, HostFacts, ObjectKey, Observed, ObservedVolume,
    RunState, VolumeOwner,
};

/// One call the daemon made: the operation, what it named, when.
#[derive(Debug, Clone)]
pub struct Call {
    pub op: &'static str,
    pub subject: String,
    pub at: Instant,
}

#[derive(Debug, Default)]
struct State {
    containers: BTreeMap<String, (String, Observed)>,
    volumes: BTreeMap<String, ObservedVolume>,
    next_id: u64,
    calls: Vec<Call>,
    fail: VecDeque<(&'static str, EngineError)>,
    away: bool,
    latency: HashMap<&'static str, Duration>,
    /// Like Podman without systemd: runs no health check itself, lists no health, and
    /// tells no exit; `run_health_check` answers the container's health.
    podman_like: bool,
    /// Network bytes by container id (`network_bytes`).
    traffic: HashMap<String, u64>,
    /// What a stats call reads, by container id.
    usage: HashMap<String, crate::model::Sample>,
}

impl State {
    /// An id, or the name of a container (the engine takes either).
    fn resolve(&self, id_or_name: &str) -> String {
        self.containers
            .iter()
            .find(|(_, (_, o))| o.name == id_or_name)
            .map_or(id_or_name.to_string(), |(id, _)| id.clone())
    }

    /// The ids of the object's containers.
    fn ids_of(&self, key: &ObjectKey) -> Vec<String> {
        self.containers
            .iter()
            .filter(|(_, (_, o))| o.key.as_ref() == Some(key))
            .map(|(id, _)| id.clone())
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct FakeEngine {
    state: Arc<Mutex<State>>,
    events: broadcast::Sender<EngineEvent>,
}

impl Default for FakeEngine {
    fn default() -> Self {
        FakeEngine {
            state: Arc::default(),
            events: broadcast::channel(1024).0,
        }
    }
}

fn unreachable(op: &str) -> EngineError {
    EngineError::Unreachable {
        operation: op.into(),
        endpoint: "fake://".into(),
        message: "the fake engine is away".into(),
    }
}

impl FakeEngine {
    /// Records a call; fails it when the engine is away or a failure is queued for it.
    async fn call(&self, op: &'static str, subject: &str) -> Result<(), EngineError> {
        let latency = {
            let mut s = self.state.lock().unwrap();
            s.calls.push(Call {
                op,
                subject: subject.to_string(),
                at: Instant::now(),
            });
            if s.away {
                return Err(unreachable(op));
            }
            if let Some(i) = s.fail.iter().position(|(o, _)| *o == op) {
                return Err(s.fail.remove(i).unwrap().1);
            }
            s.latency.get(op).copied()
        };
        if let Some(d) = latency {
            tokio::time::sleep(d).await;
        }
        Ok(())
    }

    fn emit(&self, kind: EventKind, o: &Observed, exit_code: Option<i64>, health: Option<Health>) {
        let _ = self.events.send(EngineEvent {
            kind,
            key: o.key.clone(),
            container_id: o.id.clone(),
            time_nano: 0,
            exit_code,
            health,
        });
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }
}

impl Engine for FakeEngine {
    fn endpoint(&self) -> &str {
        "fake://"
    }

    fn api_version(&self) -> &str {
        "1.41"
    }

    async fn host_facts(&self) -> HostFacts {
        HostFacts::default()
    }

    fn list(
        &self,
        instance: &str,
    ) -> impl Future<Output = Result<Vec<Observed>, EngineError>> + Send {
        let instance = instance.to_string();
        async move {
            self.call("list_containers", &instance).await?;
            Ok(self.with(|s| {
                s.containers
                    .values()
                    .filter(|(i, _)| *i == instance)
                    .map(|(_, o)| {
                        let mut o = o.clone();
                        if s.podman_like {
                            o.health = None; // Podman's listing leaves it out
                        }
                        o
                    })
                    .collect()
            }))
        }
    }

    fn list_volumes(
        &self,
        instance: &str,
    ) -> impl Future<Output = Result<Vec<ObservedVolume>, EngineError>> + Send {
        let instance = instance.to_string();
        async move {
            self.call("list_volumes", &instance).await?;
            Ok(self.with(|s| s.volumes.values().cloned().collect()))
        }
    }

    async fn volume_sizes(&self) -> Result<HashMap<String, u64>, EngineError> {
        Ok(HashMap::new())
    }

    fn create_volume(
        &self,
        _instance: &str,
        name: &str,
        owner: &VolumeOwner,
        cleanup: Option<&CleanupRule>,
    ) -> impl Future<Output = Result<(), EngineError>> + Send {
        let (name, owner, cleanup) = (name.to_string(), owner.clone(), cleanup.copied());
        async move {
            self.call("create_volume", &name).await?;
            self.with(|s| {
                s.volumes.entry(name.clone()).or_insert(ObservedVolume {
                    name,
                    owner: Some(owner),
                    cleanup,
                    created: Some(0),
                    size: None,
                });
            });
            Ok(())
        }
    }

    fn remove_volume(&self, name: &str) -> impl Future<Output = Result<(), EngineError>> + Send {
        let name = name.to_string();
        async move {
            self.call("remove_volume", &name).await?;
            self.with(|s| s.volumes.remove(&name));
            Ok(())
        }
    }

    fn ensure_network(
        &self,
        _instance: &str,
        want: &DesiredContainer,
    ) -> impl Future<Output = Result<(), EngineError>> + Send {
        let key = want.key.to_string();
        async move { self.call("ensure_network", &key).await }
    }

    fn create(
        &self,
        instance: &str,
        want: &DesiredContainer,
    ) -> impl Future<Output = Result<String, EngineError>> + Send {
        let (instance, want) = (instance.to_string(), want.clone());
        async move {
            self.call("create_container", &want.key.to_string()).await?;
            let name = want.key.container_name(&instance);
            self.with(|s| {
                if s.containers.values().any(|(_, o)| o.name == name) {
                    return Err(EngineError::Conflict {
                        operation: "POST /containers/create".into(),
                        message: format!("the name {name} is in use"),
                    });
                }
                s.next_id += 1;
                let id = format!("c{:04}", s.next_id);
                let o = Observed {
                    pool: (want.key.kind == crate::model::Kind::Pool)
                        .then(|| want.template.clone().unwrap_or_default()),
                    labels: [(
                        crate::model::labels::NAME.to_string(),
                        want.key.name.clone(),
                    )]
                    .into(),
                    stopped_outside: false,
                    address: None,
                    started_at: None,
                    id: id.clone(),
                    name,
                    key: Some(want.key.clone()),
                    spec_hash: Some(want.hash.clone()),
                    spec_label: Some(want.spec.label()),
                    source: Some(want.source.clone()),
                    image: want.spec.image.clone(),
                    state: RunState::Created,
                    health: None,
                    created: 1_700_000_000,
                    status: String::new(),
                    volumes: Vec::new(),
                };
                s.containers.insert(id.clone(), (instance, o));
                Ok(id)
            })
        }
    }

    fn start(&self, id: &str) -> impl Future<Output = Result<(), EngineError>> + Send {
        let id = id.to_string();
        async move {
            self.call("start_container", &id).await?;
            let id = self.with(|s| s.resolve(&id));
            let started = self.with(|s| {
                s.containers.get_mut(&id).map(|(_, o)| {
                    o.state = RunState::Running;
                    let checked = o.spec().is_some_and(|spec| spec.health.is_some());
                    o.health = checked.then_some(Health::Starting);
                    o.clone()
                })
            });
            if let Some(o) = started {
                self.emit(EventKind::Start, &o, None, None);
            }
            Ok(())
        }
    }

    fn stop(
        &self,
        id: &str,
        _grace_secs: u64,
    ) -> impl Future<Output = Result<(), EngineError>> + Send {
        let id = id.to_string();
        async move {
            self.call("stop_container", &id).await?;
            let id = self.with(|s| s.resolve(&id));
            let stopped = self.with(|s| {
                s.containers.get_mut(&id).and_then(|(_, o)| {
                    (o.state == RunState::Running).then(|| {
                        o.state = RunState::Exited { code: Some(143) };
                        o.clone()
                    })
                })
            });
            if let Some(o) = stopped {
                self.emit(EventKind::Die, &o, Some(143), None);
                self.emit(EventKind::Stop, &o, None, None);
            }
            Ok(())
        }
    }

    fn remove(&self, id: &str) -> impl Future<Output = Result<(), EngineError>> + Send {
        let id = id.to_string();
        async move {
            self.call("remove_container", &id).await?;
            let id = self.with(|s| s.resolve(&id));
            let removed = self.with(|s| s.containers.remove(&id));
            if let Some((_, o)) = removed {
                self.emit(EventKind::Destroy, &o, None, None);
            }
            Ok(())
        }
    }

    fn rename(&self, from: &str, to: &str) -> impl Future<Output = Result<(), EngineError>> + Send {
        let (from, to) = (from.to_string(), to.to_string());
        async move {
            self.call("rename_container", &from).await?;
            self.with(|s| {
                if s.containers.values().any(|(_, o)| o.name == to) {
                    return Err(EngineError::Conflict {
                        operation: "POST /containers/{id}/rename".into(),
                        message: format!("the name {to} is in use"),
                    });
                }
                let Some((instance, o)) = s.containers.values_mut().find(|(_, o)| o.name == from)
                else {
                    return Err(EngineError::NotFound {
                        operation: "POST /containers/{id}/rename".into(),
                        message: format!("no container named {from}"),
                    });
                };
                o.name = to.clone();
                o.key = crate::model::owner_of(instance, &from_label(o), &to);
                Ok(())
            })
        }
    }

    fn events(
        &self,
        instance: &str,
        _since: Option<String>,
        until: Option<String>,
    ) -> BoxStream<'static, Result<EngineEvent, EngineError>> {
        let _ = instance;
        if until.is_some() {
            return stream::empty().boxed(); // the fake keeps no history to replay
        }
        let away = self.with(|s| s.away);
        if away {
            return stream::once(async { Err(unreachable("GET /events")) }).boxed();
        }
        let rx = self.events.subscribe();
        stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(ev) => return Some((Ok(ev), rx)),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
        .boxed()
    }

    /// The loop never reads logs: an empty stream.
    fn logs(
        &self,
        _id: &str,
        _opts: &LogOptions,
    ) -> BoxStream<'static, Result<OutputChunk, EngineError>> {
        stream::empty().boxed()
    }

    /// The loop never runs commands in containers.
    async fn exec(&self, _id: &str, _opts: &ExecOptions) -> Result<ExecSession, EngineError> {
        Err(EngineError::Engine {
            operation: "POST /containers/{id}/exec".into(),
            status: 501,
            message: "the fake engine does not run commands".into(),
        })
    }

    async fn exec_exit_code(&self, _exec_id: &str) -> Result<Option<i64>, EngineError> {
        Ok(None)
    }

    async fn resize_exec(&self, _exec_id: &str, _w: u16, _h: u16) -> Result<(), EngineError> {
        Ok(())
    }

    fn runs_health_checks(&self) -> bool {
        !self.with(|s| s.podman_like)
    }

    fn tells_exits(&self) -> bool {
        !self.with(|s| s.podman_like)
    }

    async fn run_health_check(
        &self,
        id: &str,
        _timeout: Duration,
    ) -> Result<Option<Health>, EngineError> {
        self.call("run_health_check", id).await?;
        Ok(self.with(|s| s.containers.get(id).and_then(|(_, o)| o.health)))
    }

    async fn network_bytes(&self, id: &str) -> Result<Option<u64>, EngineError> {
        self.call("network_bytes", id).await?;
        Ok(self.with(|s| Some(s.traffic.get(id).copied().unwrap_or(0))))
    }
    async fn usage(&self, id: &str) -> Result<Option<crate::model::Sample>, EngineError> {
        self.call("usage", id).await?;
        Ok(self.with(|s| s.usage.get(id).copied()))
    }
}

/// The name label a fake container was made with.
fn from_label(o: &Observed) -> String {
    o.labels
        .get(crate::model::labels::NAME)
        .cloned()
        .unwrap_or_default()
}
