//! `?wait=`: answering once the loop has published a report that satisfies a condition,
//! woken by each report (never polling), bounded in time and in number.

use std::time::Duration;

use tokio::time::Instant;

use super::problem::Problem;
use crate::status::http::Shared;
use crate::status::Report;

/// How long a `?wait=` waits unless `timeout` says otherwise.
pub const DEFAULT: Duration = Duration::from_secs(30);
/// The longest `timeout` accepted.
pub const MAX: Duration = Duration::from_secs(300);
/// Requests that may wait at once; more get 503 at once.
pub const MAX_WAITING: usize = 256;

/// The `timeout` parameter.
pub fn timeout_of(text: Option<&str>) -> Result<Duration, Problem> {
    let Some(t) = text else { return Ok(DEFAULT) };
    let d = humantime::parse_duration(t)
        .map_err(|e| Problem::bad_request(format!("timeout {t:?}: {e}")))?;
    if d > MAX {
        return Err(Problem::bad_request(format!(
            "timeout {t:?} is longer than the {} a request may wait",
            humantime::format_duration(MAX)
        )));
    }
    Ok(d)
}

/// What a look at a report found.
pub enum Look<T> {
    Found(T),
    /// Not yet: look again at the next report.
    NotYet,
    /// Not yet, and look again after this long even if no report comes (a time-based
    /// condition, such as a settle window).
    Within(Duration),
}

/// Waits until `cond` finds what it looks for in a published report, or `limit` passes
/// (`None`).
pub async fn until<T>(
    shared: &Shared,
    limit: Duration,
    mut cond: impl FnMut(&Report) -> Look<T>,
) -> Option<T> {
    let deadline = Instant::now() + limit;
    let mut rx = shared.published.subscribe();
    loop {
        rx.borrow_and_update();
        let wake = match cond(&shared.report.read().expect("not poisoned")) {
            Look::Found(t) => return Some(t),
            Look::NotYet => deadline,
            Look::Within(d) => deadline.min(Instant::now() + d),
        };
        match tokio::time::timeout_at(wake, rx.changed()).await {
            Ok(Ok(())) => {}
            Err(_) if wake < deadline => {}
            _ => return None,
        }
    }
}

/// How much longer a ready object must run to have run `DEFAULT_SETTLE` since its last
/// start (zero once it has, or when berth saw no start: it started before berth watched).
pub fn settling(o: &crate::status::ObjectStatus, now: std::time::SystemTime) -> Duration {
    let started = o.observed.as_ref().and_then(|c| c.started_at_ms);
    let now = crate::model::unix_ms(&now);
    let left = started.map_or(0, |t| {
        (t + crate::model::DEFAULT_SETTLE.as_millis() as u64).saturating_sub(now)
    });
    Duration::from_millis(left)
}
