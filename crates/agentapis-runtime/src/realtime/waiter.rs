//! One request's way back from the connection task to its caller, and the one fact both sides
//! must agree on when the caller's deadline passes: whether the request went out.
//!
//! A plain reply channel cannot say it: the caller may give up in the instant the connection
//! task writes the frame. So each request carries a small state both sides change with one
//! compare-and-swap: the task claims it before writing (and does not write when the caller gave
//! up first), the caller abandons it when its deadline passes (and learns it was sent when the
//! task claimed it first). A timeout then says truthfully whether retrying could apply the
//! message twice.

use std::future::Future;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::RealtimeError;

const WAITING: u8 = 0;
const SENT: u8 = 1;
const ABANDONED: u8 = 2;

/// The connection task's end: answers the caller, claims the right to send.
pub(crate) struct Waiter {
    reply: oneshot::Sender<Result<Value, RealtimeError>>,
    state: Arc<AtomicU8>,
}

/// The caller's end.
pub(crate) struct Answer {
    reply: oneshot::Receiver<Result<Value, RealtimeError>>,
    state: Arc<AtomicU8>,
}

/// Why a caller got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoAnswer {
    /// The connection task is gone (the socket shut down).
    Closed,
    /// The deadline passed; `sent` says whether the request had gone out.
    TimedOut { sent: bool },
}

/// A waiter and its answer.
pub(crate) fn pair() -> (Waiter, Answer) {
    let (reply, answer) = oneshot::channel();
    let state = Arc::new(AtomicU8::new(WAITING));
    let waiter = Waiter {
        reply,
        state: Arc::clone(&state),
    };
    (waiter, Answer { reply: answer, state })
}

impl Waiter {
    /// Claims the right to send (again, for a resend). `false` when the caller gave up: the
    /// request must not be sent then, since its caller was told it was not.
    pub(crate) fn claim_send(&self) -> bool {
        if self.reply.is_closed() {
            return false; // the caller gave up or was cancelled: never send late
        }
        match self
            .state
            .compare_exchange(WAITING, SENT, Ordering::AcqRel, Ordering::Acquire)
        {
            // The first send: the caller, should it give up now, learns it went out.
            Ok(_) => true,
            // A resend (while someone still waits), or the caller abandoned it in between.
            Err(now) => now == SENT,
        }
    }

    /// Whether the caller stopped waiting.
    pub(crate) fn gave_up(&self) -> bool {
        self.reply.is_closed() || self.state.load(Ordering::Acquire) == ABANDONED
    }

    /// Answers the caller (a caller that gave up is not told).
    pub(crate) fn answer(self, result: Result<Value, RealtimeError>) {
        let _ = self.reply.send(result);
    }
}

impl Answer {
    /// Sends the request with `ask` and waits for its answer, both until `deadline`.
    pub(crate) async fn wait(
        self,
        deadline: Instant,
        ask: impl Future<Output = Result<(), ()>>,
    ) -> Result<Result<Value, RealtimeError>, NoAnswer> {
        let Answer { reply, state } = self;
        let asked = async {
            ask.await.map_err(|()| NoAnswer::Closed)?;
            reply.await.map_err(|_| NoAnswer::Closed)
        };
        match tokio::time::timeout_at(deadline, asked).await {
            Ok(answered) => answered,
            Err(_) => {
                let abandoned = state.compare_exchange(WAITING, ABANDONED, Ordering::AcqRel, Ordering::Acquire);
                Err(NoAnswer::TimedOut {
                    sent: abandoned.is_err(),
                })
            }
        }
    }
}

/// `now + limit`, or far in the future when that does not fit (a limit of `Duration::MAX`
/// means no limit).
pub(crate) fn deadline_in(limit: std::time::Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(limit)
        .unwrap_or_else(|| now + std::time::Duration::from_secs(100 * 365 * 24 * 3600))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_request_claimed_before_the_deadline_is_reported_sent() {
        let (waiter, answer) = pair();
        assert!(waiter.claim_send());
        let got = answer
            .wait(deadline_in(Duration::from_millis(10)), async { Ok(()) })
            .await;
        assert_eq!(got.err(), Some(NoAnswer::TimedOut { sent: true }));
        // A resend after the caller left is refused.
        assert!(!waiter.claim_send());
        assert!(waiter.gave_up());
    }

    #[tokio::test]
    async fn a_request_the_caller_abandoned_can_no_longer_be_claimed() {
        let (waiter, answer) = pair();
        let got = answer
            .wait(deadline_in(Duration::from_millis(10)), async { Ok(()) })
            .await;
        assert_eq!(got.err(), Some(NoAnswer::TimedOut { sent: false }));
        assert!(
            !waiter.claim_send(),
            "claimed after the caller was told it was not sent"
        );
    }

    #[tokio::test]
    async fn an_answer_arrives_and_a_gone_task_is_closed() {
        let (waiter, answer) = pair();
        waiter.answer(Ok(Value::Bool(true)));
        let got = answer.wait(deadline_in(Duration::from_secs(5)), async { Ok(()) }).await;
        assert!(matches!(got, Ok(Ok(Value::Bool(true)))));
        let (waiter, answer) = pair();
        drop(waiter);
        let got = answer.wait(deadline_in(Duration::from_secs(5)), async { Ok(()) }).await;
        assert_eq!(got.err(), Some(NoAnswer::Closed));
    }

    #[test]
    fn a_huge_limit_is_no_limit_not_a_panic() {
        let _ = deadline_in(Duration::MAX);
    }

    #[tokio::test]
    async fn claim_and_abandon_race_to_exactly_one_truth() {
        // Whichever side wins, the caller's verdict matches whether the task may send.
        for _ in 0..200 {
            let (waiter, answer) = pair();
            let task = tokio::spawn(async move {
                tokio::task::yield_now().await;
                waiter.claim_send()
            });
            let got = answer.wait(Instant::now(), async { Ok(()) }).await;
            let claimed = task.await.expect("task");
            if let Err(NoAnswer::TimedOut { sent }) = got {
                assert_eq!(sent, claimed);
            }
        }
    }
}
