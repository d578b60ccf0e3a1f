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

/// Waits until `cond` finds what it looks for in a published report, or `limit` passes
/// (`None`).
pub async fn until<T>(
    shared: &Shared,
    limit: Duration,
    mut cond: impl FnMut(&Report) -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + limit;
    let mut rx = shared.published.subscribe();
    loop {
        rx.borrow_and_update();
        if let Some(t) = cond(&shared.report.read().expect("not poisoned")) {
            return Some(t);
        }
        match tokio::time::timeout_at(deadline, rx.changed()).await {
            Ok(Ok(())) => {}
            _ => return None,
        }
    }
}
