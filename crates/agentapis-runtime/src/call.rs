//! What happened during one call (all its attempts), reported to whoever scoped the call.
//!
//! The generated clients' hook can only return a `reqwest::Result<Response>`, which cannot carry
//! our own facts (attempt count, why retrying stopped, a server-requested wait). The facade runs
//! each call inside [`scope`]; the runtime writes into the scope's [`CallRecord`], and the
//! facade reads it to build a typed error. Outside a scope nothing is recorded.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;

use crate::error_body::ErrorBody;
use crate::paging::PageHeaders;
use crate::rate_limit::RateLimit;

/// Why the runtime stopped trying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
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
    /// The client-wide retry budget is spent: the server has been failing for many calls.
    RetryBudgetExhausted,
    /// The runtime refused to send or to read on (see [`CallRecord::refusal`]).
    Refused,
}

/// Something the runtime refused to do, with what a typed error needs. It is recorded in the
/// call's [`CallRecord`] for the facade, and attached to the stand-in response handed to the
/// generated code so the client hooks turn it into `progenitor_client::Error::Custom` for callers
/// of the generated clients.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The server said no requests remain until a reset, and pacing would not wait (fail-fast
    /// mode, or the wait ends past the call's deadline).
    Paced {
        /// How long until requests may be sent again.
        wait: Duration,
    },
    /// The call's deadline passed before the request could be sent.
    Deadline {
        /// What the call was waiting for.
        waiting_for: Waiting,
    },
    /// A path parameter would have changed the route (empty, `.`, `..`, or holding `\`).
    PathParameter {
        /// The operation.
        operation: &'static str,
        /// Its path template.
        template: &'static str,
    },
    /// Fleet mode: the shared limit store failed while the call waited for `waiting_for`, and
    /// the fleet fails closed. Nothing was sent.
    Fleet {
        /// What the call was waiting for.
        waiting_for: Waiting,
        /// How the store failed.
        problem: crate::fleet::StoreError,
    },
    /// A response body was larger than the configured limit; nothing past the limit was read.
    BodyTooLarge {
        /// The response status.
        status: StatusCode,
        /// The limit, in bytes.
        limit: u64,
        /// The `Content-Length` the server declared, when it declared one.
        declared: Option<u64>,
    },
}

/// What a call was waiting for when its deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Waiting {
    /// A client-side concurrency slot.
    ConcurrencySlot,
    /// The client-side request-rate limiter.
    RateLimiter,
    /// A token refresh (possibly run by another call).
    TokenRefresh,
}

impl fmt::Display for Waiting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Waiting::ConcurrencySlot => "a concurrency slot",
            Waiting::RateLimiter => "the client-side rate limiter",
            Waiting::TokenRefresh => "a token refresh",
        })
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Paced { wait } => write!(f, "not sent: no requests remain until the rate-limit reset in {wait:?}"),
            Refusal::Deadline { waiting_for } => write!(
                f,
                "not sent: the call's deadline passed while waiting for {waiting_for}"
            ),
            Refusal::Fleet { waiting_for, problem } => write!(
                f,
                "not sent: {problem} while waiting for {waiting_for}, and the fleet fails closed"
            ),
            Refusal::PathParameter { operation, template } => write!(
                f,
                "not sent: a path parameter of {operation} ({template}) is empty, \".\", \"..\" or \
                 holds a backslash, which would change the route"
            ),
            Refusal::BodyTooLarge {
                status,
                limit,
                declared,
            } => {
                write!(
                    f,
                    "the {} response body is larger than the {limit}-byte limit",
                    status.as_u16()
                )?;
                if let Some(declared) = declared {
                    write!(f, " (Content-Length {declared})")?;
                }
                Ok(())
            }
        }
    }
}

/// Facts about one call, parsed once by the runtime; the facade builds its answers from them.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CallRecord {
    /// Attempts sent to the network.
    pub attempts: u32,
    /// Why the runtime stopped (set when a call ends).
    pub stop: Option<StopReason>,
    /// Status of the last response, if any.
    pub status: Option<StatusCode>,
    /// Headers of the last response, if any. In a [`scope`] they are moved here, not copied:
    /// the response the generated code decodes carries none (except a `101`, which keeps them).
    pub headers: Option<HeaderMap>,
    /// Rate-limit state from the last response, parsed once by the runtime.
    pub rate_limit: RateLimit,
    /// The last response's `pagination-*` headers (paginated operations only).
    pub pages: PageHeaders,
    /// What the runtime refused to do, when a refusal ended the call.
    pub refusal: Option<Refusal>,
    /// The wait the server asked for, when that ended the call.
    pub retry_after: Option<Duration>,
    /// Whether any attempt may have reached the server (for transport errors).
    pub sent: bool,
    /// The body of the last response when its status was an error (4xx/5xx), at most
    /// `BodyLimits::error` bytes of it, kept so a typed error can show what the server said even
    /// when the body does not match the spec.
    pub error_body: Option<bytes::Bytes>,
    /// [`error_body`](Self::error_body) read as a vendor error (code, message, details).
    pub error: Option<ErrorBody>,
    /// For an error status: whether the client's retry rules judged it worth another attempt
    /// (the verdict the attempt loop acted on, reported as the typed error's `retryable`).
    pub retryable: Option<bool>,
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
///
/// Not an `async fn`: that would keep `call` in its state beside the running scope that holds it
/// too, and a call's future is kilobytes, moved with every wrapper.
pub fn scope<F: Future>(options: CallOptions, call: F) -> impl Future<Output = (F::Output, CallRecord)> {
    use futures_util::FutureExt as _;
    let scope = Arc::new(Scope {
        options,
        record: Mutex::new(CallRecord::default()),
    });
    let recorded = Arc::clone(&scope);
    SCOPE.scope(scope, call).map(move |output| {
        // Taken, not cloned: the call is over, and the record holds a header map.
        let record = recorded
            .record
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default();
        (output, record)
    })
}

/// Whether a [`scope`] is recording this call (the facade's calls): then the response's headers
/// are moved into the record, and the generated code gets none to copy.
pub(crate) fn in_scope() -> bool {
    SCOPE.try_with(|_| ()).is_ok()
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
