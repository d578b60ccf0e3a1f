use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Serialize;

use super::{ObjectKey, Spec, VolumeClaim};

impl RestartPolicy {
    /// Whether a container that exited with `code` is started again.
    pub fn restarts(self, code: Option<i64>) -> bool {
        match self {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => code != Some(0),
            RestartPolicy::Never => false,
        }
    }
}

/// What to do when a container stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub enum RestartPolicy {
    /// Start it again whatever the exit code (the default for Agents).
    #[default]
    Always,
    /// Start it again only after a non-zero exit.
    OnFailure,
    /// Leave it stopped.
    Never,
}

/// Berth-level restart behaviour; not part of the spec hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestartSpec {
    pub policy: RestartPolicy,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// A stable run this long resets the backoff to `backoff_initial`.
    pub reset_after: Duration,
    /// Restart the container when its health check reports it unhealthy.
    pub on_unhealthy_restart: bool,
    /// At most this many unhealthy restarts within `unhealthy_window`; then berth only
    /// reports the container as unhealthy.
    pub unhealthy_max_restarts: u32,
    pub unhealthy_window: Duration,
}

impl RestartSpec {
    /// The crash-loop backoff: `backoff_initial` doubling to `backoff_max`.
    pub fn backoff(&self) -> super::Backoff {
        super::Backoff::new(self.backoff_initial, self.backoff_max)
    }
}

/// One container berth must keep, fully resolved (templates merged, defaults applied).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DesiredContainer {
    pub key: ObjectKey,
    pub spec: Spec,
    /// `spec.hash()`, computed once.
    pub hash: String,
    pub restart: RestartSpec,
    /// Sessions only: lifetime counted from the first start.
    pub ttl: Option<Duration>,
    /// Agents only: `state: Stopped` keeps the container but stopped.
    pub stopped: bool,
    /// What the operator asked for (`berth stop`, `berth restart`); set by the loop and
    /// `apply` from the overrides, never by the manifests.
    pub operator: super::Intent,
    /// The volumes it mounts, with their cleanup policies.
    pub volumes: Vec<VolumeClaim>,
    /// Canonical path of the manifest file (goes into the source label).
    pub source: String,
    /// Where its HTTP port appears in the router (`expose`).
    pub expose: Option<super::Exposure>,
    /// When it counts as idle (`idle`).
    pub idle: Option<super::IdleRule>,
    /// The template it names, if any (for the Policy's per-template quotas).
    pub template: Option<String>,
    /// When its resource use or restarts are reported as alerts.
    pub alerts: super::AlertRules,
    /// Sessions: whether it may claim a warm container of its Template's pool.
    pub pool: super::PoolFit,
    /// Sessions of a template: the hash its spec has with the template's own labels in place
    /// of its own, which a container it claimed from a pool carries while the Session's
    /// spec is what it claimed (labels cannot be put on a running container).
    pub claimed_hash: Option<String>,
}

impl DesiredContainer {
    /// Whether its container must not run: declared `Stopped`, or stopped by `berth stop`.
    pub fn keep_stopped(&self) -> bool {
        self.stopped || self.operator.stopped || self.operator.idle
    }

    pub fn new(
        key: ObjectKey,
        spec: Spec,
        restart: RestartSpec,
        ttl: Option<Duration>,
        source: String,
    ) -> Self {
        let hash = spec.hash();
        DesiredContainer {
            key,
            spec,
            hash,
            restart,
            ttl,
            stopped: false,
            operator: Default::default(),
            volumes: Vec::new(),
            source,
            expose: None,
            idle: None,
            template: None,
            alerts: Default::default(),
            pool: Default::default(),
            claimed_hash: None,
        }
    }

    /// Whether the container `o` runs this object's current spec: its spec hash, or, on a
    /// container a Session claimed from a pool, [`DesiredContainer::claimed_hash`].
    pub fn is_current(&self, o: &super::Observed) -> bool {
        let hash = o.spec_hash.as_deref();
        hash == Some(self.hash.as_str())
            || (o.pool.is_some() && hash.is_some() && hash == self.claimed_hash.as_deref())
    }
}

