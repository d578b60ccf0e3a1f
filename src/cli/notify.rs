//! Tells a service manager how `berth run` is doing, over systemd's notification protocol
//! (`Type=notify`: a datagram to `$NOTIFY_SOCKET`, sent with the `sd-notify` crate):
//!
//! - `STATUS=` while it connects to the engine, then a summary of the instance's phases
//!   whenever it changes;
//! - `READY=1` after the loop's first complete pass: the readiness `/readyz` answers;
//! - `WATCHDOG=1` every half of `$WATCHDOG_USEC`, and only when the loop's heartbeat is
//!   that recent. A loop stuck in a pass gets no ping, so the manager restarts berth;
//! - `STOPPING=1` when SIGTERM or SIGINT starts the shutdown.
//!
//! Without `$NOTIFY_SOCKET` nothing is sent. The loop knows nothing of this: it writes its
//! readiness and heartbeat ([`crate::status::liveness`]), and this reads them.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sd_notify::NotifyState;
use tokio::time::Instant;
use tracing::warn;

use crate::status::http::Shared;
use crate::status::Report;

/// Where notifications go.
pub trait Sink: Send + Sync + 'static {
    fn send(&self, states: &[NotifyState<'_>]);
}

/// `$NOTIFY_SOCKET`, through `sd-notify`.
#[derive(Debug)]
pub struct Systemd;

impl Sink for Systemd {
    fn send(&self, states: &[NotifyState<'_>]) {
        if let Err(e) = sd_notify::notify(states) {
            tracing::debug!(error = %e, "cannot notify the service manager");
        }
    }
}

/// What the service manager asked for, read once at start.
#[derive(Debug, Clone)]
pub struct Notifier<S: Sink = Systemd> {
    sink: Option<Arc<S>>,
    /// `$WATCHDOG_USEC`: the manager restarts berth when no ping came within it.
    watchdog: Option<Duration>,
}

impl Notifier<Systemd> {
    /// From `$NOTIFY_SOCKET` and `$WATCHDOG_USEC` (and `$WATCHDOG_PID`, when set, must be
    /// this process).
    pub fn from_env() -> Notifier {
        let enabled = std::env::var_os("NOTIFY_SOCKET").is_some();
        Notifier {
            sink: enabled.then(|| Arc::new(Systemd)),
            watchdog: sd_notify::watchdog_enabled().filter(|w| enabled && !w.is_zero()),
        }
    }
}

impl<S: Sink> Notifier<S> {
    #[cfg(test)]
    pub fn new(sink: S, watchdog: Option<Duration>) -> Notifier<S> {
        Notifier {
            sink: Some(Arc::new(sink)),
            watchdog,
        }
    }

    /// How often the loop must turn, at least, for the pings: a quarter of the watchdog
    /// period, so a beat is always younger than the half period between two pings.
    pub fn heartbeat(&self) -> Option<Duration> {
        self.watchdog.map(|w| w / 4)
    }

    /// A `STATUS=` line.
    pub fn status(&self, text: &str) {
        if let Some(s) = &self.sink {
            s.send(&[NotifyState::Status(text)]);
        }
    }

    /// Follows the loop until the process ends: `READY=1` once, `STATUS=` on change,
    /// `WATCHDOG=1` while the loop is alive, `STOPPING=1` when `stopping` resolves.
    pub fn follow(
        &self,
        shared: Arc<Shared>,
        stopping: impl Future<Output = ()> + Send + 'static,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let sink = self.sink.clone()?;
        let ping_every = self.watchdog.map(|w| w / 2);
        Some(tokio::spawn(follow(sink, ping_every, shared, stopping)))
    }
}

async fn follow<S: Sink>(
    sink: Arc<S>,
    ping_every: Option<Duration>,
    shared: Arc<Shared>,
    stopping: impl Future<Output = ()>,
) {
    let mut pulses = shared.liveness.subscribe();
    let mut ready_sent = false;
    let mut stopped = false;
    let mut last_status = String::new();
    let mut next_ping = ping_every.map(|p| Instant::now() + p);
    let mut silent = false;
    tokio::pin!(stopping);
    loop {
        tokio::select! {
            changed = pulses.changed() => {
                if changed.is_err() {
                    return; // the loop is gone
                }
                if !pulses.borrow_and_update().ready || stopped {
                    continue;
                }
                let status = summary(&shared.report.read().expect("not poisoned"));
                if !ready_sent {
                    sink.send(&[NotifyState::Ready, NotifyState::Status(&status)]);
                    ready_sent = true;
                } else if status != last_status {
                    sink.send(&[NotifyState::Status(&status)]);
                }
                last_status = status;
            }
            _ = sleep_until(next_ping) => {
                let window = ping_every.expect("a ping is due only with a watchdog");
                let pulse = shared.liveness.pulse();
                if pulse.ready && pulse.alive(Instant::now(), window) {
                    sink.send(&[NotifyState::Watchdog]);
                    silent = false;
                } else if pulse.ready && !silent {
                    warn!("the loop has not turned for {}: no watchdog ping", humantime::format_duration(window));
                    silent = true;
                }
                next_ping = Some(Instant::now() + window);
            }
            _ = &mut stopping, if !stopped => {
                stopped = true;
                sink.send(&[
                    NotifyState::Stopping,
                    NotifyState::Status("stopping: finishing actions in flight"),
                ]);
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// One line for `systemctl status`: the objects by phase, and what is wrong.
pub fn summary(report: &Report) -> String {
    let mut phases: BTreeMap<String, usize> = BTreeMap::new();
    for o in &report.objects {
        *phases.entry(o.phase.to_string()).or_default() += 1;
    }
    let mut line = if phases.is_empty() {
        "no objects".to_string()
    } else {
        let parts: Vec<String> = phases.iter().map(|(p, n)| format!("{n} {p}")).collect();
        format!("{} object(s): {}", report.objects.len(), parts.join(", "))
    };
    if let Some(e) = &report.engine_error {
        line.push_str(&format!("; engine error: {e}"));
    }
    if !report.diagnostics.is_empty() {
        line.push_str(&format!(
            "; {} manifest diagnostic(s)",
            report.diagnostics.len()
        ));
    }
    line
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl Sink for Arc<Recorder> {
        fn send(&self, states: &[NotifyState<'_>]) {
            let msg: Vec<String> = states.iter().map(|s| s.to_string()).collect();
            self.0.lock().unwrap().push(msg.join("\n"));
        }
    }

    fn sent(r: &Recorder) -> Vec<String> {
        std::mem::take(&mut *r.0.lock().unwrap())
    }

    #[tokio::test(start_paused = true)]
    async fn ready_once_pings_only_while_the_loop_beats_and_stopping_on_shutdown() {
        let rec = Arc::new(Recorder::default());
        let notifier = Notifier::new(rec.clone(), Some(Duration::from_secs(20)));
        assert_eq!(notifier.heartbeat(), Some(Duration::from_secs(5)));
        let shared = Arc::new(Shared::new("t"));
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let _task = notifier.follow(shared.clone(), async {
            let _ = stop_rx.await;
        });
        // Not ready: no ping, whatever the time.
        tokio::time::sleep(Duration::from_secs(25)).await;
        assert_eq!(sent(&rec), Vec::<String>::new());

        shared.liveness.mark_ready();
        shared.liveness.beat();
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(sent(&rec), ["READY=1\nSTATUS=no objects"]);

        // The loop beats every 5 s: a ping every 10 s.
        for _ in 0..6 {
            tokio::time::sleep(Duration::from_secs(5)).await;
            shared.liveness.beat();
        }
        let pings = sent(&rec);
        assert!(pings.len() >= 2, "{pings:?}");
        assert!(pings.iter().all(|p| p == "WATCHDOG=1"), "{pings:?}");

        // The loop stops turning: no more pings.
        tokio::time::sleep(Duration::from_secs(60)).await;
        let late = sent(&rec);
        assert!(
            late.len() <= 1,
            "at most the ping of a beat still fresh: {late:?}"
        );

        stop_tx.send(()).unwrap();
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(
            sent(&rec),
            ["STOPPING=1\nSTATUS=stopping: finishing actions in flight"]
        );
    }

    #[test]
    fn the_summary_counts_phases_and_says_what_is_wrong() {
        let mut r = Report::default();
        assert_eq!(summary(&r), "no objects");
        r.engine_error = Some("connection refused".into());
        r.diagnostics = vec!["a.yaml:1:1: x: bad".into()];
        assert_eq!(
            summary(&r),
            "no objects; engine error: connection refused; 1 manifest diagnostic(s)"
        );
    }
}
