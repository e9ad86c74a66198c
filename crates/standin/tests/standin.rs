//! The stand-in's own behaviour over HTTP: routing, auth, input checks, every paging style,
//! rate limits, faults and Agentiv runs.

use std::collections::HashSet;
use std::time::Duration;

use agentapis_standin::{Api, Fault, Running, Standin};
use serde_json::{json, Value};

async fn start(api: Api) -> Running {
    Standin::builder(api)
        .collection_size(7)
        .start()
        .await
        .expect("stand-in")
}

async fn get(server: &Running, path: &str, auth: &[(&str, &str)]) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = reqwest::Client::new().get(format!("{}{path}", server.base_url()));
    for (k, v) in auth {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("response");
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    (status, headers, resp.json().await.unwrap_or(Value::Null))
}

const BEARER: (&str, &str) = ("authorization", "Bearer k");
const PK: (&str, &str) = ("x-archastro-api-key", "pk_app");

#[tokio::test]
async fn routing_and_vendor_error_shapes() {
    let agentiv = start(Api::Agentiv).await;
    let (status, _, body) = get(&agentiv, "/api/nowhere", &[BEARER]).await;
    assert_eq!(
        (status, &body["success"], &body["error"]["code"]),
        (404, &json!(false), &json!("NOT_FOUND"))
    );
    let resp = reqwest::Client::new()
        .delete(format!("{}/api/agents", agentiv.base_url()))
        .header(BEARER.0, BEARER.1)
        .send()
        .await
        .expect("response");
    assert_eq!(resp.status().as_u16(), 405);
    let archastro = start(Api::ArchAstro).await;
    let (status, _, body) = get(&archastro, "/api/v1/agents/agt_7", &[PK]).await;
    assert_eq!(
        (status, body["id"].as_str()),
        (200, Some("agt_7")),
        "path ids are echoed"
    );
}

#[tokio::test]
async fn auth_is_checked_per_api() {
    let invent = start(Api::Invent).await;
    assert_eq!(get(&invent, "/orgs/c/assistants", &[]).await.0, 401);
    assert_eq!(get(&invent, "/orgs/c/assistants", &[BEARER]).await.0, 200);
    let archastro = start(Api::ArchAstro).await;
    assert_eq!(get(&archastro, "/api/v1/agents", &[]).await.0, 401);
    assert_eq!(
        get(&archastro, "/api/v1/agents", &[("x-archastro-api-key", "sk_wrongkind")])
            .await
            .0,
        401
    );
    assert_eq!(get(&archastro, "/api/v1/agents", &[PK]).await.0, 200);
    assert_eq!(get(&archastro, "/api/v1/agents", &[BEARER]).await.0, 200);
}

#[tokio::test]
async fn invalid_input_is_refused() {
    let agentiv = start(Api::Agentiv).await;
    let resp = reqwest::Client::new()
        .post(format!("{}/api/agents/email-triage/run", agentiv.base_url()))
        .header(BEARER.0, BEARER.1)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("response");
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["code"], "INVALID_INPUT");
}

#[tokio::test]
async fn a_page_past_any_offset_is_a_400_not_a_dropped_connection() {
    let archastro = start(Api::ArchAstro).await;
    let auth = [PK];
    for page in ["9223372036854775807", "18446744073709551615"] {
        let (status, _, body) = get(&archastro, &format!("/api/v1/agents?page={page}&page_size=100"), &auth).await;
        assert_eq!(status, 400, "page {page}: {body}");
    }
    let (status, _, _) = get(&archastro, "/api/v1/agents?page=2&page_size=100", &auth).await;
    assert_eq!(status, 200);
}

async fn walk(
    server: &Running,
    first: &str,
    next: impl Fn(&Value, &reqwest::header::HeaderMap, u64) -> Option<String>,
    items: impl Fn(&Value) -> Vec<Value>,
) -> usize {
    let mut seen = HashSet::new();
    let mut path = Some(first.to_owned());
    let mut n = 1;
    while let Some(p) = path.take() {
        let (status, headers, body) = get(server, &p, &[BEARER]).await;
        assert_eq!(status, 200, "{p}: {body}");
        for item in items(&body) {
            assert!(seen.insert(item["id"].to_string()), "duplicate entry {item}");
        }
        n += 1;
        path = next(&body, &headers, n);
        assert!(n < 50, "walk does not end");
    }
    seen.len()
}

