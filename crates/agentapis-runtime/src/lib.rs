//! The layer between the generated clients and the network.
//!
//! Every generated client (`invent-client`, `agentiv-client`, `archastro-client`) is built by
//! progenitor with [`Runtime`] as its inner value and a `ClientHooks` impl that hands each
//! request to [`Runtime::execute`]. This crate sits *below* the generated crates, so the facade
//! configures behaviour (auth, retries, rate limits) without the generated code depending on the
//! facade. Per-operation facts (method, path template, paging style, bracket-encoded query
//! parameters) come from the `OPERATIONS` table each generated file carries.

mod auth;
mod body;
mod budget;
pub mod call;
mod decide;
mod execute;
mod hooks;
pub mod multipart;
mod operation;
mod pacing;
pub mod paging;
mod path;
mod policy;
pub mod query;
pub mod rate_limit;
pub mod token;

pub use auth::{Auth, Secret};
pub use call::{CallOptions, CallRecord, Refusal, StopReason, Waiting};
pub use hooks::refusal_of;
pub use operation::{OperationMeta, Paging};
pub use pacing::LimitScope;
pub use path::encode_segment;
pub use policy::{retryable_status, BodyLimits, ClientLimits, Pacing, RetryBudget, RetryPolicy, Timeouts};
pub use rate_limit::RateLimit;
pub use token::TokenStore;

use std::fmt;
use std::sync::{Arc, Mutex};

/// Shared request pipeline for one API client. Cheap to clone; clones share rate-limit state.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    api: &'static str,
    auth: Auth,
    operations: &'static [OperationMeta],
    /// `operations` by id, built once: every request looks its operation up (hooks and loop).
    by_id: std::collections::HashMap<&'static str, &'static OperationMeta>,
    retry: RetryPolicy,
    timeouts: Timeouts,
    pacing: Pacing,
    body_limits: BodyLimits,
    limiter: Option<governor::DefaultDirectRateLimiter>,
    concurrency: Option<tokio::sync::Semaphore>,
    rate_limit: Mutex<RateLimit>,
    pacer: pacing::Pacer,
    budget: budget::Bucket,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("api", &self.inner.api)
            .field("auth", &self.inner.auth)
            .field("retry", &self.inner.retry)
            .field("timeouts", &self.inner.timeouts)
            .field("pacing", &self.inner.pacing)
            .field("body_limits", &self.inner.body_limits)
            .field("retry_budget_left", &self.inner.budget.available())
            .finish_non_exhaustive()
    }
}

/// Builds a [`Runtime`].
#[derive(Debug, Clone)]
pub struct RuntimeBuilder {
    api: &'static str,
    auth: Auth,
    operations: &'static [OperationMeta],
    retry: RetryPolicy,
    timeouts: Timeouts,
    pacing: Pacing,
    limits: ClientLimits,
    body_limits: BodyLimits,
    scope: LimitScope,
}

impl RuntimeBuilder {
    /// Retry policy (default [`RetryPolicy::default`]).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Timeouts (default [`Timeouts::default`]).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// What to do when the server reports no requests remaining.
    pub fn pacing(mut self, pacing: Pacing) -> Self {
        self.pacing = pacing;
        self
    }

    /// Client-side request-rate and concurrency limits.
    pub fn limits(mut self, limits: ClientLimits) -> Self {
        self.limits = limits;
        self
    }

    /// How much of a response body is buffered (default [`BodyLimits::default`]).
    pub fn body_limits(mut self, limits: BodyLimits) -> Self {
        self.body_limits = limits;
        self
    }

    /// Where the server's rate-limit headers apply (default [`LimitScope::Client`]).
    pub fn limit_scope(mut self, scope: LimitScope) -> Self {
        self.scope = scope;
        self
    }

