//! The gate against broken stores and the server-stated budget, in memory.

use super::*;
use crate::call::Waiting;
use crate::fleet::{BoxFuture, FailurePolicy, LimitStore, RateAnswer};
use crate::{Api, ClientLimits};

/// A store that fails every operation, or never answers.
#[derive(Debug)]
struct Broken {
    hangs: bool,
    asked: std::sync::atomic::AtomicU32,
}

impl Broken {
    fn answer<'a, T: Send + 'a>(&'a self) -> BoxFuture<'a, Result<T, StoreError>> {
        self.asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let hangs = self.hangs;
        Box::pin(async move {
            if hangs {
                std::future::pending::<()>().await;
            }
            Err(StoreError::Unreachable("test".into()))
        })
    }
}

impl LimitStore for Broken {
    fn take_rate<'a>(&'a self, _: &'a str, _: Quota, _: Duration) -> BoxFuture<'a, Result<RateAnswer, StoreError>> {
        self.answer()
    }
    fn lease_slot<'a>(&'a self, _: &'a str, _: u32, _: Duration, _: u64) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.answer()
    }
    fn release_slot(&self, _: &str, _: u64) {}
    fn note_budget<'a>(
        &'a self,
        _: &'a str,
        _: u64,
        _: Duration,
        _: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.answer()
    }
    fn take_budget<'a>(&'a self, _: &'a str, _: Duration) -> BoxFuture<'a, Result<Option<Duration>, StoreError>> {
        self.answer()
    }
}

fn gate(hangs: bool, policy: FailurePolicy) -> Gate {
    gate_on(
        Arc::new(Broken {
            hangs,
            asked: Default::default(),
        }),
        policy,
    )
}

fn gate_on(store: Arc<Broken>, policy: FailurePolicy) -> Gate {
    let fleet = Fleet::new(store, "t")
        .on_failure(policy)
        .store_timeout(Duration::from_millis(50));
    let prefix = fleet.key(Api::Agentiv, "hash");
    let settings = Settings {
        limits: ClientLimits::new().per_minute(60).concurrency(1),
        timeouts: crate::Timeouts::default().per_attempt(Duration::from_secs(1)),
        ..Settings::default()
    };
    Gate::new(&settings, LimitScope::Client, Some((fleet, prefix)))
}

async fn admit(gate: &Gate, deadline: Option<Instant>) -> Result<Option<Slot>, Refusal> {
    gate.admit("op", deadline).await.map(|admitted| admitted.slot)
}

#[tokio::test]
async fn a_failed_store_falls_back_to_local_limits_when_failing_open() {
    let gate = gate(false, FailurePolicy::FailOpen);
    let slot = admit(&gate, None).await.expect("admitted on local limits");
    assert!(slot.is_some());
    // The local limits still hold: the one slot is taken.
    let deadline = Instant::now() + Duration::from_millis(30);
    assert_eq!(
        admit(&gate, Some(deadline)).await.err(),
        Some(Refusal::Deadline {
            waiting_for: Waiting::ConcurrencySlot
        })
    );
    drop(slot);
    // And the local rate (60 a minute, burst 60) admits the next.
    assert!(admit(&gate, None).await.is_ok());
}

