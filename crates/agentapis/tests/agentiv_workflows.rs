//! Agentiv workflows against a scripted server: runs waited to completion, failed runs, wait
//! timeouts, typed input, and the integration-not-connected error.

mod scripted;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentapis::agentiv::generated::types::EmailTriageInput;
use agentapis::agentiv::{self, AgentSlug, ErrorCode, WaitOptions};
use agentapis::Error;
use scripted::{Req, Script};
use serde_json::json;

fn client(base: &str) -> agentiv::Client {
    agentiv::Client::builder()
        .api_key("ak_test")
        .base_url(base)
        .build()
        .expect("client")
}

fn ok(data: serde_json::Value) -> scripted::Reply {
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
    let server = Script::start(move |req: &Req| match (req.method.as_str(), req.path.as_str()) {
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

#[tokio::test]
async fn failed_runs_are_typed_errors_with_the_execution_id() {
    let server = Script::start(|req: &Req| match req.method.as_str() {
        "POST" if req.json()["async"] == json!(false) => ok(json!({
            "execution_id": "exec_2", "status": "failed", "summary": "mailbox unreachable"
        })),
        "POST" => ok(json!({"execution_id": "exec_1", "status": "queued"})),
        _ => ok(execution("failed")),
    })
    .await;
    let client = client(&server.base);
    let sync = client.run(AgentSlug::EmailTriage, json!({})).await;
    assert!(
        matches!(sync, Err(Error::ExecutionFailed { ref execution_id, summary: Some(ref s) }) if execution_id == "exec_2" && s == "mailbox unreachable"),
        "{sync:?}"
    );
    let waited = client
        .run_async(AgentSlug::EmailTriage, json!({}), None)
        .await
        .expect("started")
        .wait(quick_wait())
        .await;
    assert!(
        matches!(waited, Err(Error::ExecutionFailed { ref execution_id, .. }) if execution_id == "exec_1"),
        "{waited:?}"
    );
}

#[tokio::test]
async fn wait_gives_up_at_its_timeout() {
    let server = Script::start(|_: &Req| ok(execution("running"))).await;
    let client = client(&server.base);
    let started = Instant::now();
    let result = client
        .execution("exec_1")
        .wait(quick_wait().timeout(Duration::from_millis(300)))
        .await;
    assert!(
        matches!(result, Err(Error::RunNotFinished { ref execution_id, polls, .. }) if polls >= 2 && execution_id == "exec_1"),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn non_object_input_is_rejected_before_sending() {
    let server = Script::start(|_: &Req| ok(json!({}))).await;
    let result = client(&server.base).run(AgentSlug::MeetingPrep, json!([1, 2])).await;
    assert!(matches!(result, Err(Error::InvalidArgument(_))), "{result:?}");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn integration_not_connected_names_the_integration() {
    let server = Script::start(|_: &Req| {
        (
            400,
            vec![],
            json!({"success": false, "error": {"code": "INTEGRATION_NOT_CONNECTED", "message": "Connect Gmail first", "integrationSlug": "gmail"}}),
        )
    })
    .await;
    let err = client(&server.base)
        .run(AgentSlug::EmailTriage, json!({}))
        .await
        .expect_err("not connected");
    assert_eq!(agentiv::error_code(&err), Some(&ErrorCode::IntegrationNotConnected));
    assert_eq!(agentiv::integration_slug(&err), Some("gmail"));
    assert!(!err.is_retryable());
    assert_eq!(server.requests().len(), 1, "a 400 is not retried");
}
