//! What wakes the loop: a batch of file changes, an engine event (or a poll tick when the
//! engine refuses the event stream), a finished action, a due timer, the heartbeat, the
//! shutdown signal.
//! The event stream is followed here: reconnected with `since` after a drop, with
//! [`EVENTS_BACKOFF`] between attempts that got nothing, and replaced by polling when it is
//! refused.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::warn;

use crate::engine::{Engine, EngineError, EngineEvent};
use crate::model::{unix_ms, Backoff, ObjectKey};
use crate::reconcile::execute::Outcome;
use crate::status::http::Shared;

/// Why the loop runs a pass.
pub(super) enum Trigger {
    Files,
    /// The operator's overrides may have changed.
    Overrides,
    /// `None`: a poll tick, or "look again" after the stream reconnected.
    Event(Instant, Option<EngineEvent>),
    Done(Box<Outcome>),
    /// The idle sampler found an object quiet for its whole window.
    Idle(ObjectKey),
    /// A request reached the wake endpoint for an object.
    Wake(ObjectKey),
    Timer,
    /// Nothing but the loop's heartbeat: no pass.
    Heartbeat,
    Shutdown,
}

/// Between reconnects of an event stream that yielded nothing.
pub const EVENTS_BACKOFF: Backoff =
    Backoff::new(Duration::from_millis(250), Duration::from_secs(10));

/// Follows the engine's event stream and signals the loop on every event of this instance.
/// Reconnects with `since` after a drop; falls back to polling when the stream is refused,
/// and says so once.
pub(super) async fn watch_events<E: Engine>(
    engine: E,
    instance: String,
    poll: Duration,
    tx: mpsc::UnboundedSender<(Instant, Option<EngineEvent>)>,
    shared: Arc<Shared>,
) {
    let mut since: Option<String> = None;
    let mut delay = EVENTS_BACKOFF.initial;
    let mut attempts = 0u32;
    loop {
        let mut stream = engine.events(&instance, since.clone(), None);
        let mut got_any = false;
        while let Some(item) = stream.next().await {
            match item {
                Ok(ev) => {
                    got_any = true;
                    shared.metrics.events.inc();
                    since = Some(ev.resume_since());
                    tracing::debug!(event = ?ev.kind, object = ?ev.key, "engine event");
                    let _ = tx.send((Instant::now(), Some(ev)));
                }
                Err(e @ EngineError::Forbidden { .. }) | Err(e @ EngineError::NotFound { .. }) => {
                    // Said once: from here on the loop only polls.
                    warn!(
                        class = "infrastructure",
                        error = %e,
                        "no engine events; polling every {} instead",
                        humantime::format_duration(poll)
                    );
                    loop {
                        tokio::time::sleep(poll).await;
                        let _ = tx.send((Instant::now(), None));
                    }
                }
                Err(e) => {
                    warn!(error = %e, "engine event stream broken; reconnecting");
                    break;
                }
            }
        }
        if since.is_none() {
            // Resume from now rather than replaying history after a first failure.
            since = Some(format!("{}", unix_ms(&SystemTime::now()) / 1000));
        }
        // Something may have happened while disconnected: look again.
        let _ = tx.send((Instant::now(), None));
        attempts = if got_any { 0 } else { attempts + 1 };
        delay = if got_any {
            EVENTS_BACKOFF.initial
        } else {
            EVENTS_BACKOFF.next(delay)
        };
        tokio::time::sleep(Backoff::jittered(delay, attempts)).await;
    }
}
