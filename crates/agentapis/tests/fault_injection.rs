//! Fault injection through the facade: a raw TCP server that misbehaves on cue (resets,
//! truncated bodies, slow answers, odd statuses and headers). Each case checks the outcome, how
//! many requests the server saw, and that the time spent is bounded.

mod common;
mod testserver;

use std::time::{Duration, Instant, SystemTime};

use agentapis::{agentiv, archastro, CallOptions, Error, ErrorCode, Pacing, Phase, StatusClass, StopReason};
use testserver::{ok, status, Act, Server};

use common::{archastro_at, client, fast, get_agent, BOUND};

async fn create_agent(client: &archastro::Client) -> Result<String, Error> {
    client
        .call(|api| api.create_agent().body_map(|b| b.name("bot".to_owned())).send())
        .await
        .map(|agent| agent.id.clone())
}

#[tokio::test]
async fn connection_refused_is_retried_for_get_and_post() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    }; // dropped: nothing listens there now
    let client = client(&format!("http://127.0.0.1:{port}"));
    let started = Instant::now();
    for result in [get_agent(&client).await, create_agent(&client).await] {
        match result {
            Err(Error::Transport {
                phase: Phase::BeforeSend,
                attempts: 3,
                ..
            }) => {}
            other => panic!("{other:?}"),
        }
    }
    assert!(started.elapsed() < BOUND);
}

