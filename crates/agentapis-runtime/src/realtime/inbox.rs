//! A channel's pushes on their way from the connection task to the channel's handle.
//!
//! Bounded (a consumer that falls behind loses the newest pushes, counted), and allocated as it
//! fills: an idle channel holds no slots at all. A bounded Tokio `mpsc` allocates its first
//! block of slots up front, which made an idle joined channel cost about 3 KB (the vendor's
//! client: under 0.6 KB). One allocation holds the queue, the missed count and why the channel
//! ended.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};

use super::Push;

/// After a burst, a queue drained to empty gives back capacity above this many slots.
const KEEP_SLOTS: usize = 8;

/// What the handle and the connection task share.
pub(crate) struct Inbox {
    capacity: usize,
    queue: Mutex<Queue>,
    missed: AtomicU64,
    closed: OnceLock<String>,
}

#[derive(Default)]
struct Queue {
    pushes: VecDeque<Push>,
    waker: Option<Waker>,
    /// No more pushes will come: the stream ends once `pushes` is drained.
    ended: bool,
}

/// The connection task's end. Dropping it ends the stream (after the pushes already queued).
pub(crate) struct Sender(Arc<Inbox>);

impl Inbox {
    /// An inbox holding at most `capacity` unread pushes (at least 1), and its sender.
    pub(crate) fn new(capacity: usize) -> (Arc<Inbox>, Sender) {
        let inbox = Arc::new(Inbox {
            capacity: capacity.max(1),
            queue: Mutex::new(Queue::default()),
            missed: AtomicU64::new(0),
            closed: OnceLock::new(),
        });
        (Arc::clone(&inbox), Sender(inbox))
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        // Nothing that holds the lock can panic half-way, so a poisoned lock is still consistent.
        self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The next push, waking `cx` when one comes; `None` once the channel ended and every push
    /// was read.
    pub(crate) fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Option<Push>> {
        let mut queue = self.queue();
        if let Some(push) = queue.pushes.pop_front() {
            if queue.pushes.is_empty() && queue.pushes.capacity() > KEEP_SLOTS {
                queue.pushes.shrink_to(KEEP_SLOTS);
            }
            return Poll::Ready(Some(push));
        }
        if queue.ended {
            return Poll::Ready(None);
        }
        match &queue.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => queue.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Pushes dropped because the consumer was `capacity` behind.
    pub(crate) fn missed(&self) -> u64 {
        self.missed.load(Ordering::Relaxed)
    }

    /// Why the channel ended, once it has.
    pub(crate) fn closed_reason(&self) -> Option<&str> {
        self.closed.get().map(String::as_str)
    }
}

impl Sender {
    /// Queues `push` for the handle; a full queue drops it and counts it (`false`).
    pub(crate) fn offer(&self, push: Push) -> bool {
        let waker = {
            let mut queue = self.0.queue();
            if queue.ended || queue.pushes.len() >= self.0.capacity {
                drop(queue);
                self.0.missed.fetch_add(1, Ordering::Relaxed);
                return false;
            }
            queue.pushes.push_back(push);
            queue.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        true
    }

    /// Records why the channel ended (the first reason stays).
    pub(crate) fn set_reason(&self, reason: &str) {
        let _ = self.0.closed.set(reason.to_owned());
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        let waker = {
            let mut queue = self.0.queue();
            queue.ended = true;
            queue.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::future::poll_fn;

    fn push(n: u64) -> Push {
        Push {
            event: "e".into(),
            payload: json!(n),
        }
    }

    async fn next(inbox: &Inbox) -> Option<Push> {
        poll_fn(|cx| inbox.poll_next(cx)).await
    }

    #[tokio::test]
    async fn pushes_arrive_in_order_then_the_stream_ends_after_the_sender() {
        let (inbox, sender) = Inbox::new(4);
        assert!(sender.offer(push(1)) && sender.offer(push(2)));
        sender.set_reason("left");
        drop(sender);
        assert_eq!(next(&inbox).await.map(|p| p.payload), Some(json!(1)));
        assert_eq!(next(&inbox).await.map(|p| p.payload), Some(json!(2)));
        assert_eq!(next(&inbox).await, None);
        assert_eq!(inbox.closed_reason(), Some("left"));
    }

    #[tokio::test]
    async fn a_full_inbox_drops_the_newest_and_counts_them() {
        let (inbox, sender) = Inbox::new(2);
        let kept: Vec<bool> = (0..5).map(|n| sender.offer(push(n))).collect();
        assert_eq!(kept, [true, true, false, false, false]);
        assert_eq!(inbox.missed(), 3);
        assert_eq!(next(&inbox).await.map(|p| p.payload), Some(json!(0)));
        assert!(sender.offer(push(9)), "a read frees a place");
    }

    #[tokio::test]
    async fn a_waiting_reader_is_woken() {
        let (inbox, sender) = Inbox::new(2);
        let reader = tokio::spawn({
            let inbox = Arc::clone(&inbox);
            async move { next(&inbox).await }
        });
        tokio::task::yield_now().await;
        sender.offer(push(7));
        assert_eq!(reader.await.ok().flatten().map(|p| p.payload), Some(json!(7)));
    }

    #[test]
    fn an_idle_inbox_holds_no_slots_and_gives_back_a_burst() {
        let (inbox, sender) = Inbox::new(256);
        assert_eq!(inbox.queue().pushes.capacity(), 0);
        for n in 0..200 {
            sender.offer(push(n));
        }
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        while let Poll::Ready(Some(_)) = inbox.poll_next(&mut cx) {}
        assert!(inbox.queue().pushes.capacity() <= KEEP_SLOTS);
    }
}
