//! Facts about one generated operation, emitted by the xtask into each generated file.

use crate::paging::Paging;

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
