//! The generated Agentiv client against a local mock server: what goes on the wire (path
//! encoding, bearer auth, JSON bodies, no `api-version` header) and how replies decode (typed
//! envelopes, the async and sync `runAgent` results, the typed error envelope).
//!
//! Agentiv declares no query parameters and no bodyless success, so the query test checks that
//! nothing is sent, and the bodyless test checks what an undeclared 204 becomes.

use agentapis_runtime::{Auth, Runtime, Secret};
use agentiv_client::mock::MockServerExt as _;
use agentiv_client::types::{
    AgentSlug, AgentSubscriptionStatus, ErrorDetail, ErrorDetailCode, ErrorEnvelope, ExecutionStatus, RunRequest,
    ScheduleRequest,
};
use agentiv_client::{Client, Error};
use httpmock::prelude::*;
use serde_json::{json, Map, Value};

const TOKEN: &str = "agentiv_test_token";

fn client(server: &MockServer) -> Client {
    let runtime = Runtime::new(
        agentiv_client::API,
        Auth::Bearer(Secret::new(TOKEN)),
        agentiv_client::OPERATIONS,
    );
    Client::new_with_client(&server.base_url(), reqwest::Client::new(), runtime)
}

fn object(value: Value) -> Map<String, Value> {
    value.as_object().cloned().expect("test payload is a JSON object")
}

#[tokio::test]
async fn list_agents_sends_no_query_and_decodes_open_enums() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/agents")
                .header("authorization", format!("Bearer {TOKEN}"))
                .header_missing("api-version")
                .is_true(|req| req.uri().query().is_none());
            then.status(200).json_body(json!({
                "success": true,
                "data": [
                    {
                        "slug": "email-triage",
                        "name": "EmailTriage",
                        "description": "Autonomous inbox triage",
                        "required_integrations": ["gmail"],
                        "subscription_status": "active",
                        "trial_ends_at": null
                    },
                    {
                        "slug": "brand-new-agent",
                        "name": "BrandNew",
                        "subscription_status": "trialing",
                        "trial_ends_at": "2025-02-01T00:00:00Z"
                    }
                ]
            }));
        })
        .await;

    let result = client(&server).list_agents().send().await;
    mock.assert_async().await;
    let agents = result.expect("list_agents succeeds").into_inner();

    assert!(agents.success);
    assert_eq!(agents.data.len(), 2);
    let triage = &agents.data[0];
    assert_eq!(triage.slug, AgentSlug::EmailTriage);
    assert_eq!(triage.name, "EmailTriage");
    assert_eq!(triage.required_integrations, vec!["gmail".to_owned()]);
    assert_eq!(triage.subscription_status, Some(AgentSubscriptionStatus::Active));
    assert_eq!(triage.trial_ends_at, None);
    let new = &agents.data[1];
    assert_eq!(new.slug, AgentSlug::Other("brand-new-agent".to_owned()));
    assert_eq!(
        new.subscription_status,
        Some(AgentSubscriptionStatus::Other("trialing".to_owned()))
    );
    assert_eq!(
        serde_json::to_value(new.trial_ends_at).expect("timestamp serializes"),
        json!("2025-02-01T00:00:00Z")
    );
    assert!(new.required_integrations.is_empty());
}

#[tokio::test]
async fn upsert_schedule_posts_exact_json_and_decodes_schedule() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/schedules/email-triage")
                .header("content-type", "application/json")
                .header_missing("api-version")
                .json_body(json!({
                    "cron_expr": "0 6 * * 1-5",
                    "timezone": "Asia/Kolkata",
                    "enabled": true,
                    "input_payload": {"max_emails": 30}
                }));
            then.status(200).json_body(json!({
                "success": true,
                "data": {
                    "id": "sch_01HXYZ",
                    "agent_slug": "email-triage",
                    "enabled": true,
                    "cron_expr": "0 6 * * 1-5",
                    "timezone": "Asia/Kolkata",
                    "next_run_at": "2025-01-16T00:30:00Z",
                    "last_run_at": "2025-01-15T00:30:00Z",
                    "last_status": "success",
                    "total_runs": 47
                }
            }));
        })
        .await;

    let result = client(&server)
        .upsert_schedule()
        .agent_slug("email-triage")
        .body(ScheduleRequest {
            cron_expr: "0 6 * * 1-5".to_owned(),
            enabled: true,
            input_payload: object(json!({"max_emails": 30})),
            timezone: "Asia/Kolkata".to_owned(),
        })
        .send()
        .await;
    mock.assert_async().await;
    let schedule = result.expect("upsert_schedule succeeds").into_inner().data;

    assert_eq!(schedule.id, "sch_01HXYZ");
    assert_eq!(schedule.agent_slug, AgentSlug::EmailTriage);
    assert!(schedule.enabled);
    assert_eq!(schedule.cron_expr, "0 6 * * 1-5");
    assert_eq!(schedule.timezone, "Asia/Kolkata");
    assert_eq!(schedule.last_status, Some(ExecutionStatus::Success));
    assert_eq!(schedule.total_runs, Some(47));
    assert_eq!(
        serde_json::to_value(schedule.next_run_at).expect("timestamp serializes"),
        json!("2025-01-16T00:30:00Z")
    );
}

