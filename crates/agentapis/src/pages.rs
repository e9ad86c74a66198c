//! Pagination streams: one generic pager over every paginated operation of every API.
//!
//! The generated code implements [`Paginated`] for each paginated operation's request builder
//! (detected by the xtask from parameters and response shape). [`PageStream`] walks any of them:
//! it positions the builder the caller filled in (filters kept) at each page, sends it through
//! the runtime (retries, pacing, typed errors), and keeps up to `prefetch` pages in flight while
//! the caller works. [`ItemStream`] flattens pages into entries.
//!
//! ```no_run
//! use futures::TryStreamExt as _;
//! use agentapis::{archastro, PageOptions};
//!
//! # async fn demo(client: archastro::Client) -> Result<(), agentapis::Error> {
//! let mut agents = client.items(|api| api.list_agents().search("support"), PageOptions::new().page_size(50));
//! while let Some(agent) = agents.try_next().await? {
//!     println!("{:?}", agent.id);
//! }
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::future::Future;
use std::hash::{BuildHasher as _, RandomState};
use std::pin::Pin;
use std::task::{Context, Poll};

use agentapis_runtime::paging::{PageMeta, Paginated, Position};
use agentapis_runtime::{CallOptions, Paging, RateLimit};
use futures::stream::{FuturesOrdered, Stream, StreamExt as _};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;

use crate::error::Api;
use crate::{Error, Response};

/// Which way a cursor walk goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// Follow `after_cursor` (page-number styles always go forward).
    #[default]
    Forward,
    /// Follow `before_cursor` (cursor style only).
    Backward,
}

/// How a walk runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageOptions {
    page_size: Option<u64>,
    prefetch: usize,
    max_items: Option<u64>,
    max_pages: Option<u64>,
    start: Position,
    direction: Direction,
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

    /// Start at `position` (e.g. one saved from [`PageStream::resume_position`]).
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

/// One page of a walk.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Page<T> {
    /// The entries.
    pub items: Vec<T>,
    /// The position that produced this page.
    pub position: Position,
    /// Where the next page starts (`None` on the last page).
    pub next: Option<Position>,
    /// Total entries, when the server said (body field or Invent's `pagination-count`).
    pub total_items: Option<u64>,
    /// The HTTP status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// Rate-limit state the response reported.
    pub rate_limit: RateLimit,
    /// Attempts this page took.
    pub attempts: u32,
}

/// How many recent cursors a walk remembers: a loop shorter than this is reported; memory stays
/// constant however long the walk (page-numbered walks need none: the page number must advance).
const CURSOR_MEMORY: usize = 1024;

/// Empty cursor pages in a row (each saying more remain) after which a walk is called broken.
const MAX_EMPTY_PAGES: u32 = 16;

type Fetch<'a, T> = Pin<Box<dyn Future<Output = (Position, Result<Response<T>, Error>)> + Send + 'a>>;

/// A stream of pages (see the [module docs](self)).
#[must_use = "streams do nothing unless polled"]
pub struct PageStream<'a, P: Paginated> {
    api: Api,
    request: P,
    options: PageOptions,
    inflight: FuturesOrdered<Fetch<'a, P::Page>>,
    /// Pages fetched and not yet handed out (bounded by `prefetch + 1`).
    ready: VecDeque<Result<Page<P::Item>, Error>>,
    /// The next position to request, when known.
    next_to_send: Option<Position>,
    /// The first position not yet handed out: where a new walk would resume.
    resume: Option<Position>,
    pages_sent: u64,
    pages_arrived: u64,
    /// Entries received (before `max_items` truncation), to stop when a total is reached.
    items_seen: u64,
    /// The last page number, once the server has told (page styles).
    last_page: Option<u64>,
    items_out: u64,
    /// Hashes of the last [`CURSOR_MEMORY`] cursors followed, to catch a server that loops.
    seen: VecDeque<u64>,
    empty_run: u32,
    hasher: RandomState,
    finished: bool,
}

