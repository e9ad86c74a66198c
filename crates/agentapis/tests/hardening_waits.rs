//! Every wait and every retry under control (issue 9, items 5–8): waits end at the deadline, one
//! refresh per token, rate-limit headers that cannot lock a client out, jitter on server waits,
//! and a retry budget. Each case is bounded in time.

mod common;
mod testserver;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use agentapis::{archastro, ClientLimits, Error, Pacing, RetryBudget, RetryPolicy, StopReason};
use common::{archastro_at, fast, get_agent, BOUND};
use serde_json::json;
use testserver::{ok, Act, Req, Server};

fn reply_with(headers: Vec<(&'static str, String)>) -> Act {
    Act::Reply(200, headers, r#"{"id":"agt_1"}"#.into())
}

// 5. The deadline covers every wait.

#[tokio::test]
async fn a_concurrency_slot_wait_ends_at_the_deadline() {
    let server = Server::acts(vec![Act::Slow(Duration::from_secs(30))]).await;
    let client = archastro_at(&server.base)
        .limits(ClientLimits::new().concurrency(1))
        .deadline(Some(Duration::from_millis(500)))
        .build()
        .expect("client");
    let started = Instant::now();
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { (get_agent(&client).await, started.elapsed()) })
        })
        .collect();
    let mut waited_for_slot = 0;
    for call in calls {
        let (result, took) = call.await.expect("task");
        assert!(took < Duration::from_millis(1500), "{took:?}");
        match result {
            Err(Error::Timeout {
                deadline: true,
                waiting_for,
                ..
            }) => waited_for_slot += usize::from(waiting_for.is_some()),
            Err(Error::Timeout { .. }) => {}
            other => panic!("{other:?}"),
        }
    }
    // The calls behind the first wait for the slot; the one that gets it as the first call
    // times out may have no time left to send.
    assert!(waited_for_slot >= 3, "{waited_for_slot}");
}

#[tokio::test]
async fn a_client_side_rate_limit_wait_ends_at_the_deadline() {
    let server = Server::acts(vec![ok()]).await;
    let client = archastro_at(&server.base)
        .limits(ClientLimits::new().per_minute(2))
        .deadline(Some(Duration::from_millis(500)))
        .build()
        .expect("client");
    get_agent(&client).await.expect("first");
    get_agent(&client).await.expect("second");
    let started = Instant::now();
    let third = get_agent(&client).await;
    assert!(started.elapsed() < Duration::from_millis(1500));
    assert!(
        matches!(
            third,
            Err(Error::Timeout {
                waiting_for: Some(agentapis::Waiting::RateLimiter),
                ..
            })
        ),
        "{third:?}"
    );
}

#[tokio::test]
async fn a_hanging_refresh_ends_at_the_deadline() {
    let unauthorized = Act::Reply(401, vec![], r#"{"error":"unauthorized"}"#.into());
    let server = Server::acts(vec![unauthorized, Act::Slow(Duration::from_secs(60))]).await;
    let client = archastro::Client::builder()
        .publishable_key("pk_app")
        .token("at-expired")
        .refresh_token("rt1")
        .base_url(&server.base)
        .deadline(Some(Duration::from_secs(1)))
        .build()
        .expect("client");
    let started = Instant::now();
    let err = client.me().await.expect_err("no refresh in time");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert!(
        matches!(
            err,
            Error::Timeout {
                waiting_for: Some(agentapis::Waiting::TokenRefresh),
                ..
            }
        ),
        "{err:?}"
    );
}

// 6. Refresh failure is single-flight too.

#[tokio::test]
async fn twenty_401s_with_a_failing_refresh_send_one_refresh() {
    for refresh_status in [401u16, 500] {
        let refreshes = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&refreshes);
        let server = Server::script(move |req: &Req| match req.path.as_str() {
            "/api/v1/auth/refresh" => {
                counter.fetch_add(1, Ordering::SeqCst);
                (refresh_status, vec![], json!({"error": "invalid_refresh_token"}))
            }
            _ => (
                401,
                vec![],
                json!({"error": {"code": "unauthorized", "message": "expired"}}),
            ),
        })
        .await;
        let client = archastro::Client::builder()
            .publishable_key("pk_app")
            .token("at-expired")
            .refresh_token("rt1")
            .base_url(&server.base)
            .build()
            .expect("client");
        let calls: Vec<_> = (0..20)
            .map(|_| {
                let client = client.clone();
                tokio::spawn(async move { client.me().await })
            })
            .collect();
        for call in calls {
            let err = call.await.expect("task").expect_err("401");
            assert_eq!(err.status().map(|s| s.as_u16()), Some(401), "{err:?}");
        }
        // A later 401 with the same token shares the failure too: no second refresh.
        let again = client.me().await.expect_err("401");
        assert_eq!(again.status().map(|s| s.as_u16()), Some(401));
        assert_eq!(refreshes.load(Ordering::SeqCst), 1, "refresh answered {refresh_status}");
    }
}

