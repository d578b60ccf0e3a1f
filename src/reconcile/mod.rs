//! Carrying out plans: the executor runs actions against the engine with bounded
//! concurrency, never two on the same object; `wait` watches the engine until the desired
//! state is reached. (The control loop of `berth run` will live here too.)

mod execute;
mod wait;

pub use execute::{execute, Outcome};
pub use wait::{wait_ready, NotReady};
