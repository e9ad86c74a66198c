//! How a walk runs: page size, prefetch, limits, start and direction.

use agentapis_runtime::paging::{Direction, Position};

/// How a walk runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageOptions {
    pub(crate) page_size: Option<u64>,
    pub(crate) prefetch: usize,
    pub(crate) max_items: Option<u64>,
    pub(crate) max_pages: Option<u64>,
    pub(crate) start: Position,
    pub(crate) direction: Direction,
}

impl Default for PageOptions {
    fn default() -> Self {
        Self {
            page_size: None,
            prefetch: 1,
            max_items: None,
            max_pages: None,
            start: Position::First,
            direction: Direction::Forward,
        }
    }
}

impl PageOptions {
    /// The defaults: server page size, one page prefetched, no limits, from the first page forward.
    pub fn new() -> Self {
        Self::default()
    }

    /// Entries per page (`page_size`, `per_page`, `take` or `limit`); checked against the
    /// documented maximum before anything is sent.
    pub fn page_size(mut self, size: u64) -> Self {
        self.page_size = Some(size);
        self
    }

    /// Pages kept in flight ahead of the consumer (default 1; 0 fetches a page only when asked).
    pub fn prefetch(mut self, depth: usize) -> Self {
        self.prefetch = depth;
        self
    }

    /// Stop after this many entries.
    pub fn max_items(mut self, limit: u64) -> Self {
        self.max_items = Some(limit);
        self
    }

    /// Stop after this many pages.
    pub fn max_pages(mut self, limit: u64) -> Self {
        self.max_pages = Some(limit);
        self
    }

    /// Start at `position` (e.g. one saved from [`PageStream::resume_position`](crate::PageStream::resume_position)).
    pub fn start(mut self, position: Position) -> Self {
        self.start = position;
        self
    }

    /// Walk direction for cursor-paged operations.
    pub fn direction(mut self, direction: Direction) -> Self {
        self.direction = direction;
        self
    }
}