// 7. Rate-limit headers never lock the client out.

/// Milliseconds since the Unix epoch, `ahead` from now.
fn epoch_ms_in(ahead: Duration) -> u128 {
    SystemTime::now()
        .checked_add(ahead)
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .expect("a time after 1970")
        .as_millis()
}

/// The rate-limit headers of a server that has no requests left until `reset`.
fn none_remaining_until(reset: String) -> Vec<(&'static str, String)> {
    vec![("x-ratelimit-remaining", "0".into()), ("x-ratelimit-reset", reset)]
}

/// `none_remaining_until` a reset `ahead` from now, in epoch seconds.
fn none_remaining_for(ahead: Duration) -> Vec<(&'static str, String)> {
    none_remaining_until((epoch_ms_in(ahead) / 1000).to_string())
}

#[tokio::test]
async fn a_reset_in_epoch_milliseconds_is_read_as_milliseconds() {
    let reset_ms = epoch_ms_in(Duration::from_secs(1));
    let server = Server::acts(vec![reply_with(none_remaining_until(reset_ms.to_string())), ok()]).await;
    let client = archastro_at(&server.base)
        .pacing(Pacing::FailFast)
        .build()
        .expect("client");
    get_agent(&client).await.expect("first");
    let err = get_agent(&client).await.expect_err("paced");
    let wait = err.retry_after().expect("a wait");
    assert!(wait <= Duration::from_secs(2), "read as seconds: {wait:?}");
    tokio::time::sleep(wait).await;
    get_agent(&client).await.expect("after the reset");
}

#[tokio::test]
async fn a_distant_reset_is_probed_instead_of_locking_the_client_out() {
    let far = none_remaining_for(Duration::from_secs(20 * 3600));
    let server = Server::acts(vec![reply_with(far), ok()]).await;
    // Probe interval = max_retry_after = 300 ms.
    let client = archastro_at(&server.base)
        .retry(fast().max_retry_after(Duration::from_millis(300)))
        .build()
        .expect("client");
    get_agent(&client).await.expect("first");
    let started = Instant::now();
    get_agent(&client).await.expect("the probe goes out and succeeds");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(250) && waited < BOUND, "{waited:?}");
    // The probe's answer (requests remain) cleared the window.
    let started = Instant::now();
    get_agent(&client).await.expect("third");
    assert!(started.elapsed() < Duration::from_millis(250));
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn calls_held_back_by_pacing_go_out_one_probe_at_a_time() {
    let exhausted = reply_with(none_remaining_for(Duration::from_secs(3600)));
    // Every probe is refused too: the window stays shut.
    let server = Server::acts(vec![exhausted, Act::Reply(429, vec![], "{}".into())]).await;
    let client = archastro_at(&server.base)
        .retry(fast().max_retry_after(Duration::from_millis(300)))
        .deadline(Some(Duration::from_secs(1)))
        .build()
        .expect("client");
    get_agent(&client).await.expect("first");
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { get_agent(&client).await })
        })
        .collect();
    for call in calls {
        assert!(call.await.expect("task").is_err());
    }
    // The first answer, then about one probe per 300 ms interval (not eight at once).
    assert!(server.hits() <= 6, "{} requests", server.hits());
}

