//! What a paginated operation's request builder can do, so one generic pager (in the facade)
//! walks every paginated operation of every API.
//!
//! The xtask implements [`Paginated`] for the request builder of each operation it detects as
//! paginated, in the generated file next to the builder; the facade drives it.

use std::future::Future;

pub use agentapis_paging::{detect, BadPosition, Direction, MetaValue, PageMeta, Paging, Position};
use progenitor_client::ResponseValue;
use reqwest::header::HeaderMap;

/// What a response's `pagination-*` headers say (Invent sends them on page/take operations).
/// Parsed once by the runtime into the call's record, apart from rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct PageHeaders {
    /// `pagination-count`: total entries.
    pub total_items: Option<u64>,
    /// `pagination-page`: the page served.
    pub page: Option<u64>,
    /// `pagination-take`: entries per page.
    pub take: Option<u64>,
}

impl PageHeaders {
    /// Reads the `pagination-*` headers; absent or unparsable ones are `None`.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse().ok();
        Self {
            total_items: number("pagination-count"),
            page: number("pagination-page"),
            take: number("pagination-take"),
        }
    }
}

/// A request builder of a paginated operation, as the generated code implements it.
pub trait Paginated: Clone + Send {
    /// The decoded body of one page.
    type Page;
    /// One entry of a page.
    type Item;
    /// The generated error body type.
    type Error;
    /// How the operation pages.
    const STYLE: Paging;
    /// The documented maximum page size, if any.
    const MAX_PAGE_SIZE: Option<u64>;
    /// Whether the operation can page backwards (`before_cursor`).
    const BACKWARD: bool;

    /// This request, positioned at `position`.
    fn at(self, position: &Position) -> Self;
    /// This request with page size `size` (the operation's `page_size`/`per_page`/`take`/`limit`).
    fn with_page_size(self, size: u64) -> Self;
    /// Sends it.
    fn send_page(
        self,
    ) -> impl Future<Output = Result<ResponseValue<Self::Page>, progenitor_client::Error<Self::Error>>> + Send;
    /// The entries of a page and its paging facts.
    fn split(page: Self::Page) -> (Vec<Self::Item>, PageMeta);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_headers_are_read_apart_from_rate_limits() {
        let mut h = HeaderMap::new();
        h.insert("pagination-count", "41".parse().expect("header"));
        h.insert("pagination-page", " 2 ".parse().expect("header"));
        h.insert("pagination-take", "-1".parse().expect("header"));
        h.insert("x-ratelimit-remaining", "3".parse().expect("header"));
        assert_eq!(
            PageHeaders::from_headers(&h),
            PageHeaders {
                total_items: Some(41),
                page: Some(2),
                take: None
            }
        );
    }
}
