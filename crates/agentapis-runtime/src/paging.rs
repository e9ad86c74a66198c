//! What a paginated operation's request builder can do, so one generic pager (in the facade)
//! walks every paginated operation of every API.
//!
//! The xtask implements [`Paginated`] for the request builder of each operation it detects as
//! paginated, in the generated file next to the builder; the facade drives it.

use std::future::Future;

use progenitor_client::ResponseValue;
use serde::Serialize;

use crate::Paging;

/// Where a page starts. Persist it (it is `Display`/`FromStr`) to resume a walk later.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Position {
    /// The first page (no page number or cursor sent).
    First,
    /// A 1-based page number.
    Page(u64),
    /// The page after this cursor (newer entries, for ArchAstro feeds).
    After(String),
    /// The page before this cursor (older entries).
    Before(String),
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Position::First => f.write_str("first"),
            Position::Page(n) => write!(f, "page:{n}"),
            Position::After(c) => write!(f, "after:{c}"),
            Position::Before(c) => write!(f, "before:{c}"),
        }
    }
}

/// A string that is not a [`Position`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPosition(pub String);

impl std::fmt::Display for BadPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "not a page position: {:?} (expected first, page:N, after:C or before:C)",
            self.0
        )
    }
}

impl std::error::Error for BadPosition {}

impl std::str::FromStr for Position {
    type Err = BadPosition;

    fn from_str(s: &str) -> Result<Self, BadPosition> {
        let bad = || BadPosition(s.chars().take(100).collect());
        match s.split_once(':') {
            None if s == "first" => Ok(Position::First),
            Some(("page", n)) => n.parse().ok().filter(|n| *n >= 1).map(Position::Page).ok_or_else(bad),
            Some(("after", c)) if !c.is_empty() => Ok(Position::After(c.to_owned())),
            Some(("before", c)) if !c.is_empty() => Ok(Position::Before(c.to_owned())),
            _ => Err(bad()),
        }
    }
}

/// Paging facts a response body carried (all optional: each API sends a different subset).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageMeta {
    /// Cursor for the page after this one.
    pub after_cursor: Option<String>,
    /// Cursor for the page before this one.
    pub before_cursor: Option<String>,
    /// Whether more entries follow (cursor style).
    pub has_more: Option<bool>,
    /// Whether a next page exists (page style).
    pub has_next: Option<bool>,
    /// The page number the server says it returned.
    pub page: Option<u64>,
    /// Total pages.
    pub total_pages: Option<u64>,
    /// Total entries.
    pub total_items: Option<u64>,
}

impl PageMeta {
    /// Records body field `field` (any serializable type: the generated field types vary).
    /// Unknown fields and values of the wrong kind are ignored.
    pub fn read<T: Serialize>(&mut self, field: &str, value: &T) {
        let Ok(value) = serde_json::to_value(value) else {
            return;
        };
        let text = || value.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
        let number = || {
            value
                .as_u64()
                .or_else(|| value.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
        };
        match field {
            "after_cursor" => self.after_cursor = text(),
            "before_cursor" => self.before_cursor = text(),
            "has_more" => self.has_more = value.as_bool(),
            "has_next" => self.has_next = value.as_bool(),
            "page" => self.page = number(),
            "total_pages" => self.total_pages = number(),
            "total_entries" | "total_count" => self.total_items = number(),
            _ => {}
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
    fn positions_round_trip_through_text() {
        for p in [
            Position::First,
            Position::Page(7),
            Position::After("g3QAAAAB:x".into()),
            Position::Before("abc".into()),
        ] {
            assert_eq!(p.to_string().parse::<Position>(), Ok(p.clone()));
        }
        for bad in ["", "page:0", "page:x", "after:", "sideways:1", "firstish"] {
            assert!(bad.parse::<Position>().is_err(), "{bad}");
        }
    }

    #[test]
    fn meta_reads_any_field_type() {
        let mut m = PageMeta::default();
        m.read("after_cursor", &Some("c2"));
        m.read("before_cursor", &None::<String>);
        m.read("has_more", &Some(true));
        m.read("total_pages", &3i64);
        m.read("total_count", &Some(41.0f64));
        m.read("page", &-1i64);
        m.read("unrelated", &"x");
        assert_eq!(
            m,
            PageMeta {
                after_cursor: Some("c2".into()),
                has_more: Some(true),
                total_pages: Some(3),
                total_items: Some(41),
                ..PageMeta::default()
            }
        );
    }
}
