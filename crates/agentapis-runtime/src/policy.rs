//! Retry, timeout and pacing settings, with defaults chosen against the AWS SDK for Rust's
//! "standard" retry mode (3 attempts, full-jitter exponential backoff, 1 s base, 20 s cap) and the
//! Stainless-generated SDKs (2 retries = 3 attempts, 0.5 s initial delay, 8 s cap, honour
//! `Retry-After`). We take 3 attempts and full jitter from both, Stainless's 0.5 s base and 8 s
//! cap (agent-platform calls are interactive; a 20 s sleep is rarely what a caller wants), and
//! refuse to sleep longer than 60 s for a server-requested wait.

use std::time::Duration;

/// How failed attempts are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts including the first (1 disables retries).
    pub max_attempts: u32,
    /// Backoff base: attempt *n* waits a random time in `[0, min(cap, base·2^(n-1))]`.
    pub base_delay: Duration,
    /// Upper bound of one computed backoff.
    pub max_delay: Duration,
    /// A server-requested wait (`Retry-After`, `X-RateLimit-Reset`) longer than this is not slept
    /// through: the call fails at once with a typed `retry_after`.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries: every request is sent once.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The full-jitter backoff before attempt `next_attempt` (2 for the first retry).
    pub fn backoff(&self, next_attempt: u32) -> Duration {
        let exp = next_attempt.saturating_sub(2).min(30);
        let ceiling = self.base_delay.saturating_mul(1u32 << exp).min(self.max_delay);
        ceiling.mul_f64(rand::random::<f64>())
    }
}

/// Time limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Limit on establishing a connection (applied to the reqwest client the facade builds).
    pub connect: Duration,
    /// Limit on one attempt, from sending to the end of the response body.
    pub per_attempt: Duration,
    /// Limit on the whole call, across every attempt and wait.
    pub overall: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            per_attempt: Duration::from_secs(60),
            overall: Some(Duration::from_secs(120)),
        }
    }
}

/// What to do when the server said no requests remain until a reset time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pacing {
    /// Wait for the reset before sending (within the deadline and `max_retry_after`).
    #[default]
    Wait,
    /// Fail at once with a rate-limited error carrying the wait.
    FailFast,
}

/// Client-side limits, applied before a request leaves (e.g. from a vendor's plan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientLimits {
    /// Requests per minute.
    pub per_minute: Option<u32>,
    /// Requests in flight at once.
    pub concurrency: Option<u32>,
}
