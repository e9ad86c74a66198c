//! The paging rules, as pure functions of one page's facts: where the next page starts, when a
//! walk is over, and when the server's answer cannot be right. The stream only keeps state.

use agentapis_runtime::paging::{Direction, PageMeta, Paging, Position};
use agentapis_runtime::PageHeaders;

use crate::error::{ArgumentError, PaginationFault};

/// Empty cursor pages in a row (each saying more remain) after which a walk is called broken.
pub(crate) const MAX_EMPTY_PAGES: u32 = 16;

/// What one arrived page says, plus what the walk knows so far.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Arrival<'a> {
    /// The position that was asked for.
    pub(crate) position: &'a Position,
    /// The body's paging fields.
    pub(crate) meta: &'a PageMeta,
    /// The `pagination-*` headers.
    pub(crate) headers: &'a PageHeaders,
    /// Entries on this page.
    pub(crate) count: u64,
    /// Entries on earlier pages.
    pub(crate) items_before: u64,
    /// Empty pages in a row, this one included.
    pub(crate) empty_run: u32,
    /// The page size asked for, if any.
    pub(crate) page_size: Option<u64>,
}

/// The first position of a walk: numbered styles start at page 1.
pub(crate) fn first(paging: Paging, start: &Position) -> Position {
    match start {
        Position::First if paging.is_numbered() => Position::Page(1),
        other => other.clone(),
    }
}

/// Refuses what would make a walk wrong before anything is sent.
pub(crate) fn check(
    paging: Paging,
    backward: bool,
    max_page_size: Option<u64>,
    page_size: Option<u64>,
    start: &Position,
    direction: Direction,
) -> Result<(), ArgumentError> {
    if let Some(size) = page_size {
        if size == 0 || max_page_size.is_some_and(|max| size > max) {
            return Err(ArgumentError::PageSize {
                size,
                max: max_page_size,
            });
        }
    }
    let cursor = !paging.is_numbered();
    let fits = match start {
        Position::First => true,
        Position::Page(_) => !cursor,
        Position::After(_) => cursor,
        Position::Before(_) => cursor && backward,
        // A kind of position this version does not know.
        _ => false,
    };
    if !fits || (direction == Direction::Backward && !(cursor && backward)) {
        return Err(ArgumentError::Position {
            position: start.clone(),
            direction,
            paging,
        });
    }
    Ok(())
}

/// Total pages, from the body or from Invent's count and take headers.
pub(crate) fn total_pages(meta: &PageMeta, headers: &PageHeaders, page_size: Option<u64>) -> Option<u64> {
    meta.total_pages.or_else(|| {
        let (count, take) = (headers.total_items?, headers.take.or(page_size)?);
        (take > 0).then(|| count.div_ceil(take))
    })
}

/// Total entries, from the body or Invent's `pagination-count`.
pub(crate) fn total_items(meta: &PageMeta, headers: &PageHeaders) -> Option<u64> {
    meta.total_items.or(headers.total_items)
}

/// Where a cursor walk goes after `page`, or `None` at the end. `followed` says whether a
/// cursor was already followed.
pub(crate) fn next_cursor(
    page: &Arrival<'_>,
    direction: Direction,
    followed: impl Fn(&Position) -> bool,
) -> Result<Option<Position>, PaginationFault> {
    let meta = page.meta;
    if meta.has_more == Some(false) {
        return Ok(None);
    }
    let cursor = match direction {
        Direction::Forward => meta.after_cursor.clone().map(Position::After),
        Direction::Backward => meta.before_cursor.clone().map(Position::Before),
    };
    match cursor {
        Some(next) if &next == page.position || followed(&next) => {
            Err(PaginationFault::RepeatedCursor(next.to_string()))
        }
        // An empty page ends the walk unless the server says more remain (a filtered feed may
        // have empty stretches); too many empty pages in a row is a loop.
        Some(_) if page.count == 0 && meta.has_more != Some(true) => Ok(None),
        Some(_) if page.empty_run >= MAX_EMPTY_PAGES => Err(PaginationFault::EmptyPages(MAX_EMPTY_PAGES)),
        Some(next) => Ok(Some(next)),
        None if meta.has_more == Some(true) => Err(PaginationFault::NoCursor),
        None => Ok(None),
    }
}