impl<'a, P> PageStream<'a, P>
where
    P: Paginated + 'a,
    P::Page: Send + 'a,
    P::Error: Send + 'a,
{
    pub(crate) fn new(api: Api, request: P, options: PageOptions) -> Self {
        let mut start = options.start.clone();
        let is_page_style = P::STYLE != Paging::Cursor;
        if is_page_style && start == Position::First {
            start = Position::Page(1);
        }
        let mut stream = Self {
            api,
            request,
            options,
            inflight: FuturesOrdered::new(),
            ready: VecDeque::new(),
            next_to_send: Some(start.clone()),
            resume: Some(start.clone()),
            pages_sent: 0,
            pages_arrived: 0,
            items_seen: 0,
            last_page: None,
            items_out: 0,
            seen: VecDeque::new(),
            empty_run: 0,
            hasher: RandomState::new(),
            finished: false,
        };
        if let Err(e) = stream.check(&start) {
            stream.fail(e);
        }
        stream
    }

    /// Rejects what would make a walk wrong before anything is sent.
    fn check(&mut self, start: &Position) -> Result<(), Error> {
        if let (Some(size), Some(max)) = (self.options.page_size, P::MAX_PAGE_SIZE) {
            if size > max {
                return Err(Error::InvalidArgument(format!(
                    "page size {size} is above the documented maximum of {max}"
                )));
            }
        }
        if self.options.page_size == Some(0) {
            return Err(Error::InvalidArgument("page size must be at least 1".into()));
        }
        let cursor = P::STYLE == Paging::Cursor;
        let fits = match start {
            Position::First => true,
            Position::Page(_) => !cursor,
            Position::After(_) => cursor,
            Position::Before(_) => cursor && P::BACKWARD,
        };
        if !fits || (self.options.direction == Direction::Backward && !(cursor && P::BACKWARD)) {
            return Err(Error::InvalidArgument(format!(
                "position {start} / direction {:?} does not fit this operation's paging ({:?})",
                self.options.direction,
                P::STYLE
            )));
        }
        Ok(())
    }

    fn fail(&mut self, error: Error) {
        self.ready.push_back(Err(error));
        self.finish();
    }

    fn finish(&mut self) {
        self.finished = true;
        self.next_to_send = None;
        // Dropping in-flight requests cancels them.
        self.inflight = FuturesOrdered::new();
    }

    /// Where to start a new walk to continue after the pages handed out so far (after an error:
    /// the page that failed). `None` once the walk is complete.
    pub fn resume_position(&self) -> Option<&Position> {
        self.resume.as_ref()
    }

    /// Starts requests until `prefetch` pages (plus one when the consumer is waiting) are in
    /// flight or waiting.
    fn schedule(&mut self, consumer_waiting: bool) {
        let limit = self.options.prefetch + usize::from(consumer_waiting);
        while !self.finished && self.inflight.len() + self.ready.len() < limit {
            let Some(position) = self.next_to_send.take() else {
                return;
            };
            let past_last = matches!((&position, self.last_page), (Position::Page(n), Some(last)) if *n > last);
            // Nothing is prefetched before the first page has told how long the walk is.
            let first_pending = self.pages_sent > 0 && self.pages_arrived == 0;
            if first_pending || past_last || self.options.max_pages.is_some_and(|max| self.pages_sent >= max) {
                self.next_to_send = Some(position);
                return;
            }
            self.pages_sent = self.pages_sent.saturating_add(1);
            // Page numbers are known ahead; a cursor only once its page has arrived.
            if let Position::Page(n) = position {
                self.next_to_send = n.checked_add(1).map(Position::Page);
            }
            let mut request = self.request.clone().at(&position);
            if let Some(size) = self.options.page_size {
                request = request.with_page_size(size);
            }
            let api = self.api;
            self.inflight.push_back(Box::pin(async move {
                let result = crate::call::run(api, CallOptions::default(), request.send_page()).await;
                (position, result)
            }));
        }
    }

    /// Polls in-flight requests, turning arrivals into ready pages, and keeps the queue full.
    fn drive(&mut self, cx: &mut Context<'_>, consumer_waiting: bool) {
        loop {
            self.schedule(consumer_waiting && self.ready.is_empty());
            match self.inflight.poll_next_unpin(cx) {
                Poll::Ready(Some((position, result))) => self.arrived(position, result),
                Poll::Ready(None) | Poll::Pending => return,
            }
        }
    }

    fn arrived(&mut self, position: Position, result: Result<Response<P::Page>, Error>) {
        let response = match result {
            Ok(response) => response,
            Err(error) => return self.fail(error),
        };
        let (status, headers, rate_limit, attempts) = (
            response.status(),
            response.headers().clone(),
            *response.rate_limit(),
            response.attempts(),
        );
        let (mut items, meta) = P::split(response.into_inner());
        self.empty_run = if items.is_empty() {
            self.empty_run.saturating_add(1)
        } else {
            0
        };
        if let Position::After(_) | Position::Before(_) = position {
            let hash = self.hasher.hash_one(&position);
            if self.seen.contains(&hash) {
                return self.fail(self.broken(&position, "the server led back to a page already walked"));
            }
            if self.seen.len() == CURSOR_MEMORY {
                self.seen.pop_front();
            }
            self.seen.push_back(hash);
        }
        if let (Position::Page(_), Some(total)) = (&position, self.total_pages(&meta, &rate_limit)) {
            self.last_page = Some(total);
        }
        let next = match self.next_position(&position, &meta, &rate_limit, items.len()) {
            Ok(next) => next,
            Err(reason) => return self.fail(self.broken(&position, &reason)),
        };
        self.items_seen = self.items_seen.saturating_add(items.len() as u64);
        if let Some(max) = self.options.max_items {
            let room = max.saturating_sub(self.items_out);
            items.truncate(usize::try_from(room).unwrap_or(usize::MAX));
        }
        self.items_out = self.items_out.saturating_add(items.len() as u64);
        let limit_reached = self.options.max_items.is_some_and(|max| self.items_out >= max);
        let next = next.filter(|_| !limit_reached);
        match &next {
            Some(Position::Page(_)) => {} // already scheduled ahead
            Some(cursor) => self.next_to_send = Some(cursor.clone()),
            None => {
                self.next_to_send = None;
                // Requests for pages past the end (page styles) are no longer wanted.
                self.inflight = FuturesOrdered::new();
            }
        }
        self.pages_arrived = self.pages_arrived.saturating_add(1);
        let last = next.is_none();
        let empty_tail = items.is_empty() && self.pages_arrived > 1;
        if !(empty_tail && last) {
            self.ready.push_back(Ok(Page {
                items,
                position,
                next,
                total_items: meta.total_items.or(rate_limit.page_count),
                status,
                headers,
                rate_limit,
                attempts,
            }));
        }
        if last {
            self.finished = true;
        }
    }

    /// Total pages, from the body or from Invent's count and take headers.
    fn total_pages(&self, meta: &PageMeta, rate_limit: &RateLimit) -> Option<u64> {
        meta.total_pages.or_else(|| {
            let (count, take) = (rate_limit.page_count?, rate_limit.page_take.or(self.options.page_size)?);
            (take > 0).then(|| count.div_ceil(take))
        })
    }

    fn broken(&self, position: &Position, reason: &str) -> Error {
        Error::Pagination {
            api: self.api,
            position: position.clone(),
            reason: reason.to_owned(),
        }
    }

    /// Where the page after `position` starts, or `None` at the end; `Err` when the server's
    /// answer cannot be right.
    fn next_position(
        &self,
        position: &Position,
        meta: &PageMeta,
        rate_limit: &RateLimit,
        count: usize,
    ) -> Result<Option<Position>, String> {
        if P::STYLE == Paging::Cursor {
            if meta.has_more == Some(false) {
                return Ok(None);
            }
            let cursor = match self.options.direction {
                Direction::Forward => meta.after_cursor.clone().map(Position::After),
                Direction::Backward => meta.before_cursor.clone().map(Position::Before),
            };
            return match cursor {
                Some(next) if &next == position || self.seen.contains(&self.hasher.hash_one(&next)) => {
                    Err(format!("the server repeated cursor {next}"))
                }
                // An empty page ends the walk unless the server says more remain (a filtered
                // feed may have empty stretches); too many empty pages in a row is a loop.
                Some(_) if count == 0 && meta.has_more != Some(true) => Ok(None),
                Some(_) if self.empty_run >= MAX_EMPTY_PAGES => Err(format!(
                    "{MAX_EMPTY_PAGES} empty pages in a row although the server says more entries remain"
                )),
                Some(next) => Ok(Some(next)),
                None if meta.has_more == Some(true) => {
                    Err("the server says more entries remain but sent no cursor to reach them".to_owned())
                }
                None => Ok(None),
            };
        }
        if count == 0 {
            return Ok(None);
        }
        let Position::Page(n) = *position else {
            return Err(format!("page-numbered operation at {position}"));
        };
        if let Some(served) = meta.page.or(rate_limit.page) {
            if served != n {
                return Err(format!("asked for page {n}, the server answered page {served}"));
            }
        }
        let total_pages = self.total_pages(meta, rate_limit);
        let short = self.options.page_size.is_some_and(|size| (count as u64) < size);
        // Every entry the server counted has arrived (Invent's `pagination-count`, or a body total).
        let all_seen = meta
            .total_items
            .or(rate_limit.page_count)
            .is_some_and(|total| self.items_seen.saturating_add(count as u64) >= total);
        let done = meta.has_next == Some(false) || total_pages.is_some_and(|total| n >= total) || short || all_seen;
        // The largest page number has no next page.
        Ok(n.checked_add(1).filter(|_| !done).map(Position::Page))
    }
}

