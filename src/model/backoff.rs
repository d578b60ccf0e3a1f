//! One backoff for every wait after a failure: a crash-looping container's next start, a
//! failed action's retry, a refused engine listing, a dropped event stream, an engine that
//! is not there yet. Exponential (doubling from `initial` to `max`), with jitter, reset by
//! the caller after a stable run.
//!
//! The jitter adds up to a tenth of the delay, drawn from a hash of a seed the caller
//! names (the object, the attempt): objects that fail together do not come back together,
//! and the planner stays a pure function (the same inputs give the same plan).

use std::hash::{Hash, Hasher};
use std::time::Duration;

use serde::Serialize;

/// Exponential backoff bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

/// The most jitter adds, as a fraction of the delay.
const JITTER: f64 = 0.1;

impl Backoff {
    pub const fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff { initial, max }
    }

    /// The delay after `current`: doubled, within `initial..=max`.
    pub fn next(&self, current: Duration) -> Duration {
        current.saturating_mul(2).min(self.max).max(self.initial)
    }

    /// The delay before attempt `n + 1` after `n` consecutive failures (`n >= 1`):
    /// `initial × 2^(n-1)`, at most `max`.
    pub fn nth(&self, n: u32) -> Duration {
        let exp = n.saturating_sub(1).min(30);
        self.initial.saturating_mul(1 << exp).min(self.max)
    }

    /// `delay` with up to a tenth more, the same every time for the same `seed`.
    pub fn jittered(delay: Duration, seed: impl Hash) -> Duration {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        seed.hash(&mut h);
        let fraction = (h.finish() % 10_000) as f64 / 10_000.0 * JITTER;
        delay + delay.mul_f64(fraction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_within_bounds_and_jitters_a_little() {
        let b = Backoff::new(Duration::from_secs(1), Duration::from_secs(10));
        assert_eq!(b.next(Duration::from_secs(1)), Duration::from_secs(2));
        assert_eq!(b.next(Duration::from_secs(8)), Duration::from_secs(10));
        assert_eq!(b.next(Duration::ZERO), Duration::from_secs(1));
        assert_eq!(b.nth(1), Duration::from_secs(1));
        assert_eq!(b.nth(3), Duration::from_secs(4));
        assert_eq!(b.nth(60), Duration::from_secs(10));
        let d = Duration::from_secs(10);
        let j = Backoff::jittered(d, ("agent/a", 3));
        assert!(j >= d && j <= d + Duration::from_secs(1), "{j:?}");
        assert_eq!(j, Backoff::jittered(d, ("agent/a", 3)), "deterministic");
        let spread: std::collections::BTreeSet<Duration> =
            (0..20).map(|i| Backoff::jittered(d, i)).collect();
        assert!(spread.len() > 10, "different seeds spread: {spread:?}");
    }
}
