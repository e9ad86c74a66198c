//! The crate's one error type.
//!
//! Every failure of every API comes back as an [`Error`]: a server's answer ([`Error::Api`],
//! [`Error::RateLimited`]) with its status, the vendor's code and message, the request id and the
//! raw body; a network failure with the phase it happened in; a body that does not decode; or bad
//! configuration or arguments caught before anything was sent. Errors never contain credentials.

mod argument;
mod config;
mod convert;
mod pagination;

use std::fmt;
use std::time::Duration;

use agentapis_runtime::{Api, StopReason, Waiting};
use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;

use crate::fleet::StoreError;

pub use argument::ArgumentError;
pub use config::{BaseUrlProblem, ConfigError, CredentialProblem, Setting};
pub(crate) use convert::{from_generated, vendor_code as convert_vendor_code, Decoding};
pub use pagination::PaginationFault;

/// Anything that can go wrong calling one of the APIs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error status.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// The server (429), or client-side pacing, refused the request for now. `retry_after` says
    /// how long to wait when known.
    #[error("rate limited: {0}")]
    RateLimited(Box<ApiError>),
    /// No answer in time: one attempt ran past its timeout on the last try, the overall
    /// deadline left no room for another attempt, or it passed while the call waited to send.
    #[error("{api}: timed out after {attempts} attempt(s) ({elapsed:?}{}{})",
        if *.deadline { ", overall deadline" } else { "" },
        waiting_for.map(|w| format!(", waiting for {w}")).unwrap_or_default())]
    Timeout {
        /// The API called.
        api: Api,
        /// Attempts made.
        attempts: u32,
        /// Time spent on the whole call.
        elapsed: Duration,
        /// True when the overall deadline (not one attempt's timeout) ended the call.
        deadline: bool,
        /// What the call was waiting for when the deadline passed, if it had not sent yet
        /// (a concurrency slot, the rate limiter, a token refresh).
        waiting_for: Option<Waiting>,
    },
    /// A response body was larger than the client's limit (see `ClientBuilder::body_limits`);
    /// reading stopped at the limit, so the answer is lost but memory is not.
    #[error("{api}: the {} response body is larger than the {limit}-byte limit{}", status.as_u16(),
        declared.map(|n| format!(" (Content-Length {n})")).unwrap_or_default())]
    BodyTooLarge {
        /// The API called.
        api: Api,
        /// Status of the response.
        status: StatusCode,
        /// The limit that was passed, in bytes.
        limit: u64,
        /// The length the server declared, when it declared one.
        declared: Option<u64>,
    },
    /// The connection failed.
    #[error("{api}: transport error {phase} after {attempts} attempt(s): {source}")]
    Transport {
        /// The API called.
        api: Api,
        /// Whether the request may have reached the server.
        phase: Phase,
        /// Attempts made.
        attempts: u32,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with a success status, but the body is not what the spec describes.
    #[error("{api}: could not decode the {status} response: {reason} (body starts: {snippet:?})")]
    Decode {
        /// The API called.
        api: Api,
        /// Status of the response.
        status: StatusCode,
        /// Why it did not decode.
        reason: String,
        /// The first bytes of the body, lossily as text.
        snippet: String,
        /// The body, or its first 64 KiB when it is longer.
        body: Bytes,
    },
    /// A paginated walk cannot go on: the server's answer to `position` cannot be right.
    #[error("{api}: pagination stopped at {}: {}", printable(&position.to_string()), printable(&fault.to_string()))]
    Pagination {
        /// The API called.
        api: Api,
        /// The position whose answer was wrong.
        position: agentapis_runtime::paging::Position,
        /// What was wrong.
        fault: PaginationFault,
    },
    /// An Agentiv run was still queued or running when the wait's timeout passed. The run goes
    /// on; wait again with `client.execution(execution_id)`. It counts as retryable for the
    /// *wait*: starting the run again would start a second run.
    #[error(
        "agentiv: execution {} did not finish within {waited:?} ({polls} poll(s))",
        printable(execution_id)
    )]
    RunNotFinished {
        /// The execution id.
        execution_id: String,
        /// How long the wait lasted.
        waited: Duration,
        /// Polls made.
        polls: u32,
    },
    /// An Agentiv run finished with status `failed`.
    #[error("agentiv: execution {} failed{}", printable(execution_id),
        summary.as_deref().map(|s| format!(": {}", printable(s))).unwrap_or_default())]
    ExecutionFailed {
        /// The execution id, to look the run up later.
        execution_id: String,
        /// The run's one-line summary, when it has one.
        summary: Option<String>,
    },
    /// An Agentiv execution reached a status this SDK does not know (e.g. `cancelled`), so
    /// waiting for success or failure would never end.
    #[error(
        "agentiv: execution {} is {:?}, a status this SDK does not know",
        printable(execution_id),
        status
    )]
    UnknownExecutionStatus {
        /// The execution id.
        execution_id: String,
        /// The status as sent.
        status: String,
    },
    /// Fleet mode: the shared limit store (e.g. Redis) failed and the fleet fails closed, so
    /// nothing was sent. Retryable when the store was unreachable or slow: it may be back.
    #[error("{api}: not sent: {problem} while waiting for {waiting_for} (the fleet fails closed)")]
    FleetUnavailable {
        /// The API called.
        api: Api,
        /// What the call was waiting for.
        waiting_for: Waiting,
        /// How the store failed.
        problem: crate::fleet::StoreError,
    },
    /// A shared session could not be read or written (fleet mode).
    #[error("{api}: the shared session store failed: {problem}")]
    SharedSession {
        /// The API.
        api: Api,
        /// How the store failed.
        problem: crate::fleet::StoreError,
    },
    /// The client is configured wrongly (a bad base URL, a malformed or missing key).
    #[error("invalid configuration: {0}")]
    InvalidConfig(#[from] ConfigError),
    /// An argument was rejected before anything was sent.
    #[error("invalid argument: {0}")]
    InvalidArgument(#[from] ArgumentError),
    /// A realtime socket, channel or feed failed (an error reply such as `rate_limited` is
    /// typed in it).
    #[error("realtime: {0}")]
    Realtime(#[from] agentapis_runtime::realtime::RealtimeError),
}

/// When a transport error happened, relative to the request reaching the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Nothing reached the server (e.g. connection refused): always safe to send again.
    BeforeSend,
    /// The request may have reached the server (e.g. connection reset while waiting).
    AfterSend,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::BeforeSend => "before the request was sent",
            Phase::AfterSend => "after the request may have been sent",
        })
    }
}

