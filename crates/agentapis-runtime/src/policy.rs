//! Retry, timeout, pacing, body-size and retry-budget settings, and which requests are safe to
//! send twice (which answers are worth another attempt is [`crate::retry`]'s).
//!
//! Defaults were chosen against the AWS SDK for Rust's "standard" retry mode (3 attempts,
//! full-jitter exponential backoff, 1 s base, 20 s cap, a 500-token retry quota) and the
//! Stainless-generated SDKs (2 retries = 3 attempts, 0.5 s initial delay, 8 s cap, honour
//! `Retry-After`). We take 3 attempts and full jitter from both, Stainless's 0.5 s base and 8 s
//! cap (agent-platform calls are interactive; a 20 s sleep is rarely what a caller wants), AWS's
//! retry quota, and refuse to sleep longer than 60 s for a server-requested wait.
//!
//! Every type here is `#[non_exhaustive]`: build one from `default()` and its setters, so a new
//! field is not a breaking change.
//!
//! ```
//! use std::time::Duration;
//! use agentapis_runtime::RetryPolicy;
//! let policy = RetryPolicy::default().max_attempts(5).base_delay(Duration::from_millis(200));
//! assert_eq!(policy.max_attempts, 5);
//! ```

use std::time::Duration;

use reqwest::{Method, Request, StatusCode};

use crate::backoff::Backoff;

/// How failed attempts are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Total attempts including the first (1 disables retries).
    pub max_attempts: u32,
    /// Backoff base: attempt *n* waits a random time in `[0, min(cap, base·2^(n-2))]`.
    pub base_delay: Duration,
    /// Upper bound of one computed backoff.
    pub max_delay: Duration,
    /// A server-requested wait (`Retry-After`, `X-RateLimit-Reset`) longer than this is not slept
    /// through: the call fails at once with a typed `retry_after`. A shorter one is slept, plus
    /// a jittered backoff (at most `max_delay`) so calls told the same wait do not return in one
    /// wave. Pacing also never holds requests back longer than this without letting one request
    /// through as a probe.
    pub max_retry_after: Duration,
    /// The client-wide budget that bounds retry traffic to a failing server.
    pub budget: RetryBudget,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
            budget: RetryBudget::default(),
        }
    }
}

impl RetryPolicy {
    /// No retries: every request is sent once.
    pub fn none() -> Self {
        Self::default().max_attempts(1)
    }

    /// Sets [`max_attempts`](Self::max_attempts).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Sets [`base_delay`](Self::base_delay).
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// Sets [`max_delay`](Self::max_delay).
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Sets [`max_retry_after`](Self::max_retry_after).
    pub fn max_retry_after(mut self, wait: Duration) -> Self {
        self.max_retry_after = wait;
        self
    }

    /// Sets [`budget`](Self::budget).
    pub fn budget(mut self, budget: RetryBudget) -> Self {
        self.budget = budget;
        self
    }

    /// The full-jitter backoff before attempt `next_attempt` (2 for the first retry), for a
    /// uniform random `fraction` in `[0, 1)`. Saturates instead of overflowing, whatever the
    /// delays are.
    pub fn backoff_at(&self, next_attempt: u32, fraction: f64) -> Duration {
        self.backoff_schedule()
            .delay_at(next_attempt.saturating_sub(2), fraction)
    }

    /// The retries' [`Backoff`]: full jitter, doubling from `base_delay` up to `max_delay`.
    pub fn backoff_schedule(&self) -> Backoff {
        Backoff::full_jitter(self.base_delay, self.max_delay)
    }

    /// [`backoff_at`](Self::backoff_at) with a fresh random fraction.
    pub fn backoff(&self, next_attempt: u32) -> Duration {
        self.backoff_at(next_attempt, rand::random::<f64>())
    }
}

/// A client-wide token bucket that bounds retries (in the spirit of the AWS SDKs' standard retry
/// quota): every retry withdraws tokens, every success puts some back, and when the bucket is
/// empty failed calls stop retrying, so a failing server sees at most about
/// `capacity / retry_cost` extra requests per client until calls succeed again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryBudget {
    /// Tokens in a full bucket (default 500).
    pub capacity: u32,
    /// Tokens one retry costs (default 5).
    pub retry_cost: u32,
    /// Tokens a retry after a timeout costs (default 10: timeouts hint at an overloaded server).
    pub timeout_cost: u32,
    /// Tokens a successful call returns (default 1).
    pub success_refund: u32,
}

