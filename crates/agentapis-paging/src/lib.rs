//! The paging vocabulary shared by the xtask (which detects paginated operations and generates
//! their glue), the runtime (which hands pages to the facade's pager) and the stand-in (which
//! serves pages): one [`Paging`] description, one [`detect`] function, the [`Position`] a page
//! starts at and the [`PageMeta`] a page body carries.
//!
//! It has no dependencies, so the generator can use it without building the runtime.

mod meta;
mod position;

pub use meta::{MetaField, MetaValue, PageMeta, BODY_FIELDS};
pub use position::{BadPosition, Position};

/// How an operation pages through results.
///
/// `#[non_exhaustive]`: a vendor may bring another style. Every crate of this workspace that
/// handles styles one by one has a test over [`Paging::ALL`], so a new style cannot fall through
/// a wildcard unnoticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Paging {
    /// `before_cursor`/`after_cursor` query parameters; cursors in the response body.
    Cursor,
    /// 1-based `page` with `page_size`.
    PageSize,
    /// 1-based `page` with `per_page`.
    PerPage,
    /// 1-based `page` with `take`; a bare array body and totals in `pagination-*` headers.
    PageTake,
}

impl Paging {
    /// Every style, in detection order.
    pub const ALL: [Paging; 4] = [Paging::Cursor, Paging::PageSize, Paging::PerPage, Paging::PageTake];

    /// The query parameter that sets the page size.
    pub fn size_param(self) -> &'static str {
        match self {
            Paging::Cursor => "limit",
            Paging::PageSize => "page_size",
            Paging::PerPage => "per_page",
            Paging::PageTake => "take",
        }
    }

    /// Whether pages are numbered (`page=N`), as opposed to reached by cursor.
    pub fn is_numbered(self) -> bool {
        self != Paging::Cursor
    }

    /// Short label for tables and reports.
    pub fn label(self) -> &'static str {
        match self {
            Paging::Cursor => "cursor",
            Paging::PageSize => "page+page_size",
            Paging::PerPage => "page+per_page",
            Paging::PageTake => "page+take",
        }
    }
}

/// Which way a cursor walk goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// Follow `after_cursor` (page-number styles always go forward).
    #[default]
    Forward,
    /// Follow `before_cursor` (cursor style only).
    Backward,
}

/// The paging style of an operation, from its HTTP method (any case) and the names of its query
/// parameters (a trailing `[]` is ignored). Only `GET` operations page.
pub fn detect<'a>(method: &str, query: impl IntoIterator<Item = &'a str>) -> Option<Paging> {
    if !method.eq_ignore_ascii_case("get") {
        return None;
    }
    let names: Vec<&str> = query.into_iter().map(|n| n.trim_end_matches("[]")).collect();
    let has = |n: &str| names.contains(&n);
    if has("before_cursor") || has("after_cursor") {
        return Some(Paging::Cursor);
    }
    if !has("page") {
        return None;
    }
    [Paging::PageSize, Paging::PerPage, Paging::PageTake]
        .into_iter()
        .find(|style| has(style.size_param()))
}

/// The field of a page body that holds its entries, from the body's fields as (name, whether it
/// is an array): `data` when the body has one, else its only array field when a paging field
/// ([`BODY_FIELDS`]) sits beside it (`{"replies": [..], "after_cursor": ".."}`). One rule for
/// the generator's streams and the stand-in's pages, so the two cannot disagree.
///
/// ```
/// use agentapis_paging::entries_field;
/// assert_eq!(entries_field([("replies", true), ("has_more", false)]), Some("replies"));
/// assert_eq!(entries_field([("data", false), ("items", true)]), Some("data"));
/// assert_eq!(entries_field([("a", true), ("b", true), ("page", false)]), None);
/// ```
pub fn entries_field<'a>(fields: impl IntoIterator<Item = (&'a str, bool)>) -> Option<&'a str> {
    let fields: Vec<(&str, bool)> = fields.into_iter().collect();
    if fields.iter().any(|(name, _)| *name == "data") {
        return Some("data");
    }
    let paged = fields
        .iter()
        .any(|(name, _)| BODY_FIELDS.iter().any(|(field, _)| field == name));
    let mut arrays = fields.iter().filter(|(_, is_array)| *is_array);
    match (paged, arrays.next(), arrays.next()) {
        (true, Some((only, _)), None) => Some(only),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_data_or_the_only_array_beside_paging_fields() {
        assert_eq!(entries_field([("data", true), ("page", false)]), Some("data"));
        assert_eq!(
            entries_field([("replies", true), ("after_cursor", false), ("has_more", false)]),
            Some("replies")
        );
        assert_eq!(
            entries_field([("results", true), ("total_count", false)]),
            Some("results")
        );
        // No paging field beside it: an object that happens to hold a list is no page.
        assert_eq!(entries_field([("replies", true), ("thread", false)]), None);
        // Two lists: which one pages cannot be told from the shape.
        assert_eq!(entries_field([("a", true), ("b", true), ("has_more", false)]), None);
        assert_eq!(entries_field([]), None);
    }

    #[test]
    fn styles_are_told_apart_by_parameters() {
        assert_eq!(detect("get", ["limit", "before_cursor"]), Some(Paging::Cursor));
        assert_eq!(detect("GET", ["after_cursor[]"]), Some(Paging::Cursor));
        assert_eq!(detect("get", ["page", "page_size"]), Some(Paging::PageSize));
        assert_eq!(detect("get", ["per_page", "page"]), Some(Paging::PerPage));
        assert_eq!(detect("get", ["page", "take", "next"]), Some(Paging::PageTake));
        assert_eq!(detect("get", ["page"]), None);
        assert_eq!(detect("get", ["take"]), None);
        assert_eq!(detect("post", ["page", "take"]), None);
        assert_eq!(detect("get", []), None);
    }

    #[test]
    fn size_parameters_are_the_detected_ones() {
        for style in Paging::ALL.into_iter().filter(|s| s.is_numbered()) {
            assert_eq!(detect("get", ["page", style.size_param()]), Some(style));
        }
    }
}
