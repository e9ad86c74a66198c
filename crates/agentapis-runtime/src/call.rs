//! What happened during one call (all its attempts), reported to whoever scoped the call.
//!
//! The generated clients' hook can only return a `reqwest::Result<Response>`, which cannot carry
//! our own facts (attempt count, why retrying stopped, a server-requested wait). The facade runs
//! each call inside [`scope`]; the runtime writes into the scope's [`CallRecord`], and the
//! facade reads it to build a typed error. Outside a scope nothing is recorded.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;

use crate::rate_limit::RateLimit;

/// Why the runtime stopped trying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The last attempt succeeded, or failed in a way retrying cannot fix (e.g. 404).
    Final,
    /// Every allowed attempt was used.
    AttemptsExhausted,
    /// The overall deadline left no time for another attempt.
    Deadline,
    /// The server asked for a wait longer than the deadline or the configured cap.
    RetryAfterTooLong,
    /// The request is not safe to send twice (POST/PATCH without an idempotency key, after it may
    /// have reached the server).
    NotIdempotent,
    /// Client-side pacing refused to send (fail-fast mode, no requests remaining).
    PacedFailFast,
    /// The body could not be cloned for another attempt (a stream).
    BodyNotReplayable,
}

/// Facts about one call.
#[derive(Debug, Clone, Default)]
pub struct CallRecord {
    /// Attempts sent to the network.
    pub attempts: u32,
    /// Why the runtime stopped (set when a call ends).
    pub stop: Option<StopReason>,
    /// Status of the last response, if any.
    pub status: Option<StatusCode>,
    /// Headers of the last response, if any.
    pub headers: Option<HeaderMap>,
    /// Rate-limit state from the last response.
    pub rate_limit: RateLimit,
    /// The wait the server asked for, when that ended the call.
    pub retry_after: Option<Duration>,
    /// Whether any attempt may have reached the server (for transport errors).
    pub sent: bool,
    /// The body of the last response when its status was an error (4xx/5xx), kept so a typed
    /// error can show what the server said even when the body does not match the spec.
    pub error_body: Option<bytes::Bytes>,
    /// Time from the first attempt to the end of the call.
    pub elapsed: Duration,
}

/// Per-call choices a caller can make.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallOptions {
    /// Treat the request as safe to repeat even if its method is not idempotent. Opt in only when
    /// a duplicate is harmless (e.g. re-running an Agentiv agent after `EXECUTION_FAILED`).
    pub retry_unsafe: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Scope {
    pub(crate) options: CallOptions,
    pub(crate) record: Mutex<CallRecord>,
}

tokio::task_local! {
    static SCOPE: Arc<Scope>;
}

/// Runs `call` with `options`, returning its output and what the runtime recorded.
pub async fn scope<F: Future>(options: CallOptions, call: F) -> (F::Output, CallRecord) {
    let scope = Arc::new(Scope {
        options,
        record: Mutex::new(CallRecord::default()),
    });
    let output = SCOPE.scope(Arc::clone(&scope), call).await;
    let record = scope.record.lock().map(|r| r.clone()).unwrap_or_default();
    (output, record)
}

pub(crate) fn options() -> CallOptions {
    SCOPE.try_with(|s| s.options).unwrap_or_default()
}

pub(crate) fn update(f: impl FnOnce(&mut CallRecord)) {
    let _ = SCOPE.try_with(|s| {
        if let Ok(mut r) = s.record.lock() {
            f(&mut r);
        }
    });
}
