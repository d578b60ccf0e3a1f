//! Carrying out plans: the executor runs actions against the engine with bounded
//! concurrency, never two on the same object; `wait` watches the engine until the desired
//! state is reached; [`controller`] is the control loop of `berth run`.

pub mod controller;
mod execute;
mod wait;

pub use execute::{execute, run_action, Outcome};
pub use wait::{wait_ready, NotReady};
