//! Agentiv workflows against the stand-in (failed runs, wait timeouts, typed input, the
//! integration-not-connected error) and, where the test checks exactly what was sent and how
//! often it was polled, the raw test server (a run waited to completion).

mod testserver;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentapis::agentiv::generated::types::EmailTriageInput;
use agentapis::agentiv::{self, AgentSlug, ErrorCode, WaitOptions};
use agentapis::{Api, ArgumentError, Error};
use agentapis_standin::{self as standin, StandinBuilder};
use serde_json::json;
use testserver::{Req, Server};

fn client(base: &str) -> agentiv::Client {
    agentiv::Client::builder()
        .api_key("ak_test")
        .base_url(base)
        .build()
        .expect("client")
}

fn ok(data: serde_json::Value) -> testserver::Reply {
    (200, vec![], json!({"success": true, "data": data}))
}

fn execution(status: &str) -> serde_json::Value {
    json!({"id": "exec_1", "agent_slug": "email-triage", "status": status, "summary": format!("run is {status}")})
}

fn quick_wait() -> WaitOptions {
    WaitOptions::default()
        .timeout(Duration::from_secs(5))
        .first_poll(Duration::from_millis(10))
        .max_interval(Duration::from_millis(50))
}

#[tokio::test]
async fn async_run_is_waited_through_queued_and_running_to_success() {
    let polls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&polls);
    let server = Server::script(move |req: &Req| match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/api/agents/email-triage/run") => {
            let body = req.json();
            assert_eq!(body["async"], json!(true));
            assert_eq!(body["input_payload"]["max_emails"], json!(25));
            assert_eq!(body["webhook_url"], json!("https://example.com/hook"));
            ok(json!({"execution_id": "exec_1", "status": "queued", "estimated_duration_ms": 20}))
        }
        ("GET", "/api/executions/exec_1") => match seen.fetch_add(1, Ordering::SeqCst) {
            0 => ok(execution("queued")),
            1 => ok(execution("running")),
            _ => ok(
                json!({"id": "exec_1", "agent_slug": "email-triage", "status": "success", "output": {"archived": 4}}),
            ),
        },
        _ => (
            404,
            vec![],
            json!({"success": false, "error": {"code": "NOT_FOUND", "message": "no route"}}),
        ),
    })
    .await;
    let client = client(&server.base);
    let input = EmailTriageInput {
        max_emails: Some(25),
        rules: vec!["archive newsletters".into()],
    };
    let handle = client
        .run_async(AgentSlug::EmailTriage, &input, Some("https://example.com/hook"))
        .await
        .expect("started");
    assert_eq!(handle.id(), "exec_1");
    let done = handle.wait(quick_wait()).await.expect("success");
    assert_eq!(done.output.as_ref().and_then(|o| o.get("archived")), Some(&json!(4)));
    assert_eq!(polls.load(Ordering::SeqCst), 3);
    assert_eq!(server.requests().len(), 4);
}

/// The stand-in's Agentiv: runs stay `queued`, then `running`, for `step` each.
async fn standin(step: Duration, configure: impl FnOnce(StandinBuilder) -> StandinBuilder) -> standin::Running {
    configure(standin::Standin::builder(Api::Agentiv).run_step(step))
        .start()
        .await
        .expect("stand-in")
}

#[tokio::test]
async fn failed_runs_are_typed_errors_with_the_execution_id() {
    let server = standin(Duration::from_millis(20), |s| s.failing_agent("email-triage")).await;
    let client = client(server.base_url());
    let sync = client.run(AgentSlug::EmailTriage, json!({})).await;
    assert!(
        matches!(sync, Err(Error::ExecutionFailed { ref execution_id, summary: Some(ref s) }) if execution_id.starts_with("exec_") && s == "the agent failed"),
        "{sync:?}"
    );
    let handle = client
        .run_async(AgentSlug::EmailTriage, json!({}), None)
        .await
        .expect("started");
    let id = handle.id().to_owned();
    let waited = handle.wait(quick_wait()).await;
    assert!(
        matches!(waited, Err(Error::ExecutionFailed { ref execution_id, .. }) if *execution_id == id),
        "{waited:?}"
    );
}

#[tokio::test]
async fn wait_gives_up_at_its_timeout() {
    // Each stage lasts an hour: the run is still queued when the wait gives up.
    let server = standin(Duration::from_secs(3600), |s| s).await;
    let client = client(server.base_url());
    let handle = client
        .run_async(AgentSlug::EmailTriage, json!({}), None)
        .await
        .expect("started");
    let id = handle.id().to_owned();
    let started = Instant::now();
    let result = client
        .execution(id.clone())
        .wait(quick_wait().timeout(Duration::from_millis(300)))
        .await;
    assert!(
        matches!(result, Err(Error::RunNotFinished { ref execution_id, polls, .. }) if polls >= 2 && *execution_id == id),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn non_object_input_is_rejected_before_sending() {
    let server = standin(Duration::from_millis(20), |s| s).await;
    let result = client(server.base_url())
        .run(AgentSlug::MeetingPrep, json!([1, 2]))
        .await;
    assert!(
        matches!(
            result,
            Err(Error::InvalidArgument(ArgumentError::InputNotAnObject("an array")))
        ),
        "{result:?}"
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn integration_not_connected_names_the_integration() {
    let server = standin(Duration::from_millis(20), |s| {
        s.unconnected_agent("email-triage", "gmail")
    })
    .await;
    let err = client(server.base_url())
        .run(AgentSlug::EmailTriage, json!({}))
        .await
        .expect_err("not connected");
    assert_eq!(agentiv::error_code(&err), Some(&ErrorCode::IntegrationNotConnected));
    assert_eq!(agentiv::integration_slug(&err), Some("gmail"));
    assert!(!err.is_retryable());
    assert_eq!(server.requests().len(), 1, "a 400 is not retried");
}
