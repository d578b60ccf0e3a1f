//! Everything a run measured, raw (seconds unless a name says otherwise). Written to the JSON
//! file, read by `bench/plot.py`, rendered by `report`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::system::SystemInfo;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Results {
    pub quick: bool,
    pub system: Option<SystemInfo>,
    pub settings: Settings,
    /// How the floor's and Compose's containers differ from berth's (empty: none).
    pub fairness: Vec<String>,
    pub cold: Vec<Cold>,
    pub noop: Option<Versus>,
    pub recreate: Option<Versus>,
    pub resync: Vec<Resync>,
    pub rss: Vec<Rss>,
    pub idle: Option<Idle>,
    pub reaction: Option<Reaction>,
    /// The 1-minute load average when each scenario started.
    pub loads: Vec<Load>,
    pub errors: Vec<ScenarioError>,
    /// Scenarios measured again later (`--merge`): their rows are from that run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reruns: Vec<Rerun>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rerun {
    pub scenarios: Vec<String>,
    pub system: SystemInfo,
}

impl Results {
    /// `later`'s rows of `scenarios` in place of these, with a note of the run they come
    /// from. The settings stay this run's but for those scenarios' own.
    pub fn merge(&mut self, later: Results, scenarios: &[String]) {
        let has = |s: &str| scenarios.iter().any(|x| x == s);
        if has("cold") {
            self.cold = later.cold;
            self.settings.cold_sizes = later.settings.cold_sizes;
        }
        if has("noop") {
            self.noop = later.noop;
            self.recreate = later.recreate;
        }
        if has("reaction") {
            self.reaction = later.reaction;
        }
        if has("footprint") {
            self.resync = later.resync;
            self.rss = later.rss;
            self.idle = later.idle;
            self.settings.footprint_sizes = later.settings.footprint_sizes;
        }
        let redone = |name: &str| {
            scenarios
                .iter()
                .any(|s| name == s || name.starts_with(&format!("{s}-")))
        };
        self.loads.retain(|l| !redone(&l.scenario));
        self.loads.extend(later.loads);
        self.errors.retain(|e| !redone(&e.scenario));
        self.errors.extend(later.errors);
        if let Some(system) = later.system {
            self.reruns.push(Rerun {
                scenarios: scenarios.to_vec(),
                system,
            });
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Settings {
    pub repetitions: usize,
    pub trials: usize,
    pub concurrency: usize,
    pub cold_sizes: Vec<usize>,
    pub noop_size: usize,
    pub footprint_sizes: Vec<usize>,
    pub idle_manifests: usize,
    pub idle_window_s: u64,
    pub idle_windows: usize,
    pub resync_period: String,
    pub resync_rounds_per_start: usize,
    pub reaction_agents: usize,
}

/// Cold converge of `n` agents, one sample per repetition and tool.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Cold {
    pub n: usize,
    pub berth_s: Vec<f64>,
    pub floor_s: Vec<f64>,
    pub compose_s: Vec<f64>,
}

/// berth against Compose on `n` agents.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Versus {
    pub n: usize,
    pub berth_s: Vec<f64>,
    pub compose_s: Vec<f64>,
}

/// Quiet resync rounds of the daemon over `manifests` manifests.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Resync {
    pub manifests: usize,
    pub rounds: Vec<Round>,
}

/// The difference between two scrapes taken in the quiet gaps around one round.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Round {
    /// Reconcile rounds between the scrapes (1 expected).
    pub reconciles: f64,
    /// `berth_engine_requests_total` by operation.
    pub requests: BTreeMap<String, f64>,
    /// `berth_actions_total`, all labels.
    pub actions: f64,
    /// `berth_reconcile_cpu_seconds`: sum delta over count delta, when exported.
    pub cpu_s: Option<f64>,
    /// The daemon's whole CPU time between the scrapes (/proc; one /metrics scrape included).
    pub process_cpu_s: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Rss {
    pub manifests: usize,
    pub kib: Vec<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Idle {
    pub manifests: usize,
    pub window_s: u64,
    pub resync: String,
    pub cpu_s: Vec<f64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Reaction {
    pub agents: usize,
    pub debounce: String,
    /// Manifest renamed into the directory → the engine's `start` event.
    pub file_to_running_s: Vec<f64>,
    pub kill: Vec<KillTrial>,
    /// The same kill on a floor container, restarted by a bare bollard loop on its `die`
    /// event: `die` → `start`, the engine's own reaction time.
    pub floor_die_to_start_s: Vec<f64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KillTrial {
    /// Kill call sent → `die` event.
    pub kill_to_die_s: f64,
    /// `die` event → `start` event: the reaction.
    pub die_to_start_s: f64,
    /// `berth_event_to_action_seconds` for this trial, when exported.
    pub berth_part_s: Option<f64>,
    /// The histogram's count delta (1 expected).
    pub metric_count: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Load {
    pub scenario: String,
    pub load1: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioError {
    pub scenario: String,
    pub error: String,
}

/// Operations that change something on the engine (everything not a read).
pub fn is_write(operation: &str) -> bool {
    !(operation.starts_with("list")
        || operation.starts_with("inspect")
        || matches!(operation, "df" | "version" | "ping" | "info" | "events"))
}