#[tokio::test]
async fn every_paging_style_walks_the_whole_collection() {
    let invent = start(Api::Invent).await;
    let count = walk(
        &invent,
        "/orgs/c/assistants?page=1&take=3",
        |_, h, n| {
            let total: u64 = h.get("pagination-count")?.to_str().ok()?.parse().ok()?;
            (((n - 1) * 3) < total).then(|| format!("/orgs/c/assistants?page={n}&take=3"))
        },
        |b| b.as_array().cloned().unwrap_or_default(),
    )
    .await;
    assert_eq!(count, 7);

    let archastro = start(Api::ArchAstro).await;
    let count = walk(
        &archastro,
        "/api/v1/agents?page=1&page_size=3",
        |b, _, n| (b["has_next"] == json!(true)).then(|| format!("/api/v1/agents?page={n}&page_size=3")),
        |b| b["data"].as_array().cloned().unwrap_or_default(),
    )
    .await;
    assert_eq!(count, 7);
    let count = walk(
        &archastro,
        "/api/v1/slack_channel_bindings?page=1&per_page=2",
        |b, _, n| {
            (b["page"].as_u64()? < b["total_pages"].as_u64()?)
                .then(|| format!("/api/v1/slack_channel_bindings?page={n}&per_page=2"))
        },
        |b| b["data"].as_array().cloned().unwrap_or_default(),
    )
    .await;
    assert_eq!(count, 7);
    let count = walk(
        &archastro,
        "/api/v1/activity_feed?limit=3",
        |b, _, _| {
            b["after_cursor"]
                .as_str()
                .map(|c| format!("/api/v1/activity_feed?limit=3&after_cursor={c}"))
        },
        |b| b["data"].as_array().cloned().unwrap_or_default(),
    )
    .await;
    assert_eq!(count, 7);
    let (_, _, back) = get(&archastro, "/api/v1/activity_feed?limit=3&before_cursor=c7", &[BEARER]).await;
    assert_eq!(back["data"].as_array().map(Vec::len), Some(3));
    assert_eq!(back["before_cursor"], "c4");
}

#[tokio::test]
async fn rate_limits_use_the_vendor_headers() {
    let server = Standin::builder(Api::Agentiv)
        .rate_limit(2, Duration::from_secs(30))
        .start()
        .await
        .expect("stand-in");
    let (s1, h1, _) = get(&server, "/api/agents", &[BEARER]).await;
    assert_eq!(
        (s1, h1.get("x-ratelimit-remaining").and_then(|v| v.to_str().ok())),
        (200, Some("1"))
    );
    get(&server, "/api/agents", &[BEARER]).await;
    let (s3, h3, body) = get(&server, "/api/agents", &[BEARER]).await;
    assert_eq!((s3, &body["error"]["code"]), (429, &json!("RATE_LIMITED")));
    assert!(h3.get("retry-after").is_some() && h3.get("x-ratelimit-reset").is_some());
}