#[tokio::test]
async fn get_execution_percent_encodes_the_id_and_sends_the_bearer_token() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .header("authorization", format!("Bearer {TOKEN}"))
                .header_missing("api-version")
                .is_true(|req| req.uri().path() == "/api/executions/a%20b%2Fc");
            then.status(200).json_body(json!({
                "success": true,
                "data": {
                    "id": "a b/c",
                    "agent_slug": "email-triage",
                    "status": "success",
                    "trigger_type": "api",
                    "summary": "Triaged 18 emails | 2 urgent | 4 archived",
                    "output": {"inbox_stats": {"total": 18, "urgent": 2, "archived": 4}},
                    "tokens_used": 4821,
                    "duration_ms": 7340,
                    "queued_at": "2025-01-15T06:00:00Z",
                    "completed_at": "2025-01-15T06:00:07Z"
                }
            }));
        })
        .await;

    let result = client(&server).get_execution().execution_id("a b/c").send().await;
    mock.assert_async().await;
    let execution = result.expect("get_execution succeeds").into_inner().data;

    assert_eq!(execution.id, "a b/c");
    assert_eq!(execution.agent_slug, AgentSlug::EmailTriage);
    assert_eq!(execution.status, ExecutionStatus::Success);
    assert_eq!(execution.trigger_type.as_deref(), Some("api"));
    assert_eq!(execution.tokens_used, Some(4821));
    assert_eq!(execution.duration_ms, Some(7340));
    assert_eq!(
        execution.output.as_ref().and_then(|o| o.get("inbox_stats")),
        Some(&json!({"total": 18, "urgent": 2, "archived": 4}))
    );
    assert_eq!(
        serde_json::to_value(execution.completed_at).expect("timestamp serializes"),
        json!("2025-01-15T06:00:07Z")
    );
}

/// Agentiv declares no 204 anywhere. The nearest case is `upsertSchedule`, whose reply the vendor
/// does not show: should the server answer it with an empty 204, the client must report the
/// undeclared status rather than fail to decode an empty body.
#[tokio::test]
async fn undeclared_204_from_upsert_schedule_is_an_unexpected_response() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/api/schedules/email-triage");
            then.status(204);
        })
        .await;

    let result = client(&server)
        .upsert_schedule()
        .agent_slug("email-triage")
        .body(ScheduleRequest {
            cron_expr: "0 6 * * *".to_owned(),
            enabled: false,
            input_payload: Map::new(),
            timezone: "UTC".to_owned(),
        })
        .send()
        .await;
    mock.assert_async().await;

    match result {
        Err(Error::UnexpectedResponse(response)) => assert_eq!(response.status().as_u16(), 204),
        other => panic!("expected UnexpectedResponse(204), got {other:?}"),
    }
}

#[tokio::test]
async fn run_agent_integration_not_connected_decodes_the_typed_error_envelope() {
    // The client crate's typed mocks (feature `mock`): the operation, its path parameter, its
    // body and its documented 400 answer, each by its type.
    let server = MockServer::start_async().await;
    let request = RunRequest {
        async_: false,
        input_payload: object(json!({"max_emails": 20})),
        webhook_url: None,
    };
    let refusal = ErrorEnvelope {
        success: false,
        error: ErrorDetail {
            code: ErrorDetailCode::IntegrationNotConnected,
            integration_slug: Some("gmail".to_owned()),
            message: "Gmail not connected. User must connect at /connections".to_owned(),
        },
    };
    let mock = server.run_agent(|when, then| {
        when.agent_slug("email-triage").body(&request);
        then.bad_request(&refusal);
    });

    let result = client(&server)
        .run_agent()
        .agent_slug("email-triage")
        .body(request.clone())
        .send()
        .await;
    mock.assert_async().await;

    let Err(Error::ErrorResponse(response)) = result else {
        panic!("expected a documented error response, got {result:?}");
    };
    assert_eq!(response.status().as_u16(), 400);
    let envelope = response.into_inner();
    assert!(!envelope.success);
    assert_eq!(envelope.error.code, ErrorDetailCode::IntegrationNotConnected);
    assert_eq!(envelope.error.integration_slug.as_deref(), Some("gmail"));
    assert_eq!(
        envelope.error.message,
        "Gmail not connected. User must connect at /connections"
    );
}