/// A server's error answer.
#[derive(Clone)]
#[non_exhaustive]
pub struct ApiError {
    /// The API that answered.
    pub api: Api,
    /// The HTTP status.
    pub status: StatusCode,
    /// The vendor's error code, or the status class when the body had none.
    pub code: ErrorCode,
    /// The vendor's message, or the status's reason phrase when the body had none.
    pub message: String,
    /// Whether trying again later could succeed (the status or the vendor's code says so).
    pub retryable: bool,
    /// The server's request id (`x-request-id` and similar headers), for support tickets.
    pub request_id: Option<String>,
    /// How long the server asked to wait (or, for client-side pacing, how long until the reset).
    pub retry_after: Option<Duration>,
    /// Extra fields of the vendor's error object (e.g. Agentiv's `integrationSlug`).
    pub details: serde_json::Map<String, serde_json::Value>,
    /// The raw body, exactly as received.
    pub body: Bytes,
    /// The response headers.
    pub headers: HeaderMap,
    /// Attempts made.
    pub attempts: u32,
    /// Why the runtime stopped retrying.
    pub stop: Option<StopReason>,
}

impl ApiError {
    /// The class of the status (what kind of failure, whatever the vendor called it).
    pub fn status_class(&self) -> StatusClass {
        StatusClass::of(self.status)
    }

    /// The body as text (lossy), for logs and debugging.
    pub fn body_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }
}