#[tokio::test]
async fn scripted_faults() {
    let server = start(Api::ArchAstro).await;
    server.fault("GET /api/v1/agents", Fault::Status { status: 503, times: 2 });
    assert_eq!(get(&server, "/api/v1/agents", &[PK]).await.0, 503);
    assert_eq!(get(&server, "/api/v1/agents", &[PK]).await.0, 503);
    assert_eq!(get(&server, "/api/v1/agents", &[PK]).await.0, 200);
    server.fault(
        "get_api_v1_agents",
        Fault::RateLimited {
            retry_after_secs: 7,
            times: 1,
        },
    );
    let (status, headers, _) = get(&server, "/api/v1/agents", &[PK]).await;
    assert_eq!(
        (status, headers.get("retry-after").and_then(|v| v.to_str().ok())),
        (429, Some("7"))
    );
    server.fault("GET /api/v1/agents", Fault::Drop { times: 1 });
    let dropped = reqwest::Client::new()
        .get(format!("{}/api/v1/agents", server.base_url()))
        .header(PK.0, PK.1)
        .send()
        .await;
    assert!(dropped.is_err(), "the connection was dropped");
    server.fault("GET /api/v1/agents", Fault::Delay(Duration::from_millis(300)));
    let started = std::time::Instant::now();
    assert_eq!(get(&server, "/api/v1/agents", &[PK]).await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    server.clear_fault("GET /api/v1/agents");
}

#[tokio::test]
async fn agentiv_runs_move_from_queued_to_success() {
    let server = Standin::builder(Api::Agentiv)
        .run_step(Duration::from_millis(300))
        .unconnected_agent("cold-email-ai", "gmail")
        .failing_agent("expense-ai")
        .start()
        .await
        .expect("stand-in");
    let client = reqwest::Client::new();
    let run = |slug: &str| {
        client
            .post(format!("{}/api/agents/{slug}/run", server.base_url()))
            .header(BEARER.0, BEARER.1)
            .json(&json!({"async": true, "input_payload": {}}))
            .send()
    };
    let started: Value = run("email-triage").await.expect("run").json().await.expect("json");
    assert_eq!(started["data"]["status"], "queued");
    let id = started["data"]["execution_id"].as_str().expect("id").to_owned();
    // Poll until done; the statuses seen must follow queued → running → success.
    let mut seen: Vec<Value> = Vec::new();
    for _ in 0..200 {
        let status = get(&server, &format!("/api/executions/{id}"), &[BEARER]).await.2["data"]["status"].clone();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if status == "success" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen, [json!("queued"), json!("running"), json!("success")]);

    let refused = run("cold-email-ai").await.expect("response");
    assert_eq!(refused.status().as_u16(), 400);
    let body: Value = refused.json().await.expect("json");
    assert_eq!(
        (&body["error"]["code"], &body["error"]["integrationSlug"]),
        (&json!("INTEGRATION_NOT_CONNECTED"), &json!("gmail"))
    );
    assert_eq!(get(&server, "/api/executions/exec_9999", &[BEARER]).await.0, 404);
}

#[tokio::test]
async fn created_resources_can_be_read_listed_updated_and_deleted() {
    let server = start(Api::ArchAstro).await;
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", server.base_url());
    let created: Value = http
        .post(url("/api/v1/agents"))
        .header(PK.0, PK.1)
        .json(&json!({"name": "Support bot", "lookup_key": "support-bot"}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let id = created["id"].as_str().expect("an id").to_owned();
    assert_eq!(created["name"], "Support bot");
    let (status, _, fetched) = get(&server, &format!("/api/v1/agents/{id}"), &[PK]).await;
    assert_eq!((status, &fetched["name"]), (200, &json!("Support bot")));
    let (_, _, listed) = get(&server, "/api/v1/agents?page=1&page_size=5", &[PK]).await;
    assert_eq!(listed["data"][0]["id"], json!(id), "the new agent is listed first");
    let updated: Value = http
        .patch(url(&format!("/api/v1/agents/{id}")))
        .header(PK.0, PK.1)
        .json(&json!({"name": "Renamed"}))
        .send()
        .await
        .expect("update")
        .json()
        .await
        .expect("json");
    assert_eq!(updated["name"], "Renamed");
    let deleted = http
        .delete(url(&format!("/api/v1/agents/{id}")))
        .header(PK.0, PK.1)
        .send()
        .await
        .expect("delete");
    assert!(deleted.status().is_success());
    assert_eq!(get(&server, &format!("/api/v1/agents/{id}"), &[PK]).await.0, 404);

    let invent = start(Api::Invent).await;
    let created: Value = http
        .post(format!("{}/orgs/c/contacts", invent.base_url()))
        .header(BEARER.0, BEARER.1)
        .json(&json!({"name": "Ada"}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let (_, _, listed) = get(&invent, "/orgs/c/contacts", &[BEARER]).await;
    assert_eq!(listed[0]["id"], created["id"]);
}

#[tokio::test]
async fn bodies_and_parameters_are_validated_against_the_schemas() {
    let agentiv = start(Api::Agentiv).await;
    let resp = reqwest::Client::new()
        .post(format!("{}/api/agents/email-triage/run", agentiv.base_url()))
        .header(BEARER.0, BEARER.1)
        .json(&json!({"async": "yes"}))
        .send()
        .await
        .expect("response");
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = resp.json().await.expect("json");
    let message = body["error"]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.starts_with("invalid body"), "{message}");

    let archastro = start(Api::ArchAstro).await;
    let (status, _, body) = get(&archastro, "/api/v1/agents?page=abc", &[PK]).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"].as_str().is_some_and(|m| m.contains("page")),
        "{body}"
    );
    assert_eq!(get(&archastro, "/api/v1/agents?page=2", &[PK]).await.0, 200);
}

#[tokio::test]
async fn agentiv_schedules_are_kept_per_agent() {
    let server = start(Api::Agentiv).await;
    let http = reqwest::Client::new();
    for cron in ["0 6 * * 1-5", "0 7 * * 1-5"] {
        let resp = http
            .post(format!("{}/api/schedules/email-triage", server.base_url()))
            .header(BEARER.0, BEARER.1)
            .json(&json!({"cron_expr": cron, "timezone": "Asia/Kolkata", "enabled": true}))
            .send()
            .await
            .expect("upsert");
        assert_eq!(resp.status().as_u16(), 200);
    }
    let (_, _, listed) = get(&server, "/api/schedules", &[BEARER]).await;
    let kept: Vec<&Value> = listed["data"]
        .as_array()
        .expect("a list")
        .iter()
        .filter(|s| s["timezone"] == "Asia/Kolkata")
        .collect();
    assert_eq!(kept.len(), 1, "an upsert replaces: {listed}");
    assert_eq!(kept[0]["cron_expr"], "0 7 * * 1-5");
}