    /// Finishes the runtime.
    pub fn build(self) -> Runtime {
        let limiter = self
            .limits
            .per_minute
            .and_then(std::num::NonZeroU32::new)
            .map(|n| governor::RateLimiter::direct(governor::Quota::per_minute(n)));
        let concurrency = self.limits.concurrency.map(|n| {
            tokio::sync::Semaphore::new(
                usize::try_from(n.max(1))
                    .unwrap_or(usize::MAX)
                    .min(tokio::sync::Semaphore::MAX_PERMITS),
            )
        });
        Runtime {
            inner: Arc::new(Inner {
                api: self.api,
                auth: self.auth,
                operations: self.operations,
                by_id: self.operations.iter().map(|op| (op.id, op)).collect(),
                retry: self.retry,
                timeouts: self.timeouts,
                pacing: self.pacing,
                body_limits: self.body_limits,
                limiter,
                concurrency,
                rate_limit: Mutex::new(RateLimit::default()),
                pacer: pacing::Pacer::new(self.scope),
                budget: budget::Bucket::new(self.retry.budget),
            }),
        }
    }
}

impl Runtime {
    /// A runtime for `api` with default policies; `operations` is the generated table.
    pub fn new(api: &'static str, auth: Auth, operations: &'static [OperationMeta]) -> Self {
        Self::builder(api, auth, operations).build()
    }

    /// A builder for a runtime for `api`.
    pub fn builder(api: &'static str, auth: Auth, operations: &'static [OperationMeta]) -> RuntimeBuilder {
        RuntimeBuilder {
            api,
            auth,
            operations,
            retry: RetryPolicy::default(),
            timeouts: Timeouts::default(),
            pacing: Pacing::default(),
            limits: ClientLimits::default(),
            body_limits: BodyLimits::default(),
            scope: LimitScope::default(),
        }
    }

    /// A runtime with the same policies but other credentials and no client-side limits, for
    /// side calls such as a token refresh (which must not wait behind, or recurse into, the
    /// calls that triggered it).
    pub fn with_auth(&self, auth: Auth) -> Runtime {
        Runtime::builder(self.inner.api, auth, self.inner.operations)
            .retry(self.inner.retry)
            .timeouts(self.inner.timeouts)
            .pacing(self.inner.pacing)
            .body_limits(self.inner.body_limits)
            .build()
    }

    /// The API name this runtime serves.
    pub fn api(&self) -> &'static str {
        self.inner.api
    }

    /// The configured timeouts (the facade applies `connect` to the reqwest client it builds).
    pub fn timeouts(&self) -> Timeouts {
        self.inner.timeouts
    }

    /// The latest rate-limit state any response reported.
    pub fn rate_limit(&self) -> RateLimit {
        self.inner.rate_limit.lock().map(|r| *r).unwrap_or_default()
    }

    /// What the generated table says about `operation_id`.
    pub fn operation(&self, operation_id: &str) -> Option<&'static OperationMeta> {
        self.inner.by_id.get(operation_id).copied()
    }

    /// Checks a request before anything is sent: every path parameter must be exactly one
    /// segment (see the `path` module). A refusal is recorded in the call's record too.
    pub fn check_request(&self, request: &reqwest::Request, operation_id: &str, base_url: &str) -> Result<(), Refusal> {
        let Some(op) = self.operation(operation_id) else {
            return Ok(());
        };
        if path::matches_template(request.url(), base_url, op.path) {
            return Ok(());
        }
        let refusal = Refusal::PathParameter {
            operation: op.id,
            template: op.path,
        };
        tracing::info!(operation = op.id, %refusal, "refused");
        call::update(|r| {
            r.stop = Some(StopReason::Refused);
            r.refusal = Some(refusal.clone());
        });
        Err(refusal)
    }

    /// Everything done to a request before the first attempt. Returns the generation of the
    /// replaceable token the request carries, if any.
    pub fn prepare(&self, request: &mut reqwest::Request, operation_id: &str) -> Option<u64> {
        // progenitor 0.15 stamps every request with the spec's `info.version` as `api-version`.
        // None of our vendors documents that header, so it is not sent.
        request.headers_mut().remove("api-version");
        if let Some(op) = self.operation(operation_id) {
            if !op.deep_query.is_empty() {
                query::splice_deep_params(request.url_mut(), op.deep_query);
            }
            if op.multipart {
                multipart::set_content_type(request);
            }
        }
        self.inner.auth.apply(request.headers_mut())
    }
}
