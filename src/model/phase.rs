//! The phase of an object as a person reads it: one enum for `/status`, the metrics, the
//! state file, `berth get` and `apply --wait`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{Health, RunState};

/// The state of an object as a person reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Phase {
    /// Declared; no container yet (being created).
    Pending,
    /// Running, health check not yet passed.
    Starting,
    Running,
    /// Running, health check failing.
    Unhealthy,
    /// Exited; waiting for the backoff before the next start.
    CrashLoopBackOff,
    /// Declared `Stopped`, or exited cleanly with a policy that does not restart it.
    Stopped,
    /// Stopped (or removed) by berth for having no traffic; a request to its route wakes it.
    Idle,
    /// A session past its TTL.
    Expired,
    /// Exited with an error and not restarted, or an action on it keeps failing.
    Failed,
    /// Its manifest has errors: whatever runs is left as it is.
    Invalid,
    /// A Session the Policy's quota has no room for yet: nothing is created for it.
    OverQuota,
    /// No longer declared; being removed.
    Terminating,
    /// No longer declared, but kept: the desired set is empty (without `--allow-empty`) or
    /// a manifest path could not be read.
    Orphaned,
}

impl Phase {
    pub const ALL: [Phase; 13] = [
        Phase::Pending,
        Phase::Starting,
        Phase::Running,
        Phase::Unhealthy,
        Phase::CrashLoopBackOff,
        Phase::Stopped,
        Phase::Idle,
        Phase::Expired,
        Phase::Failed,
        Phase::Invalid,
        Phase::OverQuota,
        Phase::Terminating,
        Phase::Orphaned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Starting => "Starting",
            Phase::Running => "Running",
            Phase::Unhealthy => "Unhealthy",
            Phase::CrashLoopBackOff => "CrashLoopBackOff",
            Phase::Stopped => "Stopped",
            Phase::Idle => "Idle",
            Phase::Expired => "Expired",
            Phase::Failed => "Failed",
            Phase::Invalid => "Invalid",
            Phase::OverQuota => "OverQuota",
            Phase::Terminating => "Terminating",
            Phase::Orphaned => "Orphaned",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Phase {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Phase::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("unknown phase {s:?}"))
    }
}

impl Phase {
    /// What the engine alone shows of a container (no manifest, no memory): health folded
    /// in, an exit judged by its code.
    pub fn of_container(state: RunState, health: Option<Health>) -> Phase {
        match (state, health) {
            (RunState::Running, Some(Health::Starting)) => Phase::Starting,
            (RunState::Running, Some(Health::Unhealthy)) => Phase::Unhealthy,
            (RunState::Running | RunState::Paused | RunState::Restarting, _) => Phase::Running,
            (RunState::Created, _) => Phase::Pending,
            (RunState::Removing, _) => Phase::Terminating,
            (RunState::Exited { code: Some(0) }, _) => Phase::Stopped,
            (RunState::Exited { .. } | RunState::Dead, _) => Phase::Failed,
        }
    }

    /// Whether an object in this phase is up as declared (running, and healthy where it is
    /// checked).
    pub fn is_ready(self) -> bool {
        self == Phase::Running
    }
}

/// How long a container must have run without exiting to count as ready (`apply --wait`'s
/// `--settle` default, and the API's `?wait=ready`): twice the longest start → `die` of a
/// process that fails at once (`sh -c 'exit 3'`) measured on the reference machine with both
/// cores busy (49 ms; docs/loop.md). A program that takes longer to fail needs a longer
/// window or, better, a health check.
pub const DEFAULT_SETTLE: std::time::Duration = std::time::Duration::from_millis(100);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_containers_are_judged() {
        for p in Phase::ALL {
            assert_eq!(p.as_str().parse::<Phase>(), Ok(p));
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(serde_json::from_str::<Phase>(&json).unwrap(), p);
        }
        assert_eq!(
            Phase::of_container(RunState::Running, Some(Health::Starting)),
            Phase::Starting
        );
        assert_eq!(
            Phase::of_container(RunState::Exited { code: Some(0) }, None),
            Phase::Stopped
        );
        assert_eq!(
            Phase::of_container(RunState::Exited { code: Some(3) }, None),
            Phase::Failed
        );
        assert!(Phase::of_container(RunState::Running, Some(Health::Healthy)).is_ready());
    }
}
