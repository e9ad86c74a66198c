//! When to reconnect: exponential backoff with full jitter (the runtime's one
//! [`Backoff`](crate::backoff::Backoff)), so many clients dropped by the same outage come back
//! spread out instead of all at once.

use std::time::Duration;

use crate::backoff::Backoff;

/// How long to wait before each reconnect attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reconnect {
    /// Attempt `n` (from 0) waits a uniformly random time in `[0, min(max, initial × 2ⁿ)]`
    /// ("full jitter"), never less than `floor`.
    Jittered {
        /// The ceiling of the first attempt's wait.
        initial: Duration,
        /// The largest ceiling.
        max: Duration,
        /// The shortest wait (so a flapping server is not hammered).
        floor: Duration,
    },
    /// The same waits for every client, in order, the last one repeated. This is the schedule
    /// the vendor SDKs use; kept for comparison, not recommended.
    Fixed(Vec<Duration>),
}

impl Default for Reconnect {
    fn default() -> Self {
        Reconnect::Jittered {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(10),
            floor: Duration::from_millis(10),
        }
    }
}

impl Reconnect {
    /// The vendors' fixed schedule: 10, 50, 100, 150, 200, 250, 500 ms, 1 s, then 2 s.
    pub fn vendor_fixed() -> Self {
        Reconnect::Fixed(
            [10, 50, 100, 150, 200, 250, 500, 1000, 2000]
                .into_iter()
                .map(Duration::from_millis)
                .collect(),
        )
    }

    /// The wait before attempt `attempt` (0 = the first reconnect after a loss).
    pub fn delay(&self, attempt: u32) -> Duration {
        match self {
            Reconnect::Jittered { initial, max, floor } => {
                Backoff::full_jitter(*initial, *max).floor(*floor).delay(attempt)
            }
            Reconnect::Fixed(steps) => {
                let index = usize::try_from(attempt).unwrap_or(usize::MAX);
                // An empty schedule must not mean reconnecting in a tight loop.
                steps
                    .get(index)
                    .or_else(|| steps.last())
                    .copied()
                    .unwrap_or(Duration::from_secs(1))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_under_the_growing_ceiling_and_spreads() {
        let policy = Reconnect::default();
        for attempt in 0..40 {
            let ceiling = Duration::from_millis(500)
                .saturating_mul(2u32.saturating_pow(attempt))
                .min(Duration::from_secs(10));
            for _ in 0..50 {
                let d = policy.delay(attempt);
                assert!(d <= ceiling && d >= Duration::from_millis(10), "{attempt}: {d:?}");
            }
        }
        let waits: std::collections::BTreeSet<Duration> = (0..100).map(|_| policy.delay(3)).collect();
        assert!(waits.len() > 90, "jittered waits differ from client to client");
    }

    #[test]
    fn the_vendor_schedule_repeats_its_last_step() {
        let fixed = Reconnect::vendor_fixed();
        assert_eq!(fixed.delay(0), Duration::from_millis(10));
        assert_eq!(fixed.delay(8), Duration::from_secs(2));
        assert_eq!(fixed.delay(u32::MAX), Duration::from_secs(2));
        assert_eq!(Reconnect::Fixed(Vec::new()).delay(0), Duration::from_secs(1));
    }
}
