//! What a supervisor may know of the loop of `berth run`: whether its first complete pass is
//! done (the readiness `/readyz` answers) and when it last turned (a heartbeat). The loop
//! writes both; `/readyz` and a service-manager notifier read them. Nothing here knows how
//! a supervisor is told.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// The loop's readiness and heartbeat, as last written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pulse {
    /// The first pass that listed the engine and planned is done.
    pub ready: bool,
    /// When the loop last finished a turn; `None` before its first.
    pub beat: Option<Instant>,
}

impl Pulse {
    /// Whether the loop turned within `window` before `now`.
    pub fn alive(&self, now: Instant, window: Duration) -> bool {
        self.beat
            .is_some_and(|b| now.saturating_duration_since(b) <= window)
    }
}

/// One writer (the loop), any number of readers; readers can wait for a change.
#[derive(Debug)]
pub struct Liveness {
    tx: watch::Sender<Pulse>,
}

impl Default for Liveness {
    fn default() -> Self {
        Liveness {
            tx: watch::Sender::new(Pulse::default()),
        }
    }
}

impl Liveness {
    /// The first complete pass is done (said once; later calls change nothing).
    pub fn mark_ready(&self) {
        self.tx
            .send_if_modified(|p| !std::mem::replace(&mut p.ready, true));
    }

    /// The loop finished a turn.
    pub fn beat(&self) {
        self.tx.send_modify(|p| p.beat = Some(Instant::now()));
    }

    pub fn is_ready(&self) -> bool {
        self.tx.borrow().ready
    }

    pub fn pulse(&self) -> Pulse {
        *self.tx.borrow()
    }

    /// A reader that can wait for the next readiness change or beat.
    pub fn subscribe(&self) -> watch::Receiver<Pulse> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn ready_once_and_alive_only_within_the_window() {
        let l = Liveness::default();
        let mut rx = l.subscribe();
        assert!(!l.is_ready());
        assert!(!l.pulse().alive(Instant::now(), Duration::from_secs(1)));
        l.mark_ready();
        assert!(rx.has_changed().unwrap());
        rx.borrow_and_update();
        l.mark_ready();
        assert!(
            !rx.has_changed().unwrap(),
            "a second mark_ready wakes nobody"
        );
        l.beat();
        let window = Duration::from_secs(5);
        assert!(l.pulse().alive(Instant::now(), window));
        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(!l.pulse().alive(Instant::now(), window));
    }
}
