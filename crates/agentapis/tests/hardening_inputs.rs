//! The runtime against hostile input (issue 9, items 1–3 and 9): no panic from any header or
//! setting, no path parameter that changes the route, and the smaller items (failure envelopes,
//! unknown run statuses, escaped server text). Each case is bounded in time.

mod common;
mod testserver;

use std::time::{Duration, Instant};

use agentapis::{agentiv, archastro, invent, ArgumentError, Error, PageOptions, Position, RetryPolicy};
use common::{archastro_at, get_agent, BOUND};
use futures::TryStreamExt as _;
use serde_json::json;
use testserver::{ok, Act, Req, Server};

fn reply_with(headers: Vec<(&'static str, String)>) -> Act {
    Act::Reply(200, headers, r#"{"id":"agt_1"}"#.into())
}

// 1. Panics from server input.

#[tokio::test]
async fn huge_reset_values_do_not_panic() {
    for reset in ["9223372036854775808", "18446744073709551615", "99999999999999999999999"] {
        let server = Server::acts(vec![reply_with(vec![
            ("x-ratelimit-remaining", "0".into()),
            ("x-ratelimit-reset", reset.into()),
        ])])
        .await;
        let client = archastro_at(&server.base).build().expect("client");
        assert_eq!(get_agent(&client).await.expect("first"), "agt_1");
        // The second call reads the stored reset: still no panic, and no lock-out.
        let second = get_agent(&client).await;
        assert!(second.is_ok(), "{reset}: {second:?}");
    }
}

// 2. Panics from caller input.

#[tokio::test]
async fn extreme_durations_are_accepted_and_saturate() {
    let server = Server::acts(vec![ok()]).await;
    let client = archastro_at(&server.base)
        .deadline(Some(Duration::MAX))
        .attempt_timeout(Duration::MAX)
        .connect_timeout(Duration::MAX)
        .build()
        .expect("client");
    assert_eq!(get_agent(&client).await.expect("ok"), "agt_1");

    // Backoff of Duration::MAX: the retry's wait is bounded by the deadline, not a panic.
    let server = Server::acts(vec![Act::Reply(503, vec![], "{}".into()), ok()]).await;
    let client = archastro_at(&server.base)
        .retry(
            RetryPolicy::default()
                .base_delay(Duration::MAX)
                .max_delay(Duration::MAX)
                .max_retry_after(Duration::MAX),
        )
        .deadline(Some(Duration::from_millis(300)))
        .build()
        .expect("client");
    let started = Instant::now();
    for _ in 0..20 {
        let _ = get_agent(&client).await;
    }
    assert!(started.elapsed() < BOUND);
}

#[tokio::test]
async fn the_largest_page_number_ends_the_walk() {
    let server = Server::script(|_req: &Req| (200, vec![], json!({"data": [{"id": "agt_1"}], "has_next": true}))).await;
    let client = archastro_at(&server.base).build().expect("client");
    // A resume position past what the operation's page parameter holds: a clear error.
    let resumed: Position = "page:18446744073709551615".parse().expect("a position");
    assert_eq!(resumed, Position::Page(u64::MAX));
    let result: Result<Vec<_>, _> = client
        .pages(|api| api.list_agents(), PageOptions::new().start(resumed))
        .try_collect()
        .await;
    assert!(
        matches!(result, Err(Error::InvalidArgument(ArgumentError::Request(_)))),
        "{result:?}"
    );
    // The largest page it holds arrives; the page after it cannot be asked for, and says so.
    let mut pages = client.pages(
        |api| api.list_agents(),
        PageOptions::new().start(Position::Page(i64::MAX as u64)),
    );
    assert_eq!(pages.try_next().await.expect("the page").expect("one").items.len(), 1);
    assert!(matches!(
        pages.try_next().await,
        Err(Error::InvalidArgument(ArgumentError::Request(_)))
    ));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn wait_with_a_tiny_max_interval_polls_without_panicking() {
    let server = Server::script(|req: &Req| {
        let status = if req.n < 3 { "running" } else { "success" };
        (
            200,
            vec![],
            json!({"success": true, "data": {"id": "exe_1", "status": status, "agent_slug": "email-triage"}}),
        )
    })
    .await;
    let client = agentiv::Client::builder()
        .api_key("ak_x")
        .base_url(&server.base)
        .build()
        .expect("client");
    let options = agentiv::WaitOptions::default()
        .first_poll(Duration::from_millis(1))
        .max_interval(Duration::from_millis(1));
    let done = client.execution("exe_1").wait(options).await.expect("success");
    assert_eq!(done.id, "exe_1");
}

// 3. Path traversal through ids.

#[tokio::test]
async fn path_parameters_never_change_the_route() {
    let server = Server::acts(vec![ok()]).await;
    let arch = archastro_at(&server.base).build().expect("client");
    for id in ["..", ".", ""] {
        let err = arch.agent(archastro::AgentRef::Id(id)).await.expect_err("refused");
        assert!(matches!(err, Error::InvalidArgument(_)), "{id:?}: {err:?}");
        // The generated client (the escape hatch) is refused by the same hook.
        let raw = arch.generated().get_agent().agent(id).send().await;
        assert!(matches!(raw, Err(progenitor_client::Error::Custom(_))), "{id:?}");
    }

    let inv = invent::Client::builder()
        .api_key("inv_x")
        .base_url(&server.base)
        .build()
        .expect("client");
    for org in ["..", "."] {
        let sub = inv.org(org).expect("a view");
        let err = sub.call(|api| api.list_assistants().send()).await.expect_err("refused");
        assert!(
            matches!(err, Error::InvalidArgument(ArgumentError::PathParameter { .. })),
            "{org:?}: {err:?}"
        );
    }

    let agv = agentiv::Client::builder()
        .api_key("ak_x")
        .base_url(&server.base)
        .build()
        .expect("client");
    for slug in ["..", ""] {
        let err = agv.run(slug, json!({})).await.expect_err("refused");
        assert!(
            matches!(err, Error::InvalidArgument(ArgumentError::PathParameter { .. })),
            "{slug:?}: {err:?}"
        );
    }
    assert_eq!(server.hits(), 0, "{:?}", server.heads.lock().map(|h| h.clone()));

    // Slashes and backslashes are part of the value: encoded, one segment, same route.
    arch.call(|api| api.get_agent().agent("a/..").send())
        .await
        .expect("a slash is encoded");
    arch.agent(archastro::AgentRef::Id("..\\..\\teams"))
        .await
        .expect("a backslash is encoded");
    let sub = inv.org("x\\..\\..\\admin").expect("a view");
    sub.call(|api| api.list_assistants().send())
        .await
        .expect_err("the fake server's answer is no assistant list");
    let heads = server.heads.lock().map(|h| h.clone()).unwrap_or_default();
    assert!(heads[0].starts_with("GET /api/v1/agents/a%2F.. "), "{heads:?}");
    assert!(heads[1].starts_with("GET /api/v1/agents/..%5C..%5Cteams "), "{heads:?}");
    assert!(
        heads[2].starts_with("GET /orgs/x%5C..%5C..%5Cadmin/assistants "),
        "{heads:?}"
    );
}

// 9. Smaller items.

#[tokio::test]
async fn an_agentiv_failure_envelope_with_status_200_is_an_api_error() {
    let server = Server::script(|_req: &Req| {
        (
            200,
            vec![],
            json!({"success": false, "error": {"code": "FORBIDDEN", "message": "plan does not allow this"}}),
        )
    })
    .await;
    let client = agentiv::Client::builder()
        .api_key("ak_x")
        .base_url(&server.base)
        .build()
        .expect("client");
    let err = client.call(|api| api.list_agents().send()).await.expect_err("failure");
    assert_eq!(
        agentiv::error_code(&err),
        Some(&agentiv::ErrorCode::Forbidden),
        "{err:?}"
    );
    assert_eq!(err.status().map(|s| s.as_u16()), Some(200));
}

#[tokio::test]
async fn wait_returns_at_once_on_an_unknown_status() {
    let server = Server::script(|_req: &Req| {
        (
            200,
            vec![],
            json!({"success": true, "data": {"id": "exe_1", "status": "cancelled", "agent_slug": "email-triage"}}),
        )
    })
    .await;
    let client = agentiv::Client::builder()
        .api_key("ak_x")
        .base_url(&server.base)
        .build()
        .expect("client");
    let started = Instant::now();
    let options = agentiv::WaitOptions::default()
        .first_poll(Duration::from_millis(10))
        .timeout(Duration::from_secs(3));
    let err = client.execution("exe_1").wait(options).await.expect_err("unknown");
    assert!(
        matches!(&err, Error::UnknownExecutionStatus { status, .. } if status == "cancelled"),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn server_text_in_display_has_control_characters_escaped() {
    let body = json!({"error": {"code": "bad\u{1b}[31mcode", "message": "line one\nFAKE LOG LINE\r\u{7}"}});
    let server = Server::acts(vec![Act::Reply(400, vec![], body.to_string())]).await;
    let client = archastro_at(&server.base).build().expect("client");
    let err = get_agent(&client).await.expect_err("400");
    let shown = err.to_string();
    assert!(!shown.chars().any(char::is_control), "{shown:?}");
    assert!(shown.contains("line one\\nFAKE LOG LINE"), "{shown}");
}
