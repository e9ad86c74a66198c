//! One conformance suite for every limit and session store: what two handles on the same store
//! (two processes on one Redis, or two clones of one [`MemoryStore`](super::MemoryStore)) must
//! see of each other's writes. The workspace runs it against both bundled stores; an
//! implementer of [`LimitStore`] and [`SessionStore`] can run it against theirs.
//!
//! Each check writes under its own keys (pass a fresh namespace per run) and returns the first
//! broken promise as a [`Failure`]. The slot check sleeps about half a second (a lease has to
//! expire), the budget check about 0.3 s (a probe interval has to pass).
//!
//! ```no_run
//! # async fn demo() -> Result<(), agentapis_runtime::fleet::conformance::Failure> {
//! use agentapis_runtime::fleet::{conformance, MemoryStore};
//! let store = MemoryStore::new();
//! conformance::all(&store, &store, "conformance:1").await?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::time::Duration;

use super::{LimitStore, Quota, RateAnswer, SessionStore};
use crate::Secret;

/// A promise a store broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Which check.
    pub check: &'static str,
    /// What was expected and what came.
    pub detail: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.check, self.detail)
    }
}

impl std::error::Error for Failure {}

fn ensure(check: &'static str, ok: bool, detail: impl FnOnce() -> String) -> Result<(), Failure> {
    if ok {
        Ok(())
    } else {
        Err(Failure {
            check,
            detail: detail(),
        })
    }
}

/// Every check, one after another.
pub async fn all<S: LimitStore + SessionStore>(a: &S, b: &S, namespace: &str) -> Result<(), Failure> {
    rates(a, b, namespace).await?;
    slots(a, b, namespace).await?;
    budgets(a, b, namespace).await?;
    sessions(a, b, namespace).await
}

/// One rate is shared by every handle: the burst, the refusal past it, keys apart, and
/// consecutive places one interval apart across handles.
pub async fn rates<S: LimitStore>(a: &S, b: &S, namespace: &str) -> Result<(), Failure> {
    const CHECK: &str = "rates";
    let (key, other) = (format!("{namespace}:rate"), format!("{namespace}:rate:other"));
    // One every 10 s, two at once: seconds of margin against round trips on a busy machine.
    let quota = Quota::new(6, 2);
    let now = Duration::ZERO;
    let first = a.take_rate(&key, quota, now).await;
    ensure(CHECK, first == Ok(RateAnswer::Go(now)), || format!("first: {first:?}"))?;
    let second = b.take_rate(&key, quota, now).await;
    ensure(CHECK, second == Ok(RateAnswer::Go(now)), || {
        format!("the burst is shared: {second:?}")
    })?;
    let third = a.take_rate(&key, quota, now).await;
    ensure(
        CHECK,
        matches!(third, Ok(RateAnswer::TooFar(w)) if w > Duration::from_secs(5) && w <= Duration::from_secs(10)),
        || format!("the burst is spent: {third:?}"),
    )?;
    let apart = b.take_rate(&other, quota, now).await;
    ensure(CHECK, apart == Ok(RateAnswer::Go(now)), || {
        format!("keys are apart: {apart:?}")
    })?;
    let minute = Duration::from_secs(60);
    let (Ok(RateAnswer::Go(first)), Ok(RateAnswer::Go(second))) = (
        b.take_rate(&key, quota, minute).await,
        a.take_rate(&key, quota, minute).await,
    ) else {
        return Err(Failure {
            check: CHECK,
            detail: "callers that can wait reserve places".into(),
        });
    };
    let gap = second.saturating_sub(first);
    ensure(
        CHECK,
        gap > Duration::from_secs(9) && gap <= Duration::from_secs(10),
        || format!("places one interval apart: {first:?} then {second:?}"),
    )
}

/// Slots are leases: bounded, given back, and freed when a crashed holder's lease expires (a
/// shorter lease never cuts a longer one).
pub async fn slots<S: LimitStore>(a: &S, b: &S, namespace: &str) -> Result<(), Failure> {
    const CHECK: &str = "slots";
    let key = format!("{namespace}:slots");
    let ttl = Duration::from_millis(300);
    ensure(CHECK, a.lease_slot(&key, 2, ttl, 1).await == Ok(true), || {
        "the first lease".into()
    })?;
    ensure(
        CHECK,
        a.lease_slot(&key, 2, Duration::from_secs(60), 2).await == Ok(true),
        || "the second lease".into(),
    )?;
    ensure(CHECK, b.lease_slot(&key, 2, ttl, 3).await == Ok(false), || {
        "both slots held".into()
    })?;
    // Lease 1's holder crashed: it never gives it back.
    tokio::time::sleep(Duration::from_millis(400)).await;
    ensure(CHECK, b.lease_slot(&key, 2, ttl, 3).await == Ok(true), || {
        "an expired lease is freed".into()
    })?;
    ensure(CHECK, b.lease_slot(&key, 2, ttl, 4).await == Ok(false), || {
        "the long lease is still held".into()
    })?;
    b.release_slot(&key, 3);
    // A release may be sent in the background.
    tokio::time::sleep(Duration::from_millis(100)).await;
    ensure(CHECK, b.lease_slot(&key, 2, ttl, 4).await == Ok(true), || {
        "a released slot is free".into()
    })?;
    ensure(CHECK, b.lease_slot(&key, 2, ttl, 5).await == Ok(false), || {
        "and then taken".into()
    })
}

