//! The attempt loop against a local mock server: what is retried, how often, and what is not.

use std::time::{Duration, Instant};

use agentapis_runtime::{call, Api, Auth, CallOptions, OperationMeta, RetryPolicy, Runtime, Settings, StopReason};
use httpmock::prelude::*;

const OPS: &[OperationMeta] = &[];

/// A runtime with these settings (the API only names the tracing spans and the pacing scope).
fn runtime_with(settings: Settings) -> Runtime {
    Runtime::with_settings(Api::Agentiv, Auth::None, OPS, settings)
}

fn runtime() -> Runtime {
    let mut settings = Settings::default();
    settings.retry = RetryPolicy::default()
        .base_delay(Duration::from_millis(5))
        .max_delay(Duration::from_millis(20));
    runtime_with(settings)
}

async fn send(
    rt: &Runtime,
    method: reqwest::Method,
    url: String,
    body: Option<&str>,
) -> (reqwest::Result<reqwest::Response>, call::CallRecord) {
    let client = reqwest::Client::new();
    let mut req = reqwest::Request::new(method, url.parse().expect("url"));
    if let Some(b) = body {
        *req.body_mut() = Some(b.to_owned().into());
    }
    call::scope(CallOptions::default(), rt.execute(&client, req, "op")).await
}

#[tokio::test]
async fn get_on_503_is_retried_until_attempts_run_out() {
    let server = MockServer::start_async().await;
    let failing = server
        .mock_async(|when, then| {
            when.method(GET).path("/x");
            then.status(503);
        })
        .await;
    let (res, record) = send(&runtime(), reqwest::Method::GET, server.url("/x"), None).await;
    assert_eq!(res.expect("last response").status(), 503);
    assert_eq!(record.attempts, 3, "{record:?}");
    assert_eq!(record.stop, Some(StopReason::AttemptsExhausted));
    failing.assert_calls_async(3).await;
}

#[tokio::test]
async fn post_on_500_without_idempotency_key_is_sent_once() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST).path("/x");
            then.status(500);
        })
        .await;
    let (res, record) = send(&runtime(), reqwest::Method::POST, server.url("/x"), Some(r#"{"a":1}"#)).await;
    assert_eq!(res.expect("response").status(), 500);
    assert_eq!(record.stop, Some(StopReason::NotIdempotent));
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn post_with_idempotency_key_is_retried() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST).path("/x");
            then.status(502);
        })
        .await;
    let (_, record) = send(
        &runtime(),
        reqwest::Method::POST,
        server.url("/x"),
        Some(r#"{"idempotency_key":"k1"}"#),
    )
    .await;
    assert_eq!(record.attempts, 3);
    m.assert_calls_async(3).await;
}

#[tokio::test]
async fn retry_after_longer_than_the_cap_returns_at_once() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET).path("/x");
            then.status(429).header("retry-after", "999999999");
        })
        .await;
    let started = Instant::now();
    let (res, record) = send(&runtime(), reqwest::Method::GET, server.url("/x"), None).await;
    assert_eq!(res.expect("response").status(), 429);
    assert_eq!(record.stop, Some(StopReason::RetryAfterTooLong));
    assert_eq!(record.retry_after, Some(Duration::from_secs(24 * 3600)));
    assert!(started.elapsed() < Duration::from_secs(2));
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn retry_after_seconds_is_honoured() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET).path("/x");
            then.status(429).header("retry-after", "1");
        })
        .await;
    let started = Instant::now();
    let mut settings = Settings::default();
    settings.retry = RetryPolicy::default().max_attempts(2);
    let rt = runtime_with(settings);
    let (_, record) = send(&rt, reqwest::Method::GET, server.url("/x"), None).await;
    assert_eq!(record.attempts, 2);
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
    m.assert_calls_async(2).await;
}

#[tokio::test]
async fn connection_refused_is_retried_even_for_post() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/x", listener.local_addr().expect("addr"));
    drop(listener);
    let (res, record) = send(&runtime(), reqwest::Method::POST, url, Some("{}")).await;
    assert!(res.expect_err("refused").is_connect());
    assert_eq!(record.attempts, 3);
    assert!(!record.sent);
}

#[tokio::test]
async fn zero_remaining_with_fail_fast_does_not_send() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET).path("/x");
            then.status(200)
                .header("x-ratelimit-remaining", "0")
                .header("x-ratelimit-reset", "30")
                .body("{}");
        })
        .await;
    let mut settings = Settings::default();
    settings.pacing = agentapis_runtime::Pacing::FailFast;
    let rt = runtime_with(settings);
    let (first, _) = send(&rt, reqwest::Method::GET, server.url("/x"), None).await;
    assert_eq!(first.expect("first").status(), 200);
    assert_eq!(rt.rate_limit().remaining, Some(0));
    let (second, record) = send(&rt, reqwest::Method::GET, server.url("/x"), None).await;
    assert_eq!(second.expect("synthesized").status(), 429);
    assert_eq!(record.stop, Some(StopReason::PacedFailFast));
    assert!(record
        .retry_after
        .is_some_and(|w| w <= Duration::from_secs(30) && w > Duration::from_secs(25)));
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_user_rule_makes_a_status_retryable_and_the_record_says_so() {
    let server = MockServer::start_async().await;
    let overloaded = server
        .mock_async(|when, then| {
            when.method(GET).path("/x");
            then.status(529).header("retry-after", "0");
        })
        .await;
    // Without a rule, 529 is final.
    let (_, record) = send(&runtime(), reqwest::Method::GET, server.url("/x"), None).await;
    assert_eq!((record.attempts, record.retryable), (1, Some(false)), "{record:?}");
    let mut settings = Settings::default();
    settings.retry = RetryPolicy::default().base_delay(Duration::from_millis(5));
    settings.retry_rules = agentapis_runtime::RetryRules::new().status(
        reqwest::StatusCode::from_u16(529).expect("status"),
        agentapis_runtime::retry::Verdict::Retry,
    );
    let (res, record) = send(&runtime_with(settings), reqwest::Method::GET, server.url("/x"), None).await;
    assert_eq!(res.expect("last response").status(), 529);
    assert_eq!(record.attempts, 3, "{record:?}");
    assert_eq!(
        (record.stop, record.retryable),
        (Some(StopReason::AttemptsExhausted), Some(true))
    );
    overloaded.assert_calls_async(4).await;
}

#[tokio::test]
async fn a_code_the_spec_documents_as_final_is_not_retried_whatever_its_status() {
    // Agentiv's x-error-codes: INVALID_INPUT is not retryable. Before the rule chain, a 503
    // carrying it was sent three times (the code only changed the reported flag).
    let server = MockServer::start_async().await;
    let invalid = server
        .mock_async(|when, then| {
            when.method(GET).path("/x");
            then.status(503)
                .header("content-type", "application/json")
                .body(r#"{"success":false,"error":{"code":"INVALID_INPUT","message":"no"}}"#);
        })
        .await;
    let (_, record) = send(&runtime(), reqwest::Method::GET, server.url("/x"), None).await;
    assert_eq!(record.attempts, 1, "{record:?}");
    assert_eq!((record.stop, record.retryable), (Some(StopReason::Final), Some(false)));
    invalid.assert_calls_async(1).await;
}