impl<'a, P> Stream for PageStream<'a, P>
where
    P: Paginated + 'a,
    P::Page: Send + 'a,
    P::Error: Send + 'a,
{
    type Item = Result<Page<P::Item>, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // `PageStream` holds no self-references; the boxed futures are pinned on the heap.
        let this = self.get_mut();
        this.drive(cx, true);
        if let Some(page) = this.ready.pop_front() {
            this.resume = match &page {
                Ok(page) => page.next.clone(),
                Err(_) => this.resume.clone(),
            };
            if let Ok(page) = &page {
                if page.next.is_none() {
                    this.resume = None;
                }
            }
            // Handing a page out frees a slot: start the next request before the caller works.
            this.drive(cx, false);
            return Poll::Ready(Some(page));
        }
        // With the consumer waiting, `drive` started a request if one could be started; nothing
        // in flight means the walk is over (end reached, or a page/item limit).
        if this.inflight.is_empty() {
            this.finished = true;
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }
}

// Neither stream pins its fields in place (in-flight futures are boxed), so both may move.
impl<P: Paginated> Unpin for PageStream<'_, P> {}
impl<P: Paginated> Unpin for ItemStream<'_, P> {}

/// A stream of entries, page after page (see the [module docs](self)).
#[must_use = "streams do nothing unless polled"]
pub struct ItemStream<'a, P: Paginated> {
    pages: PageStream<'a, P>,
    current: std::vec::IntoIter<P::Item>,
    current_position: Option<Position>,
}

impl<'a, P> ItemStream<'a, P>
where
    P: Paginated + 'a,
    P::Page: Send + 'a,
    P::Error: Send + 'a,
{
    pub(crate) fn new(pages: PageStream<'a, P>) -> Self {
        Self {
            pages,
            current: Vec::new().into_iter(),
            current_position: None,
        }
    }

    /// Where to start a new walk to get the entries not yet handed out. Mid-page this is the
    /// current page's position, so its entries come again.
    pub fn resume_position(&self) -> Option<&Position> {
        if self.current.len() > 0 {
            self.current_position.as_ref()
        } else {
            self.pages.resume_position()
        }
    }
}

impl<'a, P> Stream for ItemStream<'a, P>
where
    P: Paginated + 'a,
    P::Page: Send + 'a,
    P::Error: Send + 'a,
{
    type Item = Result<P::Item, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            // Keep the prefetch moving while entries of the current page are handed out.
            this.pages.drive(cx, false);
            if let Some(item) = this.current.next() {
                return Poll::Ready(Some(Ok(item)));
            }
            match this.pages.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(page))) => {
                    this.current_position = Some(page.position.clone());
                    this.current = page.items.into_iter();
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