#[tokio::test]
async fn a_failed_store_refuses_when_failing_closed() {
    let gate = gate(false, FailurePolicy::FailClosed);
    match admit(&gate, None).await {
        Err(Refusal::Fleet { waiting_for, problem }) => {
            assert_eq!(waiting_for, Waiting::ConcurrencySlot, "the slot comes first");
            assert_eq!(problem, StoreError::Unreachable("test".into()));
        }
        other => panic!("expected a fleet refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_hanging_store_costs_at_most_its_timeout_or_the_deadline() {
    // No deadline: the store timeout (50 ms) turns the hang into a failure, so the call goes
    // on its local limits (fail open) or is refused (fail closed).
    assert!(admit(&gate(true, FailurePolicy::FailOpen), None).await.is_ok());
    match admit(&gate(true, FailurePolicy::FailClosed), None).await {
        Err(Refusal::Fleet { problem, .. }) => assert!(matches!(problem, StoreError::Timeout(_))),
        other => panic!("expected a timeout refusal, got {other:?}"),
    }
    // A deadline before the store timeout ends the wait as a deadline.
    let deadline = Instant::now() + Duration::from_millis(10);
    assert_eq!(
        admit(&gate(true, FailurePolicy::FailOpen), Some(deadline)).await.err(),
        Some(Refusal::Deadline {
            waiting_for: Waiting::ConcurrencySlot
        })
    );
}

#[tokio::test]
async fn an_outage_costs_one_store_timeout_not_one_per_call() {
    let store = Arc::new(Broken {
        hangs: true,
        asked: Default::default(),
    });
    let gate = gate_on(Arc::clone(&store), FailurePolicy::FailOpen);
    for _ in 0..5 {
        let slot = tokio::time::timeout(Duration::from_secs(5), admit(&gate, None))
            .await
            .expect("never hangs");
        assert!(slot.is_ok());
    }
    // The first call found the store out; the others went straight to the local limits.
    assert_eq!(store.asked.load(std::sync::atomic::Ordering::SeqCst), 1);
}

/// A gate of this process alone, no client-side limits: only the server-stated budget, failing
/// fast and probing after `probe`.
fn budget_only(scope: LimitScope, probe: Duration) -> Gate {
    let settings = Settings {
        pacing: Pacing::FailFast,
        retry: crate::RetryPolicy::default().max_retry_after(probe),
        ..Settings::default()
    };
    Gate::new(&settings, scope, None)
}

/// Admits one request to `op` without waiting.
async fn try_send(gate: &Gate, op: &str) -> Result<Flight, Refusal> {
    gate.admit(op, None).await.map(|admitted| admitted.flight)
}

/// Notes an answer to `flight` (the pacer's tests of old, on the one admission model).
async fn answer(gate: &Gate, op: &str, flight: Flight, (accepted, remaining, reset): (bool, Option<u64>, Option<u64>)) {
    let stated = Stated {
        accepted,
        remaining,
        reset_in: reset.map(Duration::from_secs),
    };
    gate.note(op, None, flight, stated).await;
}

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_distant_reset_is_probed_after_the_interval() {
    // Probe interval: 100 ms (really slept: the gate's clock is the process's).
    let probe = Duration::from_millis(100);
    let gate = budget_only(LimitScope::Client, probe);
    let spent_for_a_day = (true, Some(0), Some(24 * 3600));
    let first = try_send(&gate, "a").await.expect("nothing known yet");
    answer(&gate, "a", first, spent_for_a_day).await;
    match try_send(&gate, "a").await {
        Err(Refusal::Paced { wait }) => assert!(wait <= probe, "{wait:?}"),
        other => panic!("held back for the interval, got {other:?}"),
    }
    // Once the interval passed, the next caller is the probe, and the one after it waits again.
    tokio::time::sleep(probe).await;
    let sent = try_send(&gate, "a").await.expect("the probe goes");
    assert!(try_send(&gate, "a").await.is_err());
    // A 429 without headers keeps the window; an answer with requests remaining, or a
    // request accepted without saying, clears it.
    answer(&gate, "a", sent, (false, None, None)).await;
    assert!(try_send(&gate, "a").await.is_err());
    tokio::time::sleep(probe).await;
    let sent = try_send(&gate, "a").await.expect("probe");
    answer(&gate, "a", sent, (true, Some(3), Some(30))).await;
    let sent = try_send(&gate, "a").await.expect("budget stated afresh");
    answer(&gate, "a", sent, spent_for_a_day).await;
    assert!(try_send(&gate, "a").await.is_err());
    tokio::time::sleep(probe).await;
    let sent = try_send(&gate, "a").await.expect("probe");
    answer(&gate, "a", sent, (true, None, None)).await;
    assert!(try_send(&gate, "a").await.is_ok(), "accepted without saying: forgotten");
}

#[tokio::test]
async fn operation_scope_keeps_routes_apart() {
    let gate = budget_only(LimitScope::Operation, MINUTE);
    let flight = try_send(&gate, "create").await.expect("go");
    answer(&gate, "create", flight, (true, Some(0), Some(30))).await;
    assert!(try_send(&gate, "create").await.is_err());
    assert!(try_send(&gate, "list").await.is_ok());
    let client_wide = budget_only(LimitScope::Client, MINUTE);
    let flight = try_send(&client_wide, "create").await.expect("go");
    answer(&client_wide, "create", flight, (true, Some(0), Some(30))).await;
    assert!(try_send(&client_wide, "list").await.is_err());
}
