//! A documented vendor error code: a leaf, so the generated [`Api`](crate::Api) table can carry
//! each API's codes and the retry rules can read them without the two importing each other.

/// One error code an API documents, and whether retrying it makes sense (generated from the
/// spec's `x-error-codes` into [`Api::error_codes`](crate::Api::error_codes)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VendorCode {
    /// The code as the API sends it.
    pub code: &'static str,
    /// The status the API documents it with.
    pub status: u16,
    /// Whether the API documents it as retryable.
    pub retryable: bool,
}