#[tokio::test]
async fn unknown_error_code_decodes_as_the_open_enum_fallback() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path("/api/schedules");
            then.status(403).json_body(json!({
                "success": false,
                "error": {"code": "PLAN_EXPIRED", "message": "Renew your Pro plan"}
            }));
        })
        .await;

    let result = client(&server).list_schedules().send().await;
    mock.assert_async().await;

    let Err(Error::ErrorResponse(response)) = result else {
        panic!("expected a documented error response, got {result:?}");
    };
    assert_eq!(response.status().as_u16(), 403);
    assert_eq!(response.error.code, ErrorDetailCode::Other("PLAN_EXPIRED".to_owned()));
    assert_eq!(response.error.message, "Renew your Pro plan");
    assert_eq!(response.error.integration_slug, None);
}

#[tokio::test]
async fn run_agent_async_sends_the_request_and_decodes_the_queued_result() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/agents/email-triage/run")
                .header("authorization", format!("Bearer {TOKEN}"))
                .header_missing("api-version")
                .json_body(json!({
                    "input_payload": {
                        "max_emails": 20,
                        "rules": ["Flag anything from @techcorp.com as urgent"]
                    },
                    "async": true,
                    "webhook_url": "https://your-app.com/webhooks/agentiv"
                }));
            then.status(200).json_body(json!({
                "success": true,
                "data": {
                    "execution_id": "exec_01HXYZ123ABC",
                    "agent_slug": "email-triage",
                    "status": "queued",
                    "estimated_duration_ms": 8000,
                    "created_at": "2025-01-15T06:00:00Z"
                }
            }));
        })
        .await;

    let result = client(&server)
        .run_agent()
        .agent_slug("email-triage")
        .body(RunRequest {
            async_: true,
            input_payload: object(json!({
                "max_emails": 20,
                "rules": ["Flag anything from @techcorp.com as urgent"]
            })),
            webhook_url: Some("https://your-app.com/webhooks/agentiv".to_owned()),
        })
        .send()
        .await;
    mock.assert_async().await;
    let run = result.expect("run_agent succeeds").into_inner().data;

    assert_eq!(run.execution_id, "exec_01HXYZ123ABC");
    assert_eq!(run.status, ExecutionStatus::Queued);
    assert_eq!(run.agent_slug, Some(AgentSlug::EmailTriage));
    assert_eq!(run.estimated_duration_ms, Some(8000));
    assert_eq!(
        serde_json::to_value(run.created_at).expect("timestamp serializes"),
        json!("2025-01-15T06:00:00Z")
    );
    assert_eq!(run.output, None);
    assert_eq!(run.summary, None);
    assert_eq!(run.tokens_used, None);
}

#[tokio::test]
async fn run_agent_sync_sends_async_false_and_decodes_the_completed_result() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/agents/email-triage/run")
                .json_body(json!({"input_payload": {"max_emails": 20}, "async": false}));
            then.status(200).json_body(json!({
                "success": true,
                "data": {
                    "execution_id": "exec_01HXYZ123ABC",
                    "status": "success",
                    "summary": "Triaged 18 emails | 2 urgent | 4 archived",
                    "output": {
                        "triaged": [
                            {"from": "ops@techcorp.com", "label": "urgent", "subject": "Contract renewal"}
                        ],
                        "inbox_stats": {"total": 18, "urgent": 2, "archived": 4}
                    },
                    "tokens_used": 4821,
                    "duration_ms": 7340
                }
            }));
        })
        .await;

    let result = client(&server)
        .run_agent()
        .agent_slug("email-triage")
        .body(RunRequest {
            async_: false,
            input_payload: object(json!({"max_emails": 20})),
            webhook_url: None,
        })
        .send()
        .await;
    mock.assert_async().await;
    let run = result.expect("run_agent succeeds").into_inner().data;

    assert_eq!(run.execution_id, "exec_01HXYZ123ABC");
    assert_eq!(run.status, ExecutionStatus::Success);
    assert_eq!(
        run.summary.as_deref(),
        Some("Triaged 18 emails | 2 urgent | 4 archived")
    );
    assert_eq!(run.tokens_used, Some(4821));
    assert_eq!(run.duration_ms, Some(7340));
    let output = run.output.expect("sync result carries output");
    assert_eq!(output["inbox_stats"], json!({"total": 18, "urgent": 2, "archived": 4}));
    assert_eq!(output["triaged"][0]["label"], json!("urgent"));
    assert_eq!(run.agent_slug, None);
    assert_eq!(run.created_at, None);
}