#[tokio::test]
async fn a_retry_after_too_large_for_u64_is_too_long_not_garbage() {
    let server = Server::acts(vec![Act::Reply(
        429,
        vec![("retry-after", "99999999999999999999999999".into())],
        "{}".into(),
    )])
    .await;
    let client = archastro_at(&server.base).build().expect("client");
    let started = Instant::now();
    let err = get_agent(&client).await.expect_err("rate limited");
    assert!(started.elapsed() < BOUND);
    let Error::RateLimited(e) = &err else { panic!("{err:?}") };
    assert_eq!(e.stop, Some(StopReason::RetryAfterTooLong));
    assert_eq!(e.retry_after, Some(Duration::from_secs(24 * 3600)));
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn archastro_paces_per_operation() {
    let exhausted = none_remaining_for(Duration::from_secs(30));
    let server = Server::script(move |req: &Req| {
        if req.path.starts_with("/api/v1/agents/") {
            (200, exhausted.clone(), json!({"id": "agt_1"}))
        } else {
            (200, vec![], json!({"data": [], "has_next": false}))
        }
    })
    .await;
    let client = archastro_at(&server.base)
        .pacing(Pacing::FailFast)
        .build()
        .expect("client");
    get_agent(&client).await.expect("first");
    assert!(matches!(get_agent(&client).await, Err(Error::RateLimited(_))));
    // Another operation is not held back by get_agent's exhausted budget.
    client
        .call(|api| api.list_agents().send())
        .await
        .expect("list_agents is paced apart");
}

// 8. No synchronized herds, and a retry budget.

#[tokio::test]
async fn retries_after_a_shared_retry_after_are_spread_out() {
    let limited = Act::Reply(429, vec![("retry-after", "1".into())], "{}".into());
    let acts: Vec<Act> = std::iter::repeat_n(limited, 100).chain([ok()]).collect();
    let server = Server::acts(acts).await;
    let client = archastro_at(&server.base)
        .retry(RetryPolicy::default().max_attempts(2))
        .build()
        .expect("client");
    let calls: Vec<_> = (0..100)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { get_agent(&client).await })
        })
        .collect();
    for call in calls {
        call.await.expect("task").expect("the retry succeeds");
    }
    let arrivals = server.arrivals.lock().map(|a| a.clone()).unwrap_or_default();
    let retries = &arrivals[100..];
    let first = retries.iter().min().copied().expect("retries");
    let last = retries.iter().max().copied().expect("retries");
    // Full jitter of up to 0.5 s on top of the 1 s wait: not one wave.
    assert!(
        last.duration_since(first) > Duration::from_millis(200),
        "{:?}",
        last.duration_since(first)
    );
}

#[tokio::test]
async fn the_retry_budget_bounds_retry_traffic_to_a_failing_server() {
    let server = Server::acts(vec![Act::Reply(503, vec![], "{}".into())]).await;
    let client = archastro_at(&server.base)
        .retry(
            fast()
                .max_attempts(5)
                .budget(RetryBudget::default().capacity(50).retry_cost(5)),
        )
        .build()
        .expect("client");
    let calls: Vec<_> = (0..40)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { get_agent(&client).await })
        })
        .collect();
    let mut spent = 0;
    for call in calls {
        let err = call.await.expect("task").expect_err("503");
        if err.api_error().and_then(|e| e.stop) == Some(StopReason::RetryBudgetExhausted) {
            spent += 1;
        }
    }
    // 40 first attempts plus at most 50 / 5 = 10 retries (without a budget: 40 × 5 = 200).
    assert_eq!(server.hits(), 50);
    assert!(spent > 0);
}