#[tokio::test]
async fn reset_before_response_retries_get_but_not_post() {
    let server = Server::acts(vec![Act::Reset, ok()]).await;
    assert_eq!(get_agent(&client(&server.base)).await.expect("second attempt"), "agt_1");
    assert_eq!(server.hits(), 2);

    let server = Server::acts(vec![Act::Reset, ok()]).await;
    let err = create_agent(&client(&server.base)).await.expect_err("reset");
    assert!(
        matches!(
            err,
            Error::Transport {
                phase: Phase::AfterSend,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(server.hits(), 1, "the POST may have been processed: never sent twice");
}

#[tokio::test]
async fn reset_mid_body_is_a_retryable_transport_error() {
    let server = Server::acts(vec![Act::CutBody, ok()]).await;
    assert_eq!(get_agent(&client(&server.base)).await.expect("retried"), "agt_1");
    assert_eq!(server.hits(), 2);

    let server = Server::acts(vec![Act::CutBody]).await;
    let err = get_agent(&client(&server.base)).await.expect_err("always cut");
    assert!(
        matches!(
            err,
            Error::Transport {
                phase: Phase::AfterSend,
                attempts: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn server_error_bursts_then_success() {
    let server = Server::acts(vec![status(500), status(502), status(503), status(504), ok()]).await;
    let client = archastro_at(&server.base).max_attempts(5).build().expect("client");
    let started = Instant::now();
    let agent = client
        .call(|api| api.get_agent().agent("agt_1").send())
        .await
        .expect("fifth attempt");
    assert_eq!(agent.attempts(), 5);
    assert_eq!(server.hits(), 5);
    assert!(started.elapsed() < BOUND);
}

fn limited(retry_after: Option<&str>) -> Act {
    let headers = retry_after
        .map(|v| vec![("retry-after", v.to_owned())])
        .unwrap_or_default();
    Act::Reply(429, headers, r#"{"error":"rate_limited","message":"slow down"}"#.into())
}

#[tokio::test]
async fn retry_after_seconds_and_http_date_are_honoured() {
    let server = Server::acts(vec![limited(Some("1")), ok()]).await;
    let started = Instant::now();
    get_agent(&client(&server.base)).await.expect("after the wait");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(900) && waited < BOUND, "{waited:?}");
    assert_eq!(server.hits(), 2);

    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    let server = Server::acts(vec![limited(Some(&date)), ok()]).await;
    let started = Instant::now();
    get_agent(&client(&server.base)).await.expect("after the date");
    assert!(started.elapsed() < BOUND);
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn bad_retry_after_values_fall_back_to_backoff() {
    for value in [Some("-1"), Some("soon"), Some(""), None] {
        let server = Server::acts(vec![limited(value), ok()]).await;
        let started = Instant::now();
        get_agent(&client(&server.base)).await.expect("retried with backoff");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{value:?}: {:?}",
            started.elapsed()
        );
        assert_eq!(server.hits(), 2, "{value:?}");
    }
}

#[tokio::test]
async fn an_absurd_retry_after_returns_at_once_with_the_wait() {
    let server = Server::acts(vec![limited(Some("999999999"))]).await;
    let started = Instant::now();
    let err = get_agent(&client(&server.base)).await.expect_err("too long to wait");
    let Error::RateLimited(limit) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(limit.stop, Some(StopReason::RetryAfterTooLong));
    assert!(
        limit.retry_after.is_some_and(|w| w >= Duration::from_secs(3600)),
        "{:?}",
        limit.retry_after
    );
    assert_eq!(server.hits(), 1);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn zero_remaining_paces_the_next_request_or_fails_fast() {
    let exhausted = || {
        let reset = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("clock")
            .as_secs()
            + 2;
        Act::Reply(
            200,
            vec![
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-reset", reset.to_string()),
            ],
            r#"{"id":"agt_1"}"#.into(),
        )
    };
    let server = Server::acts(vec![exhausted(), ok()]).await;
    let client = client(&server.base);
    get_agent(&client).await.expect("first");
    assert_eq!(client.rate_limit().remaining, Some(0));
    let started = Instant::now();
    get_agent(&client).await.expect("second, after the reset");
    assert!(
        started.elapsed() >= Duration::from_millis(500) && started.elapsed() < BOUND,
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.hits(), 2);

    let server = Server::acts(vec![exhausted(), ok()]).await;
    let client = archastro_at(&server.base)
        .pacing(Pacing::FailFast)
        .build()
        .expect("client");
    get_agent(&client).await.expect("first");
    let err = get_agent(&client).await.expect_err("paced");
    assert!(
        matches!(err, Error::RateLimited(ref e) if e.stop == Some(StopReason::PacedFailFast) && e.retry_after.is_some()),
        "{err:?}"
    );
    assert_eq!(server.hits(), 1, "nothing was sent");
}

#[tokio::test]
async fn per_attempt_timeout_and_overall_deadline() {
    let server = Server::acts(vec![Act::Slow(Duration::from_secs(3))]).await;
    let client = archastro_at(&server.base)
        .attempt_timeout(Duration::from_millis(200))
        .build()
        .expect("client");
    let started = Instant::now();
    let err = get_agent(&client).await.expect_err("too slow");
    assert!(
        matches!(
            err,
            Error::Timeout {
                deadline: false,
                attempts: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));

    let server = Server::acts(vec![Act::Slow(Duration::from_secs(3))]).await;
    let client = archastro_at(&server.base)
        .max_attempts(10)
        .attempt_timeout(Duration::from_millis(250))
        .deadline(Some(Duration::from_millis(600)))
        .build()
        .expect("client");
    let started = Instant::now();
    let err = get_agent(&client).await.expect_err("deadline");
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(err.attempts() < 10, "the deadline cut the attempts short: {err:?}");
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn bodies_that_do_not_decode() {
    for (body, content_type) in [
        (r#"{"id":"agt"#, "application/json"),
        ("{id: agt_1}", "application/json"),
        ("<html><body>hello</body></html>", "text/html"),
        ("", "application/json"),
    ] {
        let server = Server::acts(vec![Act::Reply(
            200,
            vec![("content-type", content_type.into())],
            body.into(),
        )])
        .await;
        let err = get_agent(&client(&server.base)).await.expect_err("undecodable");
        let Error::Decode { status, snippet, .. } = &err else {
            panic!("{body:?}: {err:?}")
        };
        assert_eq!(status.as_u16(), 200);
        if body.is_empty() {
            assert_eq!(snippet, "(empty body)");
        } else {
            assert!(snippet.starts_with(&body[..4]), "{snippet:?}");
        }
        assert_eq!(server.hits(), 1, "a 200 is not retried");
    }
    // Valid JSON under a wrong content type still decodes: the body is what counts.
    let server = Server::acts(vec![Act::Reply(
        200,
        vec![("content-type", "text/plain".into())],
        r#"{"id":"agt_1"}"#.into(),
    )])
    .await;
    assert_eq!(get_agent(&client(&server.base)).await.expect("decoded"), "agt_1");
}

#[tokio::test]
async fn an_html_502_page_is_a_typed_server_error() {
    let page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";
    let server = Server::acts(vec![Act::Reply(
        502,
        vec![("content-type", "text/html".into())],
        page.into(),
    )])
    .await;
    let err = get_agent(&client(&server.base)).await.expect_err("502");
    let Error::Api(e) = &err else { panic!("{err:?}") };
    assert_eq!(
        (e.status.as_u16(), &e.code, e.retryable, e.attempts),
        (502, &ErrorCode::Status(StatusClass::ServerError), true, 3)
    );
    assert_eq!(e.body_text(), page);
    assert_eq!(e.stop, Some(StopReason::AttemptsExhausted));
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn post_on_500_is_sent_once_unless_the_caller_opts_in() {
    let server = Server::acts(vec![status(500), ok()]).await;
    let err = create_agent(&client(&server.base)).await.expect_err("500");
    assert!(
        matches!(err, Error::Api(ref e) if e.status == 500 && e.stop == Some(StopReason::NotIdempotent)),
        "{err:?}"
    );
    assert_eq!(server.hits(), 1);

    let failed = Act::Reply(
        500,
        vec![],
        r#"{"success":false,"error":{"code":"EXECUTION_FAILED","message":"agent crashed"}}"#.into(),
    );
    let run_ok = Act::Reply(
        200,
        vec![],
        r#"{"success":true,"data":{"execution_id":"exec_1","status":"success"}}"#.into(),
    );
    let server = Server::acts(vec![failed.clone(), run_ok.clone()]).await;
    let agentiv = agentiv::Client::builder()
        .api_key("ak_SECRET")
        .base_url(&server.base)
        .retry(fast())
        .build()
        .expect("client");
    let err = agentiv
        .run(agentiv::AgentSlug::EmailTriage, serde_json::json!({}))
        .await
        .expect_err("failed");
    assert_eq!(agentiv::error_code(&err), Some(&agentiv::ErrorCode::ExecutionFailed));
    assert!(err.is_retryable(), "documented as retryable; the caller decides");
    assert_eq!(server.hits(), 1);

    let server = Server::acts(vec![failed, run_ok]).await;
    let agentiv = agentiv::Client::builder()
        .api_key("ak_SECRET")
        .base_url(&server.base)
        .retry(fast())
        .build()
        .expect("client");
    let body = agentiv::generated::types::RunRequest {
        async_: false,
        input_payload: Default::default(),
        webhook_url: None,
    };
    let run = agentiv
        .call_with(CallOptions { retry_unsafe: true }, |api| {
            api.run_agent().agent_slug("email-triage").body(body).send()
        })
        .await
        .expect("re-run on opt-in");
    assert_eq!(run.attempts(), 2);
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn vendor_error_bodies_and_request_ids() {
    let server = Server::acts(vec![Act::Reply(
        404,
        vec![("x-request-id", "req_42".into())],
        r#"{"error":{"code":"not_found","message":"no agent agt_1"}}"#.into(),
    )])
    .await;
    let err = get_agent(&client(&server.base)).await.expect_err("404");
    let Error::Api(e) = &err else { panic!("{err:?}") };
    assert_eq!(e.code, ErrorCode::Vendor("not_found".into()));
    assert_eq!(
        (e.message.as_str(), e.request_id.as_deref()),
        ("no agent agt_1", Some("req_42"))
    );
    assert!(!e.retryable);
    assert!(err.to_string().contains("req_42"));
    assert_eq!(server.hits(), 1);
}
