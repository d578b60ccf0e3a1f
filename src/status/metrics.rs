//! OpenMetrics for `berth run`, through prometheus-client (no global registry).

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabels {
    pub action: String,
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CauseLabels {
    pub cause: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClassLabels {
    pub class: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PhaseLabels {
    pub phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    pub operation: String,
}

/// Every metric berth exports. Cheap to clone: the metrics share their values.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub reconciles: Counter,
    pub reconcile_duration: Histogram,
    pub actions: Family<ActionLabels, Counter>,
    pub restarts: Family<CauseLabels, Counter>,
    pub errors: Family<ClassLabels, Counter>,
    pub objects: Family<PhaseLabels, Gauge>,
    pub engine_requests: Family<OperationLabels, Counter>,
    pub events: Counter,
    pub reconcile_cpu: Histogram,
    pub event_to_action: Histogram,
    /// Each object's readings and alerts (exported at each scrape).
    pub usage: super::resources::UsageMap,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("berth");
        let reconciles = Counter::default();
        let reconcile_duration = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        let actions = Family::<ActionLabels, Counter>::default();
        let restarts = Family::<CauseLabels, Counter>::default();
        let errors = Family::<ClassLabels, Counter>::default();
        let objects = Family::<PhaseLabels, Gauge>::default();
        let engine_requests = Family::<OperationLabels, Counter>::default();
        let events = Counter::default();
        let reconcile_cpu = Histogram::new(exponential_buckets(0.0001, 2.0, 16));
        let event_to_action = Histogram::new(exponential_buckets(0.0001, 2.0, 16));
        registry.register("reconciles", "Reconcile passes run", reconciles.clone());
        registry.register(
            "reconcile_duration_seconds",
            "Time to list, plan and dispatch one reconcile pass",
            reconcile_duration.clone(),
        );
        registry.register("actions", "Actions by kind and result", actions.clone());
        registry.register(
            "restarts",
            "Container restarts made by berth, by cause",
            restarts.clone(),
        );
        registry.register(
            "errors",
            "Errors by failure class (manifest, policy, infrastructure, workload)",
            errors.clone(),
        );
        registry.register("objects", "Objects by phase", objects.clone());
        registry.register(
            "engine_requests",
            "Engine API calls made by the daemon, by operation (list_containers, start_container, ...); the event stream counts once per connection",
            engine_requests.clone(),
        );
        registry.register("engine_events", "Engine events received", events.clone());
        registry.register(
            "reconcile_cpu_seconds",
            "Process CPU time (user + system) of one reconcile round: manifest re-read when due, listing, planning, dispatch",
            reconcile_cpu.clone(),
        );
        registry.register(
            "event_to_action_seconds",
            "From an engine event (die, unhealthy) received to the first engine call of the action it led to, the object's configured restart backoff excluded",
            event_to_action.clone(),
        );
        let usage = super::resources::UsageMap::default();
        registry.register_collector(Box::new(super::resources::ResourceCollector(usage.clone())));
        Metrics {
            registry,
            usage,
            reconciles,
            reconcile_duration,
            actions,
            restarts,
            errors,
            objects,
            engine_requests,
            events,
            reconcile_cpu,
            event_to_action,
        }
    }

    pub fn action(&self, action: &str, result: &str) {
        self.actions
            .get_or_create(&ActionLabels {
                action: action.into(),
                result: result.into(),
            })
            .inc();
    }

    pub fn error(&self, class: &str) {
        self.errors
            .get_or_create(&ClassLabels {
                class: class.into(),
            })
            .inc();
    }

    pub fn request(&self, operation: &str) {
        self.engine_requests
            .get_or_create(&OperationLabels {
                operation: operation.into(),
            })
            .inc();
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

/// CPU time (user + system) this process has used so far, all threads.
pub fn process_cpu() -> std::time::Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    std::time::Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}