impl fmt::Debug for ApiError {
    // Headers are left out: they are the server's, but a proxy may echo request headers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("api", &self.api)
            .field("status", &self.status)
            .field("code", &self.code)
            .field("message", &self.message)
            .field("retryable", &self.retryable)
            .field("request_id", &self.request_id)
            .field("retry_after", &self.retry_after)
            .field("details", &self.details)
            .field("attempts", &self.attempts)
            .field("stop", &self.stop)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {} ({})",
            self.api,
            self.status.as_u16(),
            printable(&self.message),
            printable(&self.code.to_string())
        )?;
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        if self.attempts > 1 {
            write!(f, " after {} attempts", self.attempts)?;
        }
        if let Some(wait) = self.retry_after {
            write!(f, "; retry after {wait:?}")?;
        }
        Ok(())
    }
}

/// Server-provided text made safe to print: control characters (newlines, escape sequences)
/// are escaped, so a hostile server cannot forge log lines or terminal output, and very long
/// text is cut.
pub(crate) fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    const MAX_CHARS: usize = 1000;
    if !text.chars().any(char::is_control) && text.len() <= MAX_CHARS {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len().min(MAX_CHARS * 2));
    for (i, c) in text.chars().enumerate() {
        if i == MAX_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The vendor's name for what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    /// One of Agentiv's documented codes (or an unknown one it sent): `agentiv::ErrorCode`.
    #[cfg(feature = "agentiv")]
    Agentiv(agentiv_client::types::ErrorDetailCode),
    /// A code the server sent that no spec lists as a closed set (Invent, ArchAstro).
    Vendor(String),
    /// The body carried no code; the status class stands in.
    Status(StatusClass),
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            #[cfg(feature = "agentiv")]
            ErrorCode::Agentiv(code) => f.write_str(code.as_str()),
            ErrorCode::Vendor(code) => f.write_str(code),
            ErrorCode::Status(class) => write!(f, "{class:?}"),
        }
    }
}

/// What an error status means, independent of the vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatusClass {
    /// 400.
    BadRequest,
    /// 401.
    Unauthorized,
    /// 403.
    Forbidden,
    /// 404.
    NotFound,
    /// 409.
    Conflict,
    /// 422.
    Unprocessable,
    /// 429.
    RateLimited,
    /// Any other 4xx.
    OtherClientError,
    /// 5xx.
    ServerError,
    /// Not an error status (an undocumented answer).
    Unexpected,
}

impl StatusClass {
    /// The class of `status`.
    // The named statuses come first on purpose; the ranges catch the rest.
    #[allow(clippy::match_overlapping_arm)]
    pub fn of(status: StatusCode) -> Self {
        match status.as_u16() {
            400 => Self::BadRequest,
            401 => Self::Unauthorized,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            409 => Self::Conflict,
            422 => Self::Unprocessable,
            429 => Self::RateLimited,
            400..=499 => Self::OtherClientError,
            500..=599 => Self::ServerError,
            _ => Self::Unexpected,
        }
    }
}

impl Error {
    /// The HTTP status, when a server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(e) | Error::RateLimited(e) => Some(e.status),
            Error::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's error answer, when there was one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) | Error::RateLimited(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the same call could succeed if tried again later.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(e) | Error::RateLimited(e) => e.retryable,
            Error::Timeout { .. } | Error::Transport { .. } | Error::RunNotFinished { .. } => true,
            Error::Realtime(e) => e.is_retryable(),
            // A store that is out may be back; one that answers nonsense will not mend by itself.
            Error::FleetUnavailable { problem, .. } | Error::SharedSession { problem, .. } => {
                matches!(problem, StoreError::Unreachable(_) | StoreError::Timeout(_))
            }
            _ => false,
        }
    }

    /// How long to wait before trying again, when the server (or pacing) said.
    pub fn retry_after(&self) -> Option<Duration> {
        self.api_error().and_then(|e| e.retry_after)
    }

    /// The server's request id, when it sent one.
    pub fn request_id(&self) -> Option<&str> {
        self.api_error().and_then(|e| e.request_id.as_deref())
    }

    /// How many attempts were made (0 when nothing was sent; polls, for a run that did not finish).
    pub fn attempts(&self) -> u32 {
        match self {
            Error::Api(e) | Error::RateLimited(e) => e.attempts,
            Error::Timeout { attempts, .. } | Error::Transport { attempts, .. } => *attempts,
            Error::RunNotFinished { polls, .. } => *polls,
            _ => 0,
        }
    }
}