/// Everything the manifests ask for, plus what must not be touched because its manifest is
/// in doubt (no prune on doubt).
#[derive(Debug, Clone, Default)]
pub struct DesiredSet {
    pub objects: BTreeMap<ObjectKey, DesiredContainer>,
    /// Objects named by a document that failed to load: keep what runs for them as it is.
    pub held_keys: BTreeSet<ObjectKey>,
    /// Canonical paths of files (or directories) that failed to load: keep every container
    /// they declared.
    pub held_sources: BTreeSet<String>,
    /// A path the user named could not be read: nothing may be removed, whatever the flags.
    pub incomplete: bool,
    /// Sessions held because the Policy's quota is full, with the reason (they are in
    /// `held_keys` too: nothing is created for them, nothing of theirs removed).
    pub over_quota: BTreeMap<ObjectKey, String>,
}

impl DesiredSet {
    /// Whether an observed container for `key` declared in `source` must be left alone:
    /// its key is held, or its source file is (or lies under) a held path.
    pub fn is_held(&self, key: Option<&ObjectKey>, source: Option<&str>) -> bool {
        key.is_some_and(|k| self.held_keys.contains(k))
            || source.is_some_and(|s| {
                let s = std::path::Path::new(s);
                self.held_sources.iter().any(|h| s.starts_with(h))
            })
    }

    /// The declared object whose current spec the container `o` runs (`None` for an
    /// undeclared object or an outdated container).
    pub fn current_for(&self, o: &super::Observed) -> Option<&DesiredContainer> {
        o.key
            .as_ref()
            .and_then(|k| self.objects.get(k))
            .filter(|w| w.is_current(o))
    }

    /// True when nothing at all was declared and nothing is in doubt.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
            && self.held_keys.is_empty()
            && self.held_sources.is_empty()
            && !self.incomplete
    }
}

/// What the manifests last declared for an object, as the state file remembers it, so that
/// `berth get` and `describe` can show objects that have no container and compare the
/// declared with what runs without reading the manifests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Declared {
    pub image: String,
    pub spec_hash: String,
    /// `state: Stopped`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stopped: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The manifest file.
    pub source: String,
    /// Sessions: the TTL, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
    /// Where it is exposed (`expose`): `/s/name/` or `http://host/path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Sessions of a pooled template: whether it claims from the pool, or why not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// See [`DesiredContainer::claimed_hash`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_hash: Option<String>,
}

impl From<&DesiredContainer> for Declared {
    fn from(d: &DesiredContainer) -> Self {
        Declared {
            image: d.spec.image.clone(),
            spec_hash: d.hash.clone(),
            stopped: d.stopped,
            labels: d.spec.labels.clone(),
            source: d.source.clone(),
            ttl_ms: ttl_ms(d),
            url: d.expose.as_ref().map(super::Exposure::url),
            pool: d.pool.describe(),
            claimed_hash: d.claimed_hash.clone(),
        }
    }
}

fn ttl_ms(d: &DesiredContainer) -> Option<u64> {
    d.ttl
        .map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX))
}

impl Declared {
    /// Whether `d` declares what this says, without building it again (the loop checks
    /// every object after every pass; a manifest seldom changes between two).
    pub fn matches(&self, d: &DesiredContainer) -> bool {
        // Every field, so a new one cannot be forgotten here.
        let Declared {
            image,
            spec_hash,
            stopped,
            labels,
            source,
            ttl_ms: ttl,
            url,
            pool,
            claimed_hash,
        } = self;
        *image == d.spec.image
            && *spec_hash == d.hash
            && *stopped == d.stopped
            && *labels == d.spec.labels
            && *source == d.source
            && *ttl == ttl_ms(d)
            && *url == d.expose.as_ref().map(super::Exposure::url)
            && *pool == d.pool.describe()
            && *claimed_hash == d.claimed_hash
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::Kind;

    #[test]
    fn a_declared_matches_what_it_was_built_from_and_nothing_else() {
        let d = DesiredContainer::new(
            ObjectKey::new(Kind::Session, "s"),
            crate::model::sample_spec(),
            crate::model::sample_restart(),
            Some(Duration::from_secs(60)),
            "/m/s.yaml".into(),
        );
        let declared = Declared::from(&d);
        assert!(declared.matches(&d));
        let mut stopped = d.clone();
        stopped.stopped = true;
        assert!(!declared.matches(&stopped));
        let mut moved = d.clone();
        moved.source = "/m/t.yaml".into();
        assert!(!declared.matches(&moved));
        let mut longer = d.clone();
        longer.ttl = Some(Duration::from_secs(61));
        assert!(!declared.matches(&longer));
        let mut relabelled = d;
        relabelled.spec.labels.insert("user".into(), "u2".into());
        assert!(!declared.matches(&relabelled));
    }
}
