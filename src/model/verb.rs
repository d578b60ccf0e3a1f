//! The words of an action, shared by the planner, the history of actions and the state
//! file: what is done to an object ([`Verb`]) and why ([`Cause`]).

use std::fmt;

use serde::{Deserialize, Serialize};

/// What to do to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verb {
    /// Stop (with the grace period) and remove a container nobody wants.
    Remove,
    /// Stop a container whose object should be stopped.
    Stop,
    /// Replace a container whose spec changed.
    Recreate,
    /// Create (and start) a missing container.
    Create,
    /// Start an existing, stopped container.
    Start,
    /// Stop and start a running container (unhealthy).
    Restart,
    /// Take a ready member of the template's warm pool for a missing container.
    Claim,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Remove => "remove",
            Verb::Stop => "stop",
            Verb::Recreate => "recreate",
            Verb::Create => "create",
            Verb::Start => "start",
            Verb::Restart => "restart",
            Verb::Claim => "claim",
        }
    }

    /// The one-character marker used by `berth diff`.
    pub fn symbol(self) -> char {
        match self {
            Verb::Remove => '-',
            Verb::Stop => '.',
            Verb::Recreate => '~',
            Verb::Create => '+',
            Verb::Start => '>',
            Verb::Restart => '^',
            Verb::Claim => '*',
        }
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an action is needed, as data (for metrics and runtime bookkeeping).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Cause {
    /// Not on the engine yet.
    Missing,
    /// The spec changed.
    SpecChanged,
    /// The container exited and its restart policy wants it back.
    Crashed,
    /// The health check failed.
    Unhealthy,
    /// A session's TTL passed.
    Expired,
    /// Its manifest is gone.
    Gone,
    /// A second container for one object.
    Duplicate,
    /// The object's declared state (`Running`/`Stopped`) differs from the container's.
    StateChanged,
    /// Created but never started, or dead.
    Broken,
    /// An operator asked for it: `berth restart`, `berth stop`, `berth start`.
    Operator,
    /// Someone stopped the container from outside berth (`docker stop`): not a crash; the
    /// restart policy decides as for an exit.
    StoppedOutside,
    /// No network traffic for its `idle.after` window; a request to its route wakes it.
    Idle,
}
