//! One backoff for everything that waits and tries again: a retry after a failed attempt
//! ([`RetryPolicy`](crate::RetryPolicy)), a realtime reconnect or rejoin
//! ([`Reconnect`](crate::realtime::Reconnect)), and the polls of a long-running job (the facade's
//! Agentiv run wait).
//!
//! The wait before step `n` (0 = the first) grows from `first` by a fixed factor up to `max`:
//! - **retries and reconnects** double it and draw each wait at random below it ("full jitter",
//!   [`Backoff::full_jitter`]), so many clients failed by the same outage come back spread out;
//! - **polling** grows it by half each time and waits exactly that long ([`Backoff::polling`]):
//!   one caller waits for one job, there is no herd to spread, and a steady cadence is what the
//!   caller reads in its logs.
//!
//! All arithmetic saturates: any step, any duration, no panic.
//!
//! ```
//! use std::time::Duration;
//! use agentapis_runtime::backoff::Backoff;
//! let retries = Backoff::full_jitter(Duration::from_millis(500), Duration::from_secs(8));
//! assert_eq!(retries.ceiling(0), Duration::from_millis(500));
//! assert_eq!(retries.ceiling(3), Duration::from_secs(4));
//! assert_eq!(retries.ceiling(40), Duration::from_secs(8));
//! assert!(retries.delay(2) <= Duration::from_secs(2));
//! let polls = Backoff::polling(Duration::from_secs(1), Duration::from_secs(15));
//! assert_eq!(polls.delay(1), Duration::from_millis(1500));
//! ```

use std::time::Duration;

/// How a wait is drawn below its step's ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Jitter {
    /// Uniformly at random in `[floor, ceiling]`.
    Full,
    /// Exactly the ceiling.
    None,
}

/// How a step's ceiling grows from the one before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Growth {
    Double,
    HalfAgain,
}

/// A growing wait between tries. Build one with [`Backoff::full_jitter`] or
/// [`Backoff::polling`] and [`Backoff::floor`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    floor: Duration,
    growth: Growth,
    jitter: Jitter,
}

impl Backoff {
    /// Doubling from `first` up to `max`, each wait drawn at random below its ceiling.
    pub const fn full_jitter(first: Duration, max: Duration) -> Self {
        Self {
            first,
            max,
            floor: Duration::ZERO,
            growth: Growth::Double,
            jitter: Jitter::Full,
        }
    }

    /// Growing by half from `first` up to `max`, each wait exactly its ceiling.
    pub const fn polling(first: Duration, max: Duration) -> Self {
        Self {
            first,
            max,
            floor: Duration::ZERO,
            growth: Growth::HalfAgain,
            jitter: Jitter::None,
        }
    }

    /// No wait shorter than `floor` (even when `max` is shorter: a flapping server is not
    /// hammered, a poll loop does not spin).
    pub const fn floor(mut self, floor: Duration) -> Self {
        self.floor = floor;
        self
    }

    /// How waits are drawn.
    pub const fn jitter(&self) -> Jitter {
        self.jitter
    }

    /// The ceiling of step `step`: `first` grown `step` times, at most `max`.
    pub fn ceiling(&self, step: u32) -> Duration {
        let mut ceiling = self.first.min(self.max);
        // The ceiling reaches `max` within a few dozen steps from any nonzero start (and stays
        // at zero from zero), so the loop is short whatever `step` is.
        for _ in 0..step {
            if ceiling >= self.max || ceiling.is_zero() {
                break;
            }
            let grown = match self.growth {
                Growth::Double => ceiling.saturating_add(ceiling),
                Growth::HalfAgain => ceiling.saturating_add((ceiling / 2).max(Duration::from_nanos(1))),
            };
            ceiling = grown.min(self.max);
        }
        ceiling
    }

    /// The wait before step `step` for a uniform random `fraction` in `[0, 1)` (used only with
    /// full jitter; passed in so callers and tests can be deterministic).
    pub fn delay_at(&self, step: u32, fraction: f64) -> Duration {
        let ceiling = self.ceiling(step);
        let wait = match self.jitter {
            Jitter::None => ceiling,
            Jitter::Full => {
                let fraction = if fraction.is_finite() {
                    fraction.clamp(0.0, 1.0)
                } else {
                    0.0
                };
                // Float rounding may land just past `ceiling`: clamp.
                Duration::try_from_secs_f64(ceiling.as_secs_f64() * fraction)
                    .unwrap_or(ceiling)
                    .min(ceiling)
            }
        };
        wait.max(self.floor)
    }

    /// [`delay_at`](Self::delay_at) with a fresh random fraction.
    pub fn delay(&self, step: u32) -> Duration {
        self.delay_at(step, rand::random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn doubling_and_half_again_reach_their_cap_and_stay() {
        let b = Backoff::full_jitter(MS * 500, Duration::from_secs(8));
        let ceilings: Vec<u128> = (0..7).map(|n| b.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [500, 1000, 2000, 4000, 8000, 8000, 8000]);
        let p = Backoff::polling(MS * 1000, MS * 5000);
        let ceilings: Vec<u128> = (0..6).map(|n| p.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [1000, 1500, 2250, 3375, 5000, 5000]);
        assert_eq!(p.delay(3), MS * 3375, "polling waits exactly its ceiling");
    }

    #[test]
    fn jitter_spreads_waits_under_the_ceiling_and_above_the_floor() {
        let b = Backoff::full_jitter(MS * 500, Duration::from_secs(10)).floor(MS * 10);
        let waits: std::collections::BTreeSet<Duration> = (0..200).map(|_| b.delay(3)).collect();
        assert!(waits.len() > 150, "jittered waits differ");
        assert!(waits.iter().all(|w| *w <= Duration::from_secs(4) && *w >= MS * 10));
        assert_eq!(b.delay_at(3, 0.0), MS * 10);
        assert_eq!(b.delay_at(3, 0.5), Duration::from_secs(2));
        assert_eq!(b.delay_at(3, f64::NAN), MS * 10);
    }

    proptest! {
        #[test]
        fn any_setting_and_step_is_bounded_and_never_panics(
            first in any::<u64>(), max in any::<u64>(), floor in any::<u32>(), step in any::<u32>(), fraction in any::<f64>()
        ) {
            for b in [
                Backoff::full_jitter(Duration::from_nanos(first), Duration::from_nanos(max)),
                Backoff::polling(Duration::from_nanos(first), Duration::from_nanos(max)),
            ] {
                let b = b.floor(Duration::from_nanos(u64::from(floor)));
                let d = b.delay_at(step, fraction);
                prop_assert!(d <= Duration::from_nanos(max).max(Duration::from_nanos(u64::from(floor))));
                prop_assert!(b.ceiling(step) <= Duration::from_nanos(max));
            }
        }
    }
}
