//! The layer between the generated clients and the network.
//!
//! Every generated client (`invent-client`, `agentiv-client`, `archastro-client`) is built by
//! progenitor with [`Runtime`] as its inner value and a `ClientHooks` impl that hands each
//! request to [`Runtime::execute`]. This crate sits *below* the generated crates, so the facade
//! configures behaviour (auth, retries, rate limits) without the generated code depending on the
//! facade. Per-operation facts (method, path template, paging style, bracket-encoded query
//! parameters) come from the `OPERATIONS` table each generated file carries.

mod api;
mod auth;
mod body;
mod budget;
pub mod call;
mod decide;
mod error_body;
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
mod secret;
pub mod token;

pub use api::Api;
pub use auth::Auth;
pub use call::{CallOptions, CallRecord, Refusal, StopReason, Waiting};
pub use error_body::{request_id, ErrorBody};
pub use hooks::{refusal_of, GeneratedClient};
pub use operation::OperationMeta;
pub use pacing::LimitScope;
pub use paging::{PageHeaders, Paging};
pub use path::encode_segment;
pub use policy::{retryable_status, BodyLimits, ClientLimits, Pacing, RetryBudget, RetryPolicy, Timeouts};
pub use rate_limit::RateLimit;
pub use secret::Secret;
pub use token::TokenStore;

use std::fmt;
use std::sync::{Arc, Mutex};

/// Shared request pipeline for one API client. Cheap to clone; clones share rate-limit state.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    api: Api,
    auth: Auth,
    operations: &'static [OperationMeta],
    /// `operations` by id, built once: every request looks its operation up (hooks and loop).
    by_id: std::collections::HashMap<&'static str, &'static OperationMeta>,
    settings: Settings,
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
            .field("settings", &self.inner.settings)
            .field("retry_budget_left", &self.inner.budget.available())
            .finish_non_exhaustive()
    }
}

/// Everything about a runtime's behaviour except its API, credentials and operations: one value
/// the facade's client builder fills in and the runtime keeps.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct Settings {
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Time limits.
    pub timeouts: Timeouts,
    /// What to do when the server reports no requests remaining.
    pub pacing: Pacing,
    /// Client-side request-rate and concurrency limits.
    pub limits: ClientLimits,
    /// How much of a response body is buffered.
    pub body_limits: BodyLimits,
}

impl Runtime {
    /// A runtime for `api` with default settings; `operations` is the generated table.
    pub fn new(api: Api, auth: Auth, operations: &'static [OperationMeta]) -> Self {
        Self::with_settings(api, auth, operations, Settings::default())
    }

    /// A runtime for `api` with `settings`. Pacing state is kept per [`Api::limit_scope`].
    pub fn with_settings(api: Api, auth: Auth, operations: &'static [OperationMeta], settings: Settings) -> Self {
        let limiter = settings
            .limits
            .per_minute
            .and_then(std::num::NonZeroU32::new)
            .map(|n| governor::RateLimiter::direct(governor::Quota::per_minute(n)));
        let concurrency = settings.limits.concurrency.map(|n| {
            tokio::sync::Semaphore::new(
                usize::try_from(n.max(1))
                    .unwrap_or(usize::MAX)
                    .min(tokio::sync::Semaphore::MAX_PERMITS),
            )
        });
        Runtime {
            inner: Arc::new(Inner {
                api,
                auth,
                operations,
                by_id: operations.iter().map(|op| (op.id, op)).collect(),
                settings,
                limiter,
                concurrency,
                rate_limit: Mutex::new(RateLimit::default()),
                pacer: pacing::Pacer::new(api.limit_scope()),
                budget: budget::Bucket::new(settings.retry.budget),
            }),
        }
    }

    /// A runtime with the same settings but other credentials, no client-side limits and pacing
    /// state of its own (kept per [`Api::limit_scope`], as for any runtime of the API), for side
    /// calls such as a token refresh (which must not wait behind, or recurse into, the calls
    /// that triggered it).
    pub fn with_auth(&self, auth: Auth) -> Runtime {
        let settings = Settings {
            limits: ClientLimits::default(),
            ..self.inner.settings
        };
        Runtime::with_settings(self.inner.api, auth, self.inner.operations, settings)
    }

    /// The API this runtime serves.
    pub fn api(&self) -> Api {
        self.inner.api
    }

    /// The settings this runtime was built with.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
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
