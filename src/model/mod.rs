//! The vocabulary every stage shares: object keys, the normalized container spec, the
//! desired set and what the engine reports. No I/O and no engine types live here.

mod backoff;
mod desired;
mod exposure;
mod history;
mod host;
mod key;
pub mod labels;
mod network;
mod observed;
mod operator;
mod phase;
mod pool;
mod privileges;
mod quantity;
mod runtime;
mod selector;
mod spec;
mod text;
mod usage;
mod verb;
mod volume;

pub use backoff::Backoff;
pub use desired::{Declared, DesiredContainer, DesiredSet, RestartPolicy, RestartSpec};
pub use exposure::{traefik_labels, Exposure, IdleAction, IdleRule, Route, RouteId, Upstream};
pub use history::{Actor, Happening, History, Record, RecordError, HISTORY_CAP};
pub use host::HostFacts;
pub use key::{Kind, ObjectKey};
pub use network::NetworkMode;
pub use observed::{by_key, Health, Observed, RunState};
pub use operator::{Intent, Overrides, OverridesFile, RestartRequest, RESTART_REQUEST_TTL};
pub use phase::{Phase, DEFAULT_SETTLE};
pub use pool::{member_key, owner_of, PoolFit};
pub use privileges::{Device, HostNamespace, Privileges};
pub use quantity::{format_bytes, parse_quantity, QuantityError};
pub use runtime::{
    time_from_unix_ms, unix_ms, FailureClass, LastError, ObjectRuntime, PortAllocations, Runtime,
};
/// A small valid spec for tests across modules.
#[cfg(test)]
pub(crate) use spec::tests::sample as sample_spec;

/// Restart settings with one-second delays and windows, for tests across modules.
#[cfg(test)]
pub(crate) fn sample_restart() -> RestartSpec {
    let s = std::time::Duration::from_secs(1);
    RestartSpec {
        policy: RestartPolicy::Always,
        backoff_initial: s,
        backoff_max: s,
        reset_after: s,
        on_unhealthy_restart: true,
        unhealthy_max_restarts: 1,
        unhealthy_window: s,
    }
}
pub use selector::{Selector, SelectorError};
pub use spec::{HealthCheck, PortMapping, Protocol, Spec};
pub use text::{quoted, shorten};
pub use usage::{
    Alert, AlertName, AlertRules, Point, RestartRule, Sample, Series, Threshold, HISTORY_POINTS,
};
pub use verb::{Cause, Verb};
pub use volume::{
    CleanupRule, HostBinding, ObservedVolume, VolumeBinding, VolumeClaim, VolumeMemory,
    VolumeOwner, VolumeSource,
};
