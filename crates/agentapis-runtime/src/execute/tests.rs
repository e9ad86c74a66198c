//! The attempt loop on a fake clock: every wait it takes is recorded and takes no real time,
//! and jitter is fixed, so the waits are exact.

use std::sync::Arc;
use std::time::{Duration, Instant};

use httpmock::prelude::*;

use crate::call::{self, CallOptions, CallRecord, StopReason};
use crate::env::fake::FakeEnv;
use crate::{Api, Auth, RetryPolicy, Runtime, Settings, Timeouts};

const SECOND: Duration = Duration::from_secs(1);

/// A runtime on a fake clock with half of each backoff ceiling as its jitter.
fn on_fake_clock(retry: RetryPolicy, deadline: Option<Duration>) -> (Runtime, Arc<FakeEnv>) {
    let env = Arc::new(FakeEnv::new(0.5));
    let settings = Settings {
        retry,
        timeouts: Timeouts::default().overall(deadline),
        ..Settings::default()
    };
    let runtime = Runtime::with_settings(Api::Agentiv, Auth::None, &[], settings).with_env(env.clone());
    (runtime, env)
}

async fn get(runtime: &Runtime, url: String) -> (u16, CallRecord) {
    let request = reqwest::Request::new(reqwest::Method::GET, url.parse().expect("url"));
    let client = reqwest::Client::new();
    let (result, record) = call::scope(CallOptions::default(), runtime.execute(&client, request, "op")).await;
    (result.map(|r| r.status().as_u16()).unwrap_or(0), record)
}

#[tokio::test]
async fn retries_wait_their_backoff_on_the_loops_clock_not_the_wall() {
    let server = MockServer::start_async().await;
    let failing = server
        .mock_async(|when, then| {
            when.method(GET).path("/x");
            then.status(503);
        })
        .await;
    // Backoff ceilings 5 s, 10 s: a real clock would sleep 7.5 s.
    let retry = RetryPolicy::default().base_delay(5 * SECOND).max_delay(60 * SECOND);
    let (runtime, env) = on_fake_clock(retry, None);
    let started = Instant::now();
    let (status, record) = get(&runtime, server.url("/x")).await;
    assert_eq!((status, record.attempts), (503, 3));
    assert_eq!(record.stop, Some(StopReason::AttemptsExhausted));
    assert_eq!(env.slept(), [SECOND * 5 / 2, 5 * SECOND]);
    assert!(
        started.elapsed() < 2 * SECOND,
        "slept for real: {:?}",
        started.elapsed()
    );
    assert_eq!(
        record.elapsed,
        7 * SECOND + SECOND / 2,
        "the call's time is the loop's clock"
    );
    failing.assert_calls_async(3).await;
}

#[tokio::test]
async fn a_servers_wait_is_slept_with_jitter_on_top() {
    let server = MockServer::start_async().await;
    let limited = server
        .mock_async(|when, then| {
            when.method(GET).path("/x");
            then.status(429).header("retry-after", "2");
        })
        .await;
    let retry = RetryPolicy::default().max_attempts(2);
    let (runtime, env) = on_fake_clock(retry, None);
    let (status, record) = get(&runtime, server.url("/x")).await;
    assert_eq!((status, record.attempts), (429, 2));
    // Retry-After 2 s plus half of the first backoff ceiling (0.5 s).
    assert_eq!(env.slept(), [2 * SECOND + SECOND / 4]);
    limited.assert_calls_async(2).await;
}

#[tokio::test]
async fn a_wait_past_the_deadline_is_not_slept() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/x");
            then.status(503).header("retry-after", "5");
        })
        .await;
    let (runtime, env) = on_fake_clock(RetryPolicy::default(), Some(SECOND));
    let (status, record) = get(&runtime, server.url("/x")).await;
    assert_eq!((status, record.attempts), (503, 1));
    assert_eq!(record.stop, Some(StopReason::RetryAfterTooLong));
    assert_eq!(record.retry_after, Some(5 * SECOND));
    assert!(env.slept().is_empty(), "{:?}", env.slept());
}

#[tokio::test]
async fn the_deadline_is_measured_on_the_loops_clock() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/x");
            then.status(503);
        })
        .await;
    // Each backoff is 1 s (ceiling 2 s, half of it); the deadline, 1.5 s, leaves room for one.
    let retry = RetryPolicy::default()
        .max_attempts(5)
        .base_delay(2 * SECOND)
        .max_delay(2 * SECOND);
    let (runtime, env) = on_fake_clock(retry, Some(SECOND * 3 / 2));
    let (_, record) = get(&runtime, server.url("/x")).await;
    assert_eq!(env.slept(), [SECOND]);
    assert_eq!((record.attempts, record.stop), (2, Some(StopReason::Deadline)));
}
