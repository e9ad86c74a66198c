//! The time, a way to wait and randomness, as the attempt loop sees them. The real ones are
//! Tokio's sleep, the monotonic clock and the thread's RNG; a test hands the runtime its own
//! ([`Runtime::with_env`](crate::Runtime)), so the loop's waits run on a fake clock and its
//! jitter is fixed, and a test of five retries takes no real time.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// A wait, boxed: the loop sleeps only on the way to another attempt, never on the happy path.
pub(crate) type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What the attempt loop needs from the world besides the network.
pub(crate) trait Env: Send + Sync + fmt::Debug {
    /// Now.
    fn now(&self) -> Instant;
    /// Resolves after `wait`.
    fn sleep(&self, wait: Duration) -> Sleep;
    /// A uniform random fraction in `[0, 1)`, for jitter.
    fn fraction(&self) -> f64;
}

/// The real clock, Tokio's timer and the thread's RNG.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct RealEnv;

impl Env for RealEnv {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep(&self, wait: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(wait))
    }

    fn fraction(&self) -> f64 {
        rand::random::<f64>()
    }
}

#[cfg(test)]
pub(crate) mod fake {
    use super::*;
    use std::sync::Mutex;

    /// A clock that moves only when the loop sleeps (by exactly the wait), with fixed jitter;
    /// it records every wait.
    #[derive(Debug)]
    pub(crate) struct FakeEnv {
        now: Mutex<Instant>,
        fraction: f64,
        pub(crate) sleeps: Mutex<Vec<Duration>>,
    }

    impl FakeEnv {
        pub(crate) fn new(fraction: f64) -> Self {
            Self {
                now: Mutex::new(Instant::now()),
                fraction,
                sleeps: Mutex::new(Vec::new()),
            }
        }

        pub(crate) fn slept(&self) -> Vec<Duration> {
            self.sleeps.lock().map(|s| s.clone()).unwrap_or_default()
        }
    }

    impl Env for FakeEnv {
        fn now(&self) -> Instant {
            self.now.lock().map(|n| *n).unwrap_or_else(|_| Instant::now())
        }

        fn sleep(&self, wait: Duration) -> Sleep {
            if let Ok(mut now) = self.now.lock() {
                *now = now.checked_add(wait).unwrap_or(*now);
            }
            if let Ok(mut sleeps) = self.sleeps.lock() {
                sleeps.push(wait);
            }
            Box::pin(std::future::ready(()))
        }

        fn fraction(&self) -> f64 {
            self.fraction
        }
    }
}