/// Where a numbered walk goes after page `n`, or `None` at the end.
pub(crate) fn next_page(n: u64, page: &Arrival<'_>) -> Result<Option<Position>, PaginationFault> {
    if page.count == 0 {
        return Ok(None);
    }
    if let Some(served) = page.meta.page.or(page.headers.page) {
        if served != n {
            return Err(PaginationFault::WrongPage { asked: n, served });
        }
    }
    let last = total_pages(page.meta, page.headers, page.page_size).is_some_and(|total| n >= total);
    let short = page.page_size.is_some_and(|size| page.count < size);
    // Every entry the server counted has arrived.
    let all_seen =
        total_items(page.meta, page.headers).is_some_and(|total| page.items_before.saturating_add(page.count) >= total);
    let done = page.meta.has_next == Some(false) || last || short || all_seen;
    // The largest page number has no next page.
    Ok(n.checked_add(1).filter(|_| !done).map(Position::Page))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrival<'a>(position: &'a Position, meta: &'a PageMeta, headers: &'a PageHeaders, count: u64) -> Arrival<'a> {
        Arrival {
            position,
            meta,
            headers,
            count,
            items_before: 0,
            empty_run: u32::from(count == 0),
            page_size: None,
        }
    }

    /// Page headers as the runtime reads them from a response.
    fn headers(total_items: Option<u64>, page: Option<u64>, take: Option<u64>) -> PageHeaders {
        let mut map = reqwest::header::HeaderMap::new();
        for (name, value) in [
            ("pagination-count", total_items),
            ("pagination-page", page),
            ("pagination-take", take),
        ] {
            if let Some(value) = value {
                map.insert(name, value.into());
            }
        }
        PageHeaders::from_headers(&map)
    }

    fn meta(f: impl FnOnce(&mut PageMeta)) -> PageMeta {
        let mut m = PageMeta::default();
        f(&mut m);
        m
    }

    #[test]
    fn a_cursor_walk_follows_the_cursor_until_the_server_says_no_more() {
        let (at, none) = (Position::First, PageHeaders::default());
        let more = meta(|m| m.after_cursor = Some("c2".into()));
        let next = next_cursor(&arrival(&at, &more, &none, 3), Direction::Forward, |_| false);
        assert_eq!(next, Ok(Some(Position::After("c2".into()))));
        let done = meta(|m| {
            m.after_cursor = Some("c3".into());
            m.has_more = Some(false);
        });
        assert_eq!(
            next_cursor(&arrival(&at, &done, &none, 3), Direction::Forward, |_| false),
            Ok(None)
        );
        let backward = meta(|m| m.before_cursor = Some("b1".into()));
        assert_eq!(
            next_cursor(&arrival(&at, &backward, &none, 1), Direction::Backward, |_| false),
            Ok(Some(Position::Before("b1".into())))
        );
    }

    #[test]
    fn a_cursor_walk_refuses_loops_and_missing_cursors() {
        let none = PageHeaders::default();
        let at = Position::After("c1".into());
        let same = meta(|m| m.after_cursor = Some("c1".into()));
        assert_eq!(
            next_cursor(&arrival(&at, &same, &none, 2), Direction::Forward, |_| false),
            Err(PaginationFault::RepeatedCursor("after:c1".into()))
        );
        let old = meta(|m| m.after_cursor = Some("c0".into()));
        assert!(matches!(
            next_cursor(&arrival(&at, &old, &none, 2), Direction::Forward, |p| *p
                == Position::After("c0".into())),
            Err(PaginationFault::RepeatedCursor(_))
        ));
        let lost = meta(|m| m.has_more = Some(true));
        assert_eq!(
            next_cursor(&arrival(&at, &lost, &none, 2), Direction::Forward, |_| false),
            Err(PaginationFault::NoCursor)
        );
        let empty_more = meta(|m| {
            m.after_cursor = Some("c9".into());
            m.has_more = Some(true);
        });
        let mut page = arrival(&at, &empty_more, &none, 0);
        assert!(next_cursor(&page, Direction::Forward, |_| false).is_ok_and(|n| n.is_some()));
        page.empty_run = MAX_EMPTY_PAGES;
        assert_eq!(
            next_cursor(&page, Direction::Forward, |_| false),
            Err(PaginationFault::EmptyPages(MAX_EMPTY_PAGES))
        );
        let empty_unsaid = meta(|m| m.after_cursor = Some("c9".into()));
        assert_eq!(
            next_cursor(&arrival(&at, &empty_unsaid, &none, 0), Direction::Forward, |_| false),
            Ok(None)
        );
    }

    #[test]
    fn a_numbered_walk_ends_on_totals_short_pages_or_an_empty_page() {
        let (at, body) = (Position::Page(2), PageMeta::default());
        let counted = headers(Some(25), Some(2), Some(10));
        assert_eq!(
            next_page(2, &arrival(&at, &body, &counted, 10)),
            Ok(Some(Position::Page(3)))
        );
        assert_eq!(
            next_page(3, &arrival(&at, &body, &headers(Some(25), Some(3), Some(10)), 5)),
            Ok(None)
        );
        assert_eq!(next_page(2, &arrival(&at, &body, &PageHeaders::default(), 0)), Ok(None));
        let (silent, twelve) = (PageHeaders::default(), headers(Some(12), None, None));
        let mut short = arrival(&at, &body, &silent, 4);
        short.page_size = Some(5);
        assert_eq!(next_page(2, &short), Ok(None));
        let mut seen = arrival(&at, &body, &twelve, 2);
        seen.items_before = 10;
        assert_eq!(next_page(2, &seen), Ok(None));
        let no_next = meta(|m| m.has_next = Some(false));
        assert_eq!(
            next_page(2, &arrival(&at, &no_next, &PageHeaders::default(), 3)),
            Ok(None)
        );
        assert_eq!(
            next_page(u64::MAX, &arrival(&at, &body, &PageHeaders::default(), 3)),
            Ok(None)
        );
    }

    #[test]
    fn a_numbered_walk_refuses_a_different_page() {
        let (at, body) = (Position::Page(2), PageMeta::default());
        let other = headers(None, Some(1), None);
        assert_eq!(
            next_page(2, &arrival(&at, &body, &other, 3)),
            Err(PaginationFault::WrongPage { asked: 2, served: 1 })
        );
    }

    #[test]
    fn totals_come_from_the_body_first_then_the_headers() {
        let headers = headers(Some(41), None, None);
        assert_eq!(total_pages(&PageMeta::default(), &headers, Some(10)), Some(5));
        assert_eq!(total_pages(&PageMeta::default(), &headers, None), None);
        assert_eq!(
            total_pages(&meta(|m| m.total_pages = Some(2)), &headers, Some(10)),
            Some(2)
        );
        assert_eq!(total_pages(&PageMeta::default(), &headers, Some(0)), None);
        assert_eq!(total_items(&meta(|m| m.total_items = Some(7)), &headers), Some(7));
    }

    #[test]
    fn starts_and_sizes_are_checked_before_sending() {
        assert_eq!(first(Paging::PageTake, &Position::First), Position::Page(1));
        assert_eq!(first(Paging::Cursor, &Position::First), Position::First);
        let ok = |paging, backward, start: Position, direction| {
            check(paging, backward, Some(100), Some(10), &start, direction)
        };
        assert!(ok(Paging::Cursor, true, Position::Before("b".into()), Direction::Backward).is_ok());
        assert!(ok(Paging::Cursor, false, Position::Before("b".into()), Direction::Forward).is_err());
        assert!(ok(Paging::PageSize, false, Position::After("a".into()), Direction::Forward).is_err());
        assert!(ok(Paging::PageSize, false, Position::First, Direction::Backward).is_err());
        assert!(ok(Paging::PerPage, false, Position::Page(3), Direction::Forward).is_ok());
        assert_eq!(
            check(
                Paging::PageTake,
                false,
                Some(100),
                Some(101),
                &Position::First,
                Direction::Forward
            ),
            Err(ArgumentError::PageSize {
                size: 101,
                max: Some(100)
            })
        );
        assert!(check(
            Paging::PageTake,
            false,
            None,
            Some(0),
            &Position::First,
            Direction::Forward
        )
        .is_err());
    }
}
