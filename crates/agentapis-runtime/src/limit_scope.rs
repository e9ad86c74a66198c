//! Where a server's rate limit applies, and so where the admission gate keeps the budget the
//! server states (one per client, or one per operation).

/// Where a server's `X-RateLimit-*` headers apply, and so where pacing state is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LimitScope {
    /// One budget for everything the client sends (a per-key or per-IP limit).
    #[default]
    Client,
    /// A budget per operation (or where the API does not say: an exhausted budget on one route
    /// must not stop the others).
    Operation,
}
