//! The plan's vocabulary: actions (what to do to which object, each variant carrying what
//! it needs), their causes, and what the planner decided to wait for or leave alone.

use std::fmt;
use std::time::SystemTime;

use serde::Serialize;

pub use crate::model::{Cause, Verb};
use crate::model::{CleanupRule, DesiredContainer, ObjectKey, Observed, VolumeOwner};

/// The existing container an action works on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub id: String,
    pub name: String,
}

/// One step of a plan: what to do to which object, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub key: ObjectKey,
    pub cause: Cause,
    pub reason: String,
    pub op: Op,
}

/// What an action does, each with what it needs: the container it acts on, how long a stop
/// may take, the object as declared (its spec, and the restart settings that the result's
/// bookkeeping uses).
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Create (and start, unless declared stopped) a missing container.
    Create { desired: Box<DesiredContainer> },
    /// Rename a ready pool member to the Session's container name: the Session's container
    /// from then on (the executor creates one cold when the member is gone).
    Claim {
        member: Target,
        /// The member's own key: no other action may touch it while it is claimed.
        from: ObjectKey,
        desired: Box<DesiredContainer>,
    },
    /// Replace a container whose spec changed (or that the engine reports dead).
    Recreate {
        target: Target,
        grace_secs: u64,
        desired: Box<DesiredContainer>,
    },
    /// Start an existing, stopped container.
    Start {
        target: Target,
        desired: Box<DesiredContainer>,
    },
    /// Stop a container whose object is declared stopped.
    Stop {
        target: Target,
        grace_secs: u64,
        desired: Box<DesiredContainer>,
    },
    /// Stop and start a running container (unhealthy).
    Restart {
        target: Target,
        grace_secs: u64,
        desired: Box<DesiredContainer>,
    },
    /// Stop and remove a container nobody wants.
    Remove { target: Target, grace_secs: u64 },
    /// Create a volume with berth's labels.
    CreateVolume {
        owner: VolumeOwner,
        cleanup: Option<CleanupRule>,
    },
    /// Remove a volume (never forced).
    RemoveVolume { owner: Option<VolumeOwner> },
}

impl Action {
    pub fn verb(&self) -> Verb {
        match self.op {
            Op::Create { .. } | Op::CreateVolume { .. } => Verb::Create,
            Op::Claim { .. } => Verb::Claim,
            Op::Recreate { .. } => Verb::Recreate,
            Op::Start { .. } => Verb::Start,
            Op::Stop { .. } => Verb::Stop,
            Op::Restart { .. } => Verb::Restart,
            Op::Remove { .. } | Op::RemoveVolume { .. } => Verb::Remove,
        }
    }

    /// The container acted on (all but create and volume actions).
    pub fn target(&self) -> Option<&Target> {
        match &self.op {
            Op::Recreate { target, .. }
            | Op::Start { target, .. }
            | Op::Stop { target, .. }
            | Op::Restart { target, .. }
            | Op::Remove { target, .. } => Some(target),
            Op::Create { .. }
            | Op::Claim { .. }
            | Op::CreateVolume { .. }
            | Op::RemoveVolume { .. } => None,
        }
    }

    /// The object as declared, for actions on a declared object.
    pub fn desired(&self) -> Option<&DesiredContainer> {
        match &self.op {
            Op::Create { desired }
            | Op::Claim { desired, .. }
            | Op::Recreate { desired, .. }
            | Op::Start { desired, .. }
            | Op::Stop { desired, .. }
            | Op::Restart { desired, .. } => Some(desired),
            Op::Remove { .. } | Op::CreateVolume { .. } | Op::RemoveVolume { .. } => None,
        }
    }

    /// The other object an action holds while it runs: the pool member a claim takes.
    pub fn also_holds(&self) -> Option<&ObjectKey> {
        match &self.op {
            Op::Claim { from, .. } => Some(from),
            _ => None,
        }
    }

    /// The volume's owner, for volume actions.
    pub fn volume_owner(&self) -> Option<&VolumeOwner> {
        match &self.op {
            Op::CreateVolume { owner, .. } => Some(owner),
            Op::RemoveVolume { owner } => owner.as_ref(),
            _ => None,
        }
    }
}

/// `{key, verb, cause, reason, target}`: what `berth diff -o json` prints.
impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let target = self.target();
        let mut st = s.serialize_struct("Action", 4 + usize::from(target.is_some()))?;
        st.serialize_field("key", &self.key)?;
        st.serialize_field("verb", &self.verb())?;
        st.serialize_field("cause", &self.cause)?;
        st.serialize_field("reason", &self.reason)?;
        if let Some(t) = target {
            st.serialize_field("target", t)?;
        }
        st.end()
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.verb().as_str(), self.reason)
    }
}

/// Something the planner decided not to do, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// The object, or the container name when its labels name no object.
    pub subject: String,
    pub message: String,
}

/// Why an object is waiting instead of being acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum WaitKind {
    /// Crash-loop backoff before the next start.
    Backoff,
    /// Unhealthy, restart delayed by the backoff.
    UnhealthyBackoff,
    /// Unhealthy, restart limit for the window reached: report only.
    RestartLimit,
    /// A session's TTL runs out at `until`.
    Ttl,
    /// A previous action failed; retry at `until`.
    Retry,
    /// An orphaned volume is kept until `until` (RetainFor).
    Retention,
}

/// An object the planner must look at again at `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Wait {
    pub key: ObjectKey,
    pub kind: WaitKind,
    #[serde(serialize_with = "ser_time")]
    pub until: SystemTime,
    pub reason: String,
}

fn ser_time<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(crate::model::unix_ms(t))
}

/// The grace period a container was created with (the default when its label is unreadable).
pub(super) fn grace_of(o: &Observed) -> u64 {
    o.spec().map_or(10, |s| s.stop_grace_period_secs)
}

pub(super) fn remove(key: &ObjectKey, o: &Observed, cause: Cause, reason: String) -> Action {
    Action {
        key: key.clone(),
        cause,
        reason,
        op: Op::Remove {
            target: target(o),
            grace_secs: grace_of(o),
        },
    }
}

pub(super) fn target(o: &Observed) -> Target {
    Target {
        id: o.id.clone(),
        name: o.name.clone(),
    }
}
