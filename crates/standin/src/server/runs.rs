//! Agentiv's run lifecycle: a run starts an execution that is queued, then running, then done
//! (or failed, for the agents scripted to fail), as time passes.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{error, reply, Reply, State};
use crate::spec::Operation;

/// A run the stand-in started.
pub(crate) struct Execution {
    pub(crate) slug: String,
    pub(crate) started: Instant,
}

/// Agentiv's stateful flows: runs and executions. `None`: answer from the schema.
pub(crate) fn agentiv(
    state: &State,
    op: &Operation,
    params: &[(String, String)],
    body: Option<&Value>,
    headers: &[(&'static str, String)],
) -> Option<Reply> {
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    match (op.method.as_str(), op.template.as_str()) {
        ("POST", "/api/agents/{agentSlug}/run") => start_run(state, param("agentSlug")?, body, headers),
        ("GET", "/api/executions/{executionId}") => {
            let id = param("executionId")?;
            let runs = state.executions.lock().ok()?;
            let Some(run) = runs.get(&id) else {
                return Some(error(state.api, 404, "NOT_FOUND", "no such execution", headers));
            };
            let step = state.settings.run_step.max(Duration::from_millis(1));
            let elapsed = run.started.elapsed();
            let failed = state.settings.failing_agents.contains(&run.slug);
            let status = match elapsed {
                e if e < step => "queued",
                e if e < step * 2 => "running",
                _ if failed => "failed",
                _ => "success",
            };
            let mut data = json!({"id": id, "agent_slug": run.slug, "status": status, "queued_at": "2025-01-15T06:00:00Z", "trigger_type": "api"});
            if matches!(status, "success" | "failed") {
                data["summary"] = json!(if failed {
                    "the agent failed"
                } else {
                    "processed 18 emails, 2 urgent"
                });
                data["output"] = json!({"processed": 18});
                data["duration_ms"] = json!(step.as_millis() as u64 * 2);
                data["completed_at"] = json!("2025-01-15T06:00:07Z");
            }
            Some(reply(200, &json!({"success": true, "data": data}), headers))
        }
        _ => None,
    }
}

/// Starts a run of agent `slug`: refused when its integration is not connected or the input is
/// not an object; a sync run answers its result, an async one its queued execution.
fn start_run(state: &State, slug: String, body: Option<&Value>, headers: &[(&'static str, String)]) -> Option<Reply> {
    if let Some((_, integration)) = state.settings.unconnected_agents.iter().find(|(s, _)| *s == slug) {
        let body = json!({"success": false, "error": {
            "code": "INTEGRATION_NOT_CONNECTED",
            "message": format!("{integration} is not connected; connect it at /connections"),
            "integrationSlug": integration,
        }});
        return Some(reply(400, &body, headers));
    }
    let Some(input) = body.filter(|b| b.get("input_payload").is_some_and(Value::is_object)) else {
        return Some(error(
            state.api,
            400,
            "INVALID_INPUT",
            "input_payload must be an object",
            headers,
        ));
    };
    let asynchronous = input.get("async").and_then(Value::as_bool).unwrap_or(false);
    let id = {
        let mut runs = state.executions.lock().ok()?;
        let id = format!("exec_{:04}", runs.len() + 1);
        runs.insert(
            id.clone(),
            Execution {
                slug: slug.clone(),
                started: Instant::now(),
            },
        );
        id
    };
    let steps = state.settings.run_step.as_millis() as u64;
    let data = if asynchronous {
        json!({"execution_id": id, "status": "queued", "agent_slug": slug, "estimated_duration_ms": steps * 2, "created_at": "2025-01-15T06:00:00Z"})
    } else {
        let failed = state.settings.failing_agents.contains(&slug);
        json!({"execution_id": id, "status": if failed { "failed" } else { "success" }, "agent_slug": slug,
               "duration_ms": steps * 2, "summary": if failed { "the agent failed" } else { "done" }, "output": {}, "tokens_used": 42})
    };
    Some(reply(200, &json!({"success": true, "data": data}), headers))
}
