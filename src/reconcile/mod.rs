//! Carrying out plans against an [`crate::engine::Engine`].
//!
//! - [`observe`]: one observe-and-plan, used by `diff`, `apply` and the daemon alike.
//! - `execute`: runs actions with bounded concurrency, never two on one object; a container
//!   that cannot start after its create is removed again.
//! - `wait`: watches the engine until the desired state is reached (`apply --wait`).
//! - [`record`]: what one-shot commands write into the state file when no daemon runs.
//! - [`daemon`]: the control loop of `berth run`.

pub mod daemon;
mod execute;
pub mod observe;
pub mod record;
mod wait;

pub use execute::{execute, run_action, Outcome};
pub use wait::{wait_ready, NotReady, Readiness, DEFAULT_SETTLE};
