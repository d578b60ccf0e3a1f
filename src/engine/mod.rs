//! The engine adapter: the only module that knows bollard. It speaks the project's own
//! types ([`crate::model`]) and maps every engine answer to an [`EngineError`].

mod certificate;
mod client;
mod containers;
mod convert;
mod doctor;
mod error;
mod events;
mod exec;
mod libpod;
mod logs;
mod network;
mod output;
mod portainer;
mod privileges;
pub mod proxy;
mod stats;
mod tls;
mod volumes;

use std::collections::HashMap;
use std::future::Future;

use futures_util::stream::BoxStream;

pub use certificate::{PeerCertificate, Verification};
pub use client::{CallObserver, Client};
pub use doctor::{EngineInfo, EngineKind, Need, Probe, Verdict};
pub use error::EngineError;
pub use events::{EngineEvent, EventKind};
pub use exec::{ExecOptions, ExecSession};
pub use logs::LogOptions;
pub use network::network_name;
pub use output::{OutputChunk, OutputStream};
pub use portainer::{Portainer, Target};
pub use tls::TlsVerify;

use crate::model::{
    CleanupRule, DesiredContainer, Health, HostFacts, Observed, ObservedVolume, VolumeOwner,
};

/// The engine operations berth's loop, executor and one-shot commands use. [`Client`] is
/// the bollard implementation; the daemon's unit tests run against an in-memory one.
pub trait Engine: Clone + Send + Sync + 'static {
    /// Where the engine answers, for messages.
    fn endpoint(&self) -> &str;
    /// The API version both sides agreed on.
    fn api_version(&self) -> &str;
    /// What the engine says about its host, asked once per connection.
    fn host_facts(&self) -> impl Future<Output = HostFacts> + Send;
    /// Every container (running or not) that carries `instance`'s ownership label. One call.
    fn list(
        &self,
        instance: &str,
    ) -> impl Future<Output = Result<Vec<Observed>, EngineError>> + Send;
    /// Every volume that carries `instance`'s ownership label. One call.
    fn list_volumes(
        &self,
        instance: &str,
    ) -> impl Future<Output = Result<Vec<ObservedVolume>, EngineError>> + Send;
    /// Sizes of volumes, where the engine reports them.
    fn volume_sizes(
        &self,
    ) -> impl Future<Output = Result<HashMap<String, u64>, EngineError>> + Send;
    /// Creates a volume with berth's labels for `owner`; an existing one is left as it is.
    fn create_volume(
        &self,
        instance: &str,
        name: &str,
        owner: &VolumeOwner,
        cleanup: Option<&CleanupRule>,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;
    /// Removes a volume, never forced; one already gone is success.
    fn remove_volume(&self, name: &str) -> impl Future<Output = Result<(), EngineError>> + Send;
    /// Makes sure `want`'s own network exists.
    fn ensure_network(
        &self,
        instance: &str,
        want: &DesiredContainer,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;
    /// Creates the container for `want` under its predictable name; returns its id.
    fn create(
        &self,
        instance: &str,
        want: &DesiredContainer,
    ) -> impl Future<Output = Result<String, EngineError>> + Send;
    /// Starts a container; already running is success.
    fn start(&self, id: &str) -> impl Future<Output = Result<(), EngineError>> + Send;
    /// Stops a container with `grace_secs` between SIGTERM and SIGKILL; already stopped or
    /// gone is success.
    fn stop(
        &self,
        id: &str,
        grace_secs: u64,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;
    /// Removes a container (forcing a running one); already gone is success.
    fn remove(&self, id: &str) -> impl Future<Output = Result<(), EngineError>> + Send;
    /// Renames the container named `from` to `to`, atomically: how a Session claims a
    /// pool member. `NotFound` when no container is named `from` (claimed already, or gone),
    /// `Conflict` when `to` is taken.
    fn rename(&self, from: &str, to: &str) -> impl Future<Output = Result<(), EngineError>> + Send;
    /// Container events for `instance` from `since` on (Unix seconds with an optional
    /// fraction); the stream ends when the connection drops, or after the events up to
    /// `until` when that is given (a bounded replay: what happened between two instants).
    fn events(
        &self,
        instance: &str,
        since: Option<String>,
        until: Option<String>,
    ) -> BoxStream<'static, Result<EngineEvent, EngineError>>;
    /// A container's logs (stdout and stderr, demultiplexed); an error ends the stream.
    fn logs(
        &self,
        id: &str,
        opts: &LogOptions,
    ) -> BoxStream<'static, Result<OutputChunk, EngineError>>;
    /// Runs a command in a running container, attached: its output and (optionally) stdin.
    fn exec(
        &self,
        id: &str,
        opts: &ExecOptions,
    ) -> impl Future<Output = Result<ExecSession, EngineError>> + Send;
    /// The exit code of an exec whose output ended (`None` when the engine does not say).
    fn exec_exit_code(
        &self,
        exec_id: &str,
    ) -> impl Future<Output = Result<Option<i64>, EngineError>> + Send;
    /// Tells an exec's terminal its size.
    fn resize_exec(
        &self,
        exec_id: &str,
        width: u16,
        height: u16,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;
    /// Whether the engine runs containers' health checks itself (Docker does; Podman under
    /// `podman system service` without systemd does not, and berth drives them).
    fn runs_health_checks(&self) -> bool;
    /// Whether the engine tells every exit with a `die` event before a listing shows it
    /// (Docker does; Podman 4.3 not always, and berth lists more often while containers run).
    fn tells_exits(&self) -> bool;
    /// Runs a container's health check once, where the engine does not run them itself;
    /// its health afterwards (`None` when there is none to report). `timeout` is the
    /// check's own.
    fn run_health_check(
        &self,
        id: &str,
        timeout: std::time::Duration,
    ) -> impl Future<Output = Result<Option<Health>, EngineError>> + Send;
    /// Bytes received plus sent by a running container on its networks since it started
    /// (`None`: the engine reports no network). For idle detection.
    fn network_bytes(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<u64>, EngineError>> + Send;
    /// One reading of a running container's CPU, memory, network and pids counters.
    fn usage(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<crate::model::Sample>, EngineError>> + Send;
}

impl Engine for Client {
    fn endpoint(&self) -> &str {
        Client::endpoint(self)
    }
    fn api_version(&self) -> &str {
        Client::api_version(self)
    }
    fn host_facts(&self) -> impl Future<Output = HostFacts> + Send {
        self.facts()
    }
    fn list(
        &self,
        instance: &str,
    ) -> impl Future<Output = Result<Vec<Observed>, EngineError>> + Send {
        self.containers(instance)
    }
    fn list_volumes(
        &self,
        instance: &str,
    ) -> impl Future<Output = Result<Vec<ObservedVolume>, EngineError>> + Send {
        self.volumes(instance)
    }
    fn volume_sizes(
        &self,
    ) -> impl Future<Output = Result<HashMap<String, u64>, EngineError>> + Send {
        self.sizes()
    }
    fn create_volume(
        &self,
        instance: &str,
        name: &str,
        owner: &VolumeOwner,
        cleanup: Option<&CleanupRule>,
    ) -> impl Future<Output = Result<(), EngineError>> + Send {
        self.new_volume(instance, name, owner, cleanup)
    }
    fn remove_volume(&self, name: &str) -> impl Future<Output = Result<(), EngineError>> + Send {
        self.drop_volume(name)
    }
    fn ensure_network(
        &self,
        instance: &str,
        want: &DesiredContainer,
    ) -> impl Future<Output = Result<(), EngineError>> + Send {
        self.make_network(instance, want)
    }
    fn create(
        &self,
        instance: &str,
        want: &DesiredContainer,
    ) -> impl Future<Output = Result<String, EngineError>> + Send {
        self.create_container(instance, want)
    }
    fn start(&self, id: &str) -> impl Future<Output = Result<(), EngineError>> + Send {
        self.start_container(id)
    }
    fn stop(
        &self,
        id: &str,
        grace_secs: u64,
    ) -> impl Future<Output = Result<(), EngineError>> + Send {
        self.stop_container(id, grace_secs)
    }
    fn remove(&self, id: &str) -> impl Future<Output = Result<(), EngineError>> + Send {
        self.remove_container(id)
    }
    fn rename(&self, from: &str, to: &str) -> impl Future<Output = Result<(), EngineError>> + Send {
        self.rename_container(from, to)
    }
    fn events(
        &self,
        instance: &str,
        since: Option<String>,
        until: Option<String>,
    ) -> BoxStream<'static, Result<EngineEvent, EngineError>> {
        Box::pin(self.event_stream(instance, since, until))
    }
    fn logs(
        &self,
        id: &str,
        opts: &LogOptions,
    ) -> BoxStream<'static, Result<OutputChunk, EngineError>> {
        Box::pin(self.log_stream(id, opts))
    }
    fn exec(
        &self,
        id: &str,
        opts: &ExecOptions,
    ) -> impl Future<Output = Result<ExecSession, EngineError>> + Send {
        self.start_exec(id, opts)
    }
    fn exec_exit_code(
        &self,
        exec_id: &str,
    ) -> impl Future<Output = Result<Option<i64>, EngineError>> + Send {
        self.exec_code(exec_id)
    }
    fn resize_exec(
        &self,
        exec_id: &str,
        width: u16,
        height: u16,
    ) -> impl Future<Output = Result<(), EngineError>> + Send {
        self.exec_resize(exec_id, width, height)
    }
    fn runs_health_checks(&self) -> bool {
        self.info().kind != EngineKind::Podman
    }
    fn tells_exits(&self) -> bool {
        self.info().kind != EngineKind::Podman
    }
    fn run_health_check(
        &self,
        id: &str,
        timeout: std::time::Duration,
    ) -> impl Future<Output = Result<Option<Health>, EngineError>> + Send {
        self.run_podman_health_check(id, timeout)
    }
    fn network_bytes(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<u64>, EngineError>> + Send {
        self.network_counter(id)
    }
    fn usage(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<crate::model::Sample>, EngineError>> + Send {
        self.sample(id)
    }
}