impl Default for RetryBudget {
    fn default() -> Self {
        Self {
            capacity: 500,
            retry_cost: 5,
            timeout_cost: 10,
            success_refund: 1,
        }
    }
}

impl RetryBudget {
    /// A budget that never runs out (each call is still bounded by `max_attempts`).
    pub fn unlimited() -> Self {
        Self {
            capacity: u32::MAX,
            retry_cost: 0,
            timeout_cost: 0,
            success_refund: 0,
        }
    }

    /// Sets [`capacity`](Self::capacity).
    pub fn capacity(mut self, tokens: u32) -> Self {
        self.capacity = tokens;
        self
    }

    /// Sets [`retry_cost`](Self::retry_cost).
    pub fn retry_cost(mut self, tokens: u32) -> Self {
        self.retry_cost = tokens;
        self
    }

    /// Sets [`timeout_cost`](Self::timeout_cost).
    pub fn timeout_cost(mut self, tokens: u32) -> Self {
        self.timeout_cost = tokens;
        self
    }

    /// Sets [`success_refund`](Self::success_refund).
    pub fn success_refund(mut self, tokens: u32) -> Self {
        self.success_refund = tokens;
        self
    }
}

/// Time limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// Limit on establishing a connection (applied to the reqwest client the facade builds).
    pub connect: Duration,
    /// Limit on one attempt, from sending to the end of the response body.
    pub per_attempt: Duration,
    /// Limit on the whole call, across every attempt and every wait (concurrency slot,
    /// client-side limiter, pacing, token refresh, backoff). A limit too large to add to the
    /// current instant means no limit.
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

impl Timeouts {
    /// Sets [`connect`](Self::connect).
    pub fn connect(mut self, limit: Duration) -> Self {
        self.connect = limit;
        self
    }

    /// Sets [`per_attempt`](Self::per_attempt).
    pub fn per_attempt(mut self, limit: Duration) -> Self {
        self.per_attempt = limit;
        self
    }

    /// Sets [`overall`](Self::overall).
    pub fn overall(mut self, limit: Option<Duration>) -> Self {
        self.overall = limit;
        self
    }
}

/// What to do when the server said no requests remain until a reset time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Pacing {
    /// Wait for the reset before sending (within the deadline and `max_retry_after`).
    #[default]
    Wait,
    /// Fail at once with a rate-limited error carrying the wait.
    FailFast,
}

/// Client-side limits, applied before a request leaves (e.g. from a vendor's plan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ClientLimits {
    /// Requests per minute.
    pub per_minute: Option<u32>,
    /// Requests in flight at once.
    pub concurrency: Option<u32>,
    /// Of `per_minute`, how many may go back to back after a quiet spell (default: all of
    /// them; 0 counts as 1). A server that counts in fixed windows can see up to
    /// `per_minute + burst - 1` in one window, so set 1 to stay strictly inside it.
    pub burst: Option<u32>,
}

impl ClientLimits {
    /// No limits (the default), as a `const`.
    pub const fn new() -> Self {
        Self {
            per_minute: None,
            concurrency: None,
            burst: None,
        }
    }

    /// Sets [`per_minute`](Self::per_minute).
    pub const fn per_minute(mut self, requests: u32) -> Self {
        self.per_minute = Some(requests);
        self
    }

    /// Sets [`burst`](Self::burst).
    pub const fn burst(mut self, requests: u32) -> Self {
        self.burst = Some(requests);
        self
    }

    /// Sets [`concurrency`](Self::concurrency).
    pub const fn concurrency(mut self, requests: u32) -> Self {
        self.concurrency = Some(requests);
        self
    }
}

/// How much of a response body the runtime buffers. Bodies are read in chunks and counted; a
/// `Content-Length` above the limit is refused before any of the body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BodyLimits {
    /// Largest success body (2xx and other non-error statuses) the call accepts (default
    /// [`BodyLimits::DEFAULT_SUCCESS`]);
    /// a larger one ends the call with a typed "body too large" error naming the limit.
    pub success: u64,
    /// How much of an error body (4xx/5xx) is kept (default [`BodyLimits::DEFAULT_ERROR`]):
    /// enough for any vendor's error
    /// object. A longer error body is cut to this prefix, not refused.
    pub error: u64,
}

