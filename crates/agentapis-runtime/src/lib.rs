//! The layer between the generated clients and the network.
//!
//! Every generated client (`invent-client`, `agentiv-client`, `archastro-client`) is built by
//! progenitor with [`Runtime`] as its inner value and a `ClientHooks` impl that hands each
//! request to [`Runtime::execute`]. This crate sits *below* the generated crates, so the facade
//! can configure behaviour (auth, retries, rate limits) without the generated code depending on
//! the facade. Per-operation facts the runtime needs (method, path template, paging style,
//! bracket-encoded query parameters) come from the `OPERATIONS` table each generated file
//! carries.

mod auth;
pub mod multipart;
mod operation;
pub mod query;

pub use auth::{Auth, Secret};
pub use operation::{OperationMeta, Paging};

use std::fmt;
use std::sync::Arc;

/// Shared request pipeline for one API client. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    api: &'static str,
    auth: Auth,
    operations: &'static [OperationMeta],
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("api", &self.inner.api)
            .field("auth", &self.inner.auth)
            .finish()
    }
}

impl Runtime {
    /// A runtime for `api` that authenticates with `auth`; `operations` is the generated table.
    pub fn new(api: &'static str, auth: Auth, operations: &'static [OperationMeta]) -> Self {
        Self {
            inner: Arc::new(Inner { api, auth, operations }),
        }
    }

    /// The API name this runtime serves.
    pub fn api(&self) -> &'static str {
        self.inner.api
    }

    /// What the generated table says about `operation_id`.
    pub fn operation(&self, operation_id: &str) -> Option<&'static OperationMeta> {
        self.inner.operations.iter().find(|op| op.id == operation_id)
    }

    /// Prepares `request` (credentials, query encoding) and sends it with `client`.
    pub async fn execute(
        &self,
        client: &reqwest::Client,
        mut request: reqwest::Request,
        operation_id: &str,
    ) -> reqwest::Result<reqwest::Response> {
        self.prepare(&mut request, operation_id);
        client.execute(request).await
    }

    /// Everything done to a request before the first attempt.
    pub fn prepare(&self, request: &mut reqwest::Request, operation_id: &str) {
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
        self.inner.auth.apply(request.headers_mut());
    }
}