/// A stated budget is counted down by every handle; a late answer cannot raise it; a distant
/// reset holds everyone one interval, then lets one probe per interval through; a probe's
/// answer that requests remain reopens it for everyone.
pub async fn budgets<S: LimitStore>(a: &S, b: &S, namespace: &str) -> Result<(), Failure> {
    const CHECK: &str = "budgets";
    let minute = Duration::from_secs(60);
    let key = format!("{namespace}:budget");
    let noted = a.note_budget(&key, 2, Duration::from_secs(2), minute).await;
    ensure(CHECK, noted.is_ok(), || format!("note: {noted:?}"))?;
    ensure(CHECK, b.take_budget(&key, minute).await == Ok(None), || {
        "one of two".into()
    })?;
    ensure(CHECK, a.take_budget(&key, minute).await == Ok(None), || {
        "two of two".into()
    })?;
    let spent = b.take_budget(&key, minute).await;
    ensure(
        CHECK,
        matches!(spent, Ok(Some(w)) if w > Duration::from_secs(1) && w <= Duration::from_secs(2)),
        || format!("spent until the reset: {spent:?}"),
    )?;
    let _ = a.note_budget(&key, 5, Duration::from_secs(2), minute).await;
    ensure(CHECK, matches!(b.take_budget(&key, minute).await, Ok(Some(_))), || {
        "a late answer from the same window cannot raise the count".into()
    })?;
    let unknown = format!("{namespace}:budget:unknown");
    ensure(CHECK, a.take_budget(&unknown, minute).await == Ok(None), || {
        "no stated budget: no wait".into()
    })?;
    // A reset a day away: everyone holds back one interval (300 ms), then one probe per
    // interval goes for all handles together.
    let far = format!("{namespace}:budget:far");
    let interval = Duration::from_millis(300);
    let _ = a.note_budget(&far, 0, Duration::from_secs(86_400), interval).await;
    let held = b.take_budget(&far, interval).await;
    let Ok(Some(held)) = held else {
        return Err(Failure {
            check: CHECK,
            detail: format!("held an interval first: {held:?}"),
        });
    };
    ensure(CHECK, held <= interval, || {
        format!("held at most an interval: {held:?}")
    })?;
    tokio::time::sleep(held).await;
    ensure(CHECK, b.take_budget(&far, interval).await == Ok(None), || {
        "the probe".into()
    })?;
    let next = a.take_budget(&far, interval).await;
    ensure(
        CHECK,
        matches!(next, Ok(Some(w)) if w > Duration::from_millis(250) && w <= interval),
        || format!("the others wait for the next probe: {next:?}"),
    )?;
    let _ = a.note_budget(&far, 3, Duration::from_secs(30), interval).await;
    ensure(CHECK, b.take_budget(&far, interval).await == Ok(None), || {
        "a probe's answer that requests remain reopens it".into()
    })
}

/// Session writes are compare-and-swap on a generation, and locks are held by one holder,
/// released only by it.
pub async fn sessions<S: SessionStore>(a: &S, b: &S, namespace: &str) -> Result<(), Failure> {
    const CHECK: &str = "sessions";
    let key = format!("{namespace}:session");
    let lock_key = format!("{key}:lock");
    let (access, refresh) = (Secret::new("a1"), Secret::new("r1"));
    ensure(CHECK, a.store(&key, &access, Some(&refresh)).await == Ok(1), || {
        "the first write is generation 1".into()
    })?;
    ensure(CHECK, b.store_if(&key, 0, &access, None).await == Ok(false), || {
        "a write over a stale generation is refused".into()
    })?;
    ensure(CHECK, b.store_if(&key, 1, &access, None).await == Ok(true), || {
        "a write over the current generation lands".into()
    })?;
    let loaded = a.load(&key).await;
    ensure(
        CHECK,
        matches!(&loaded, Ok(Some(t)) if t.generation == 2 && t.refresh.is_none()),
        || "every handle loads the last write".into(),
    )?;
    let held = a.lock(&lock_key, Duration::from_secs(5)).await;
    let Ok(Some(lock)) = held else {
        return Err(Failure {
            check: CHECK,
            detail: format!("a free lock is taken: {held:?}"),
        });
    };
    ensure(
        CHECK,
        b.lock(&lock_key, Duration::from_secs(5)).await == Ok(None),
        || "a held lock is not taken twice".into(),
    )?;
    let _ = b.unlock(&lock_key, lock ^ 1).await;
    ensure(
        CHECK,
        b.lock(&lock_key, Duration::from_secs(5)).await == Ok(None),
        || "a lock is not another holder's to release".into(),
    )?;
    let _ = a.unlock(&lock_key, lock).await;
    ensure(
        CHECK,
        matches!(b.lock(&lock_key, Duration::from_secs(5)).await, Ok(Some(_))),
        || "a released lock is free".into(),
    )
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn the_memory_store_conforms() {
        let store = super::super::MemoryStore::new();
        if let Err(failure) = super::all(&store, &store, "conformance:memory").await {
            panic!("{failure}");
        }
    }
}