impl Default for BodyLimits {
    fn default() -> Self {
        Self {
            success: Self::DEFAULT_SUCCESS,
            error: Self::DEFAULT_ERROR,
        }
    }
}

impl BodyLimits {
    /// The default [`success`](Self::success) limit: 32 MiB.
    pub const DEFAULT_SUCCESS: u64 = 32 * 1024 * 1024;
    /// The default [`error`](Self::error) prefix: 64 KiB.
    pub const DEFAULT_ERROR: u64 = 64 * 1024;

    /// Sets [`success`](Self::success).
    pub fn success(mut self, bytes: u64) -> Self {
        self.success = bytes;
        self
    }

    /// Sets [`error`](Self::error).
    pub fn error(mut self, bytes: u64) -> Self {
        self.error = bytes;
        self
    }

    /// The limit for a body under `status`.
    pub fn for_status(&self, status: StatusCode) -> u64 {
        if status.is_client_error() || status.is_server_error() {
            self.error
        } else {
            self.success
        }
    }
}

/// Methods that may be repeated without doing twice what they do.
pub(crate) fn idempotent_method(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE
    )
}

/// True when the request carries an idempotency key: an `Idempotency-Key` header, or an
/// `idempotency_key` field at the top of a JSON body (ArchAstro message posts).
pub(crate) fn has_idempotency_key(request: &Request) -> bool {
    if request.headers().contains_key("idempotency-key") {
        return true;
    }
    let Some(bytes) = request.body().and_then(reqwest::Body::as_bytes) else {
        return false;
    };
    // Most bodies do not name the field at all: a byte search (SIMD, no allocation) rules them
    // out before the JSON is parsed (which cost ~10 µs per 10 KB body on every POST). A key
    // spelled with escapes (`"idempotency\u005fkey"`) is missed, which errs the safe way: the
    // request is not sent twice.
    if memchr::memmem::find(bytes, b"\"idempotency_key\"").is_none() {
        return false;
    }
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| v.get("idempotency_key").map(|k| !k.is_null()))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idempotency_key_is_found_only_at_the_top_level_and_not_null() {
        let with = |body: &str| {
            let mut request = Request::new(reqwest::Method::POST, "http://x/".parse().expect("url"));
            *request.body_mut() = Some(body.to_owned().into());
            has_idempotency_key(&request)
        };
        assert!(with(r#"{"idempotency_key":"k1","text":"hi"}"#));
        assert!(!with(r#"{"idempotency_key":null}"#));
        assert!(!with(r#"{"text":"hi"}"#));
        assert!(!with(r#"{"meta":{"idempotency_key":"nested"}}"#));
        assert!(!with(r#"{"text":"\"idempotency_key\" quoted in a value"}"#));
        assert!(!with(r#"not json "idempotency_key""#));
        assert!(!with(r#"{"idempotency\u005fkey":"escaped"}"#), "missed: the safe way");
    }

    #[test]
    fn backoff_saturates_for_any_delay() {
        let huge = RetryPolicy::default()
            .base_delay(Duration::MAX)
            .max_delay(Duration::MAX);
        for attempt in [0, 1, 2, 3, 31, 32, u32::MAX] {
            for fraction in [0.0, 0.5, 0.999_999_999, 1.0, f64::NAN, -1.0, f64::INFINITY] {
                assert!(huge.backoff_at(attempt, fraction) <= Duration::MAX);
            }
        }
        let p = RetryPolicy::default();
        assert_eq!(p.backoff_at(2, 1.0), Duration::from_millis(500));
        assert_eq!(p.backoff_at(3, 1.0), Duration::from_secs(1));
        assert_eq!(p.backoff_at(40, 1.0), Duration::from_secs(8));
        assert_eq!(p.backoff_at(2, 0.0), Duration::ZERO);
    }

    #[test]
    fn error_bodies_get_the_small_limit() {
        let limits = BodyLimits::default();
        assert_eq!(limits.for_status(StatusCode::OK), 32 * 1024 * 1024);
        assert_eq!(limits.for_status(StatusCode::BAD_GATEWAY), 64 * 1024);
        assert_eq!(limits.for_status(StatusCode::NOT_FOUND), 64 * 1024);
    }
}
