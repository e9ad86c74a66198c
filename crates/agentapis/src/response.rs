//! A successful answer with the facts around it.

use std::ops::Deref;

use agentapis_runtime::{PageHeaders, RateLimit};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;

/// A decoded success body plus status, headers, rate-limit state and attempt count.
/// Dereferences to the body.
#[derive(Debug, Clone)]
pub struct Response<T> {
    pub(crate) body: T,
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) rate_limit: RateLimit,
    pub(crate) pages: PageHeaders,
    pub(crate) attempts: u32,
}

impl<T> Response<T> {
    /// The decoded body.
    pub fn into_inner(self) -> T {
        self.body
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// What this response said about rate limits.
    pub fn rate_limit(&self) -> &RateLimit {
        &self.rate_limit
    }

    /// What this response's `pagination-*` headers said (Invent's paginated operations).
    pub fn page_headers(&self) -> &PageHeaders {
        &self.pages
    }

    /// Attempts it took (1 unless a retry happened).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The server's request id, when it sent one.
    pub fn request_id(&self) -> Option<&str> {
        agentapis_runtime::request_id(&self.headers)
    }

    /// Applies `f` to the body, keeping the rest.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Response<U> {
        Response {
            body: f(self.body),
            status: self.status,
            headers: self.headers,
            rate_limit: self.rate_limit,
            pages: self.pages,
            attempts: self.attempts,
        }
    }
}

impl<T> Deref for Response<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.body
    }
}
