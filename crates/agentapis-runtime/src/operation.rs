//! Facts about one generated operation, emitted by the xtask into each generated file.

/// How an operation pages through results (detected by the xtask from its parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// `before_cursor`/`after_cursor` query parameters; cursors in the response body.
    Cursor,
    /// 1-based `page` with `page_size`.
    PageSize,
    /// 1-based `page` with `per_page`.
    PerPage,
    /// 1-based `page` with `take`; totals in `pagination-*` response headers.
    PageTake,
}

/// One operation of a generated client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationMeta {
    /// The client method's name, which progenitor also reports as `OperationInfo::operation_id`.
    pub id: &'static str,
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Path template as in the spec, e.g. `/api/v1/agents/{agent}`.
    pub path: &'static str,
    /// Paging style, when the operation is paginated.
    pub paging: Option<Paging>,
    /// Query parameters whose value is a pre-encoded bracket query (see [`crate::query`]).
    pub deep_query: &'static [&'static str],
    /// The body is a pre-built `multipart/form-data` payload sent as raw bytes.
    pub multipart: bool,
}
