//! The pager: keeps up to `prefetch` pages in flight, hands them out in order, and asks
//! [`rules`](super::rules) where each page leads.

use std::collections::VecDeque;
use std::future::Future;
use std::hash::{BuildHasher as _, RandomState};
use std::pin::Pin;
use std::task::{Context, Poll};

use agentapis_runtime::paging::{Paginated, Position};
use agentapis_runtime::CallOptions;
use futures::stream::{FuturesOrdered, Stream, StreamExt as _};

use super::rules::{self, Arrival};
use super::{Page, PageOptions};
use crate::error::{Decoding, PaginationFault};
use crate::{Error, Response};

/// How many recent cursors a walk remembers: a loop shorter than this is reported; memory stays
/// constant however long the walk (page-numbered walks need none: the page number must advance).
const CURSOR_MEMORY: usize = 1024;

type Fetch<'a, T> = Pin<Box<dyn Future<Output = (Position, Result<Response<T>, Error>)> + Send + 'a>>;

/// A stream of pages (see the [module docs](crate::pages)).
#[must_use = "streams do nothing unless polled"]
pub struct PageStream<'a, P: Paginated> {
    decoding: Decoding,
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
    pub(crate) fn new(decoding: Decoding, request: P, options: PageOptions) -> Self {
        let start = rules::first(P::STYLE, &options.start);
        let checked = rules::check(
            P::STYLE,
            P::BACKWARD,
            P::MAX_PAGE_SIZE,
            options.page_size,
            &start,
            options.direction,
        );
        let mut stream = Self {
            decoding,
            request,
            options,
            inflight: FuturesOrdered::new(),
            ready: VecDeque::new(),
            next_to_send: Some(start.clone()),
            resume: Some(start),
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
        if let Err(e) = checked {
            stream.fail(e.into());
        }
        stream
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
            let decoding = self.decoding;
            self.inflight.push_back(Box::pin(async move {
                let result = crate::call::run(decoding, CallOptions::default(), request.send_page()).await;
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
        let Response {
            body,
            status,
            headers,
            rate_limit,
            pages: page_headers,
            attempts,
        } = response;
        let (mut items, meta) = P::split(body);
        self.empty_run = if items.is_empty() {
            self.empty_run.saturating_add(1)
        } else {
            0
        };
        if let Err(fault) = self.remember(&position) {
            return self.fail(self.broken(&position, fault));
        }
        let arrival = Arrival {
            position: &position,
            meta: &meta,
            headers: &page_headers,
            count: items.len() as u64,
            items_before: self.items_seen,
            empty_run: self.empty_run,
            page_size: self.options.page_size,
        };
        if let (Position::Page(_), Some(total)) = (
            &position,
            rules::total_pages(&meta, &page_headers, self.options.page_size),
        ) {
            self.last_page = Some(total);
        }
        // `rules::check` let only page numbers reach a numbered operation and only cursors (or
        // the first page) a cursor one.
        let next = match &position {
            Position::Page(n) => rules::next_page(*n, &arrival),
            _ => rules::next_cursor(&arrival, self.options.direction, |p| {
                self.seen.contains(&self.hasher.hash_one(p))
            }),
        };
        let next = match next {
            Ok(next) => next,
            Err(fault) => return self.fail(self.broken(&position, fault)),
        };
        let next = self.advance(&mut items, next);
        self.pages_arrived = self.pages_arrived.saturating_add(1);
        let last = next.is_none();
        let empty_tail = items.is_empty() && self.pages_arrived > 1;
        if !(empty_tail && last) {
            self.ready.push_back(Ok(Page {
                items,
                position,
                next,
                total_items: rules::total_items(&meta, &page_headers),
                status,
                headers,
                rate_limit,
                page_headers,
                attempts,
            }));
        }
        if last {
            self.finished = true;
        }
    }

    /// Remembers a cursor page's position (the last [`CURSOR_MEMORY`] of them); a walk that
    /// comes back to one it has seen is a fault.
    fn remember(&mut self, position: &Position) -> Result<(), PaginationFault> {
        if let Position::After(_) | Position::Before(_) = position {
            let hash = self.hasher.hash_one(position);
            if self.seen.contains(&hash) {
                return Err(PaginationFault::LoopedBack);
            }
            if self.seen.len() == CURSOR_MEMORY {
                self.seen.pop_front();
            }
            self.seen.push_back(hash);
        }
        Ok(())
    }

    /// Counts `items`, cuts them to what `max_items` leaves, and schedules the page after this
    /// one; the position that follows, `None` at the end (the limit reached counts as the end).
    fn advance(&mut self, items: &mut Vec<P::Item>, next: Option<Position>) -> Option<Position> {
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
        next
    }

    fn broken(&self, position: &Position, fault: PaginationFault) -> Error {
        Error::Pagination {
            api: self.decoding.api,
            position: position.clone(),
            fault,
        }
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

/// A stream of entries, page after page (see the [module docs](crate::pages)).
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
