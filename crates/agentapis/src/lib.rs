//! One client runtime for three AI-agent platform APIs: [Invent](invent), [Agentiv](agentiv) and
//! [ArchAstro](archastro).
//!
//! Each API module has a `Client` with a builder and `from_env()`. Every generated operation is
//! reachable through `client.call(|api| api.<operation>()…send())`, which sends it through one
//! shared runtime:
//!
//! - **auth**: keys live in [`Secret`]; no `Debug`, `Display`, error or tracing line shows them;
//! - **retries**: full-jitter exponential backoff on 408/429/5xx, timeouts and connection errors;
//!   `Retry-After` and `X-RateLimit-Reset` honoured (and clamped); a request that may not be safe
//!   to repeat (POST/PATCH without an idempotency key) is never sent twice unless the caller opts
//!   in with [`CallOptions::retry_unsafe`];
//! - **rate limits**: [`RateLimit`] on every response and as a client-wide snapshot; pacing when
//!   the server says nothing remains; optional client-side limits ([`ClientLimits`]);
//! - **errors**: one typed [`Error`] with status, vendor code, message, retryability, request id,
//!   `retry_after`, the raw body, and how many attempts were made.
//!
//! ```no_run
//! use std::time::Duration;
//! use agentapis::{archastro, Error};
//!
//! # async fn demo() -> Result<(), Error> {
//! let client = archastro::Client::builder()
//!     .secret_key("sk_live_…")
//!     .max_attempts(4)
//!     .deadline(Some(Duration::from_secs(30)))
//!     .build()?;
//! match client.call(|api| api.get_agent().agent("agt_1").send()).await {
//!     Ok(agent) => println!("{:?} ({} attempt(s))", agent.id, agent.attempts()),
//!     Err(Error::RateLimited(e)) => println!("slow down: retry after {:?}", e.retry_after),
//!     Err(e) if e.status() == Some(reqwest::StatusCode::NOT_FOUND) => println!("no such agent"),
//!     Err(e) => return Err(e),
//! }
//! # Ok(()) }
//! ```
//!
//! The generated clients stay reachable as an escape hatch: `client.generated()` returns the
//! low-level client, already wired to the same runtime.

mod call;
pub mod client;
pub mod error;
pub mod fleet;
pub mod pages;
mod response;

#[cfg(feature = "agentiv")]
pub mod agentiv;
#[cfg(feature = "archastro")]
pub mod archastro;
#[cfg(feature = "invent")]
pub mod invent;

pub use agentapis_runtime::paging::{Paginated, Paging, Position};
pub use agentapis_runtime::{
    Api, BodyLimits, CallOptions, ClientLimits, LimitScope, Pacing, PageHeaders, RateLimit, RetryBudget, RetryPolicy,
    Secret, Settings, StopReason, Timeouts, Waiting,
};
pub use client::{Client, ClientBuilder, Output, Vendor};
pub use error::{ApiError, ArgumentError, ConfigError, Error, ErrorCode, PaginationFault, Phase, StatusClass};
pub use pages::{Direction, ItemStream, Page, PageOptions, PageStream};
pub use response::Response;

/// The workspace README's examples, compiled as doctests so they cannot drift from the API.
#[cfg(all(doctest, feature = "invent", feature = "agentiv", feature = "archastro"))]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeExamples;
