//! The HTTP side: one hyper service that routes every request against the spec.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};

use crate::data::Generator;
use crate::spec::{Operation, Paging, Scheme, Segment, Spec};
use crate::store::Store;
use crate::{normalize, Api, Fault, Faults, StandinBuilder};

type Reply = Response<Full<Bytes>>;

struct Execution {
    slug: String,
    started: Instant,
}

/// Everything the service shares across connections.
pub(crate) struct State {
    api: Api,
    spec: Spec,
    settings: StandinBuilder,
    pub(crate) faults: Faults,
    pub(crate) log: Mutex<Vec<String>>,
    window: Mutex<(Instant, u64)>,
    executions: Mutex<HashMap<String, Execution>>,
    store: Store,
    validators: crate::validate::Validators,
}

impl State {
    pub(crate) fn new(settings: StandinBuilder, spec: Spec) -> Self {
        Self {
            api: settings.api,
            spec,
            settings,
            faults: Mutex::default(),
            log: Mutex::default(),
            window: Mutex::new((Instant::now(), 0)),
            // One finished run exists from the start, so its id can be fetched (see `SEEDED_EXECUTION`).
            store: Store::default(),
            validators: crate::validate::Validators::default(),
            executions: Mutex::new(HashMap::from([(
                crate::SEEDED_EXECUTION.to_owned(),
                Execution {
                    slug: "email-triage".to_owned(),
                    started: Instant::now()
                        .checked_sub(Duration::from_secs(3600))
                        .unwrap_or_else(Instant::now),
                },
            )])),
        }
    }
}

pub(crate) async fn serve(listener: tokio::net::TcpListener, state: Arc<State>) {
    while let Ok((stream, _)) = listener.accept().await {
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let state = Arc::clone(&state);
                async move { handle(&state, req).await }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

fn reply(status: u16, body: &Value, headers: &[(&str, String)]) -> Reply {
    let text = if status == 204 { String::new() } else { body.to_string() };
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = response.headers_mut();
    h.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            hyper::header::HeaderValue::from_str(value),
        ) {
            h.insert(name, value);
        }
    }
    response
}

/// An error in the vendor's shape.
fn error(api: Api, status: u16, code: &str, message: &str, extra: &[(&str, String)]) -> Reply {
    let body = match api {
        Api::Agentiv => json!({"success": false, "error": {"code": code, "message": message}}),
        _ => json!({"error": {"code": code.to_ascii_lowercase(), "message": message}}),
    };
    reply(status, &body, extra)
}

/// Connection drops surface as a service error: hyper closes the connection without answering.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by a scripted fault")
    }
}

impl std::error::Error for Dropped {}

async fn handle(state: &State, mut req: Request<hyper::body::Incoming>) -> Result<Reply, Dropped> {
    // A WebSocket route: accept the upgrade, then close; frames are not modelled.
    let upgrade = req
        .headers()
        .get(hyper::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let upgrade_op = upgrade
        .then(|| state.spec.route(req.method().as_str(), req.uri().path()).ok())
        .flatten()
        .map(|(op, _)| op);
    if let Some(op) = upgrade_op {
        if let Ok(mut log) = state.log.lock() {
            log.push(format!("{} {} (upgrade)", req.method(), req.uri()));
        }
        if let Some(r) = play_fault(state, op).await? {
            return Ok(r);
        }
        if !authorized(&state.spec, op, req.headers()) {
            return Ok(error(
                state.api,
                401,
                "UNAUTHORIZED",
                "missing or invalid credentials",
                &[],
            ));
        }
        let on_upgrade = hyper::upgrade::on(&mut req);
        tokio::spawn(async move {
            drop(on_upgrade.await);
        });
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        response.headers_mut().insert(
            hyper::header::UPGRADE,
            hyper::header::HeaderValue::from_static("websocket"),
        );
        response.headers_mut().insert(
            hyper::header::CONNECTION,
            hyper::header::HeaderValue::from_static("upgrade"),
        );
        return Ok(response);
    }
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query: Vec<(String, String)> = url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let headers = req.headers().clone();
    if let Ok(mut log) = state.log.lock() {
        log.push(format!("{method} {}", req.uri()));
    }
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(error(state.api, 400, "INVALID_INPUT", "unreadable body", &[])),
    };
    let (op, path_params) = match state.spec.route(&method, &path) {
        Ok(found) => found,
        Err(true) => {
            return Ok(error(
                state.api,
                405,
                "METHOD_NOT_ALLOWED",
                "method not allowed here",
                &[],
            ))
        }
        Err(false) => return Ok(error(state.api, 404, "NOT_FOUND", "no such route", &[])),
    };
    if let Some(r) = play_fault(state, op).await? {
        return Ok(r);
    }
    if !authorized(&state.spec, op, &headers) {
        return Ok(error(
            state.api,
            401,
            "UNAUTHORIZED",
            "missing or invalid credentials",
            &[],
        ));
    }
    let limit_headers = match rate_limit(state) {
        Ok(h) => h,
        Err(r) => return Ok(*r),
    };
    if let Some(missing) = op.required_query.iter().find(|n| lookup(&query, n).is_none()) {
        return Ok(error(
            state.api,
            400,
            "INVALID_INPUT",
            &format!("missing query parameter `{missing}`"),
            &limit_headers,
        ));
    }
    let invalid_status = if state.api == Api::Agentiv { 400 } else { 422 };
    // Parameters against their schemas (scalars only: arrays and objects travel pre-encoded).
    for (name, location, schema) in &op.params {
        let raw = match location.as_str() {
            "path" => path_params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()),
            _ => lookup(&query, name),
        };
        let scalar = schema
            .get("type")
            .is_some_and(|t| t.as_str() != Some("array") && t.as_str() != Some("object"));
        let (Some(raw), true) = (raw, scalar) else { continue };
        let key = format!("{} {} {location} {name}", op.method, op.template);
        let value = crate::validate::typed(raw, schema);
        let errors = state.validators.check(state.api, &state.spec.doc, &key, schema, &value);
        if !errors.is_empty() {
            let message = format!("{location} parameter `{name}`: {}", errors.join("; "));
            return Ok(error(state.api, 400, "INVALID_INPUT", &message, &limit_headers));
        }
    }
    if let Some(paging) = op.paging {
        if let Err(message) = page_window(&query, paging) {
            return Ok(error(state.api, 400, "INVALID_INPUT", &message, &limit_headers));
        }
    }
    let json_body: Option<Value> = if op.has_body && !body.is_empty() && is_json(&headers) {
        match serde_json::from_slice(&body) {
            Ok(v) => Some(v),
            Err(e) => {
                let message = format!("body is not JSON: {e}");
                return Ok(error(
                    state.api,
                    invalid_status,
                    "INVALID_INPUT",
                    &message,
                    &limit_headers,
                ));
            }
        }
    } else {
        None
    };
    if let (Some(instance), Some(schema)) = (&json_body, &op.body_schema) {
        let key = format!("{} {} body", op.method, op.template);
        let errors = state
            .validators
            .check(state.api, &state.spec.doc, &key, schema, instance);
        if !errors.is_empty() {
            let message = format!("invalid body: {}", errors.join("; "));
            return Ok(error(
                state.api,
                invalid_status,
                "INVALID_INPUT",
                &message,
                &limit_headers,
            ));
        }
    }
    if state.api == Api::Agentiv {
        if let Some(r) = agentiv(state, op, &path_params, json_body.as_ref(), &limit_headers) {
            return Ok(r);
        }
    }
    Ok(stateful(
        state,
        op,
        &path,
        &path_params,
        &query,
        json_body.as_ref(),
        limit_headers,
    ))
}

/// Routes create / read / update / delete / list through the [`Store`], falling back to the
/// schema-generated answer.
fn stateful(
    state: &State,
    op: &Operation,
    path: &str,
    params: &[(String, String)],
    query: &[(String, String)],
    body: Option<&Value>,
    headers: Vec<(&'static str, String)>,
) -> Reply {
    let on_item = matches!(op.segments.last(), Some(Segment::Param(_)));
    let (collection, id) = match path.trim_end_matches('/').rsplit_once('/') {
        Some((c, i)) if on_item => (c.to_owned(), i.to_owned()),
        _ => (path.trim_end_matches('/').to_owned(), String::new()),
    };
    let has_item_route =
        |template: &str| {
            state.spec.operations.iter().any(|o| {
                o.method == "GET" && o.template.starts_with(template) && o.segments.len() == op.segments.len() + 1
            })
        };
    match (op.method.as_str(), on_item) {
        ("GET", true) => match state.store.get(&collection, &id) {
            Err(()) => return error(state.api, 404, "NOT_FOUND", "deleted", &headers),
            Ok(Some(item)) => return reply(200, &item, &headers),
            Ok(None) => {}
        },
        ("PATCH" | "PUT", true) => {
            if let Some(item) = state.store.update(&collection, &id, body) {
                return reply(op.success_status, &item, &headers);
            }
        }
        ("DELETE", true) => state.store.delete(&collection, &id),
        ("POST", true) if !has_item_get(state, op) => {
            let mut answer = generated(state, op, params, query, &mut Vec::new());
            state.store.upsert(&collection, &id, &mut answer, body);
            return reply(op.success_status, &answer, &headers);
        }
        ("POST", false) if has_item_route(&op.template) => {
            let mut answer = generated(state, op, params, query, &mut Vec::new());
            state.store.create(&collection, &mut answer, body);
            return reply(op.success_status, &answer, &headers);
        }
        _ => {}
    }
    let mut headers = headers;
    let mut answer = generated(state, op, params, query, &mut headers);
    if op.method == "GET" && !on_item {
        let first_page = lookup(query, "page").is_none_or(|p| p == "1")
            && lookup(query, "after_cursor").is_none()
            && lookup(query, "before_cursor").is_none();
        let kept = state.store.list(&collection);
        if first_page && !kept.is_empty() {
            let list = if answer.is_array() {
                Some(&mut answer)
            } else {
                answer.get_mut("data").filter(|d| d.is_array())
            };
            if let Some(Value::Array(items)) = list {
                items.splice(0..0, kept);
            }
        }
    }
    reply(op.success_status, &answer, &headers)
}

/// A query value by name, accepting Plug's `name[]` form too.
fn lookup<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name || k.strip_suffix("[]") == Some(name))
        .map(|(_, v)| v.as_str())
}

fn is_json(headers: &hyper::HeaderMap) -> bool {
    headers
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"))
}

async fn play_fault(state: &State, op: &Operation) -> Result<Option<Reply>, Dropped> {
    let keys = [normalize(&op.id), normalize(&format!("{} {}", op.method, op.template))];
    let fault = {
        let Ok(mut faults) = state.faults.lock() else {
            return Ok(None);
        };
        let Some(key) = keys.iter().find(|k| faults.contains_key(*k)).cloned() else {
            return Ok(None);
        };
        let fault = faults.get(&key).copied();
        // Count down the faults that apply a limited number of times.
        if let Some(Fault::Status { times, .. } | Fault::RateLimited { times, .. } | Fault::Drop { times }) =
            faults.get_mut(&key)
        {
            *times = times.saturating_sub(1);
            if *times == 0 {
                faults.remove(&key);
            }
        }
        fault
    };
    match fault {
        Some(Fault::Status { status, .. }) => Ok(Some(error(
            state.api,
            status,
            "SCRIPTED_FAULT",
            "scripted failure",
            &[],
        ))),
        Some(Fault::RateLimited { retry_after_secs, .. }) => Ok(Some(error(
            state.api,
            429,
            "RATE_LIMITED",
            "rate limited (scripted)",
            &[("retry-after", retry_after_secs.to_string())],
        ))),
        Some(Fault::Drop { .. }) => Err(Dropped),
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            Ok(None)
        }
        None => Ok(None),
    }
}

/// Whether `headers` satisfy one of `op`'s security alternatives, each scheme checked as the
/// spec declares it (a bearer token, or a key header with the scheme's `x-key-prefix`).
fn authorized(spec: &Spec, op: &Operation, headers: &hyper::HeaderMap) -> bool {
    if op.security.is_empty() || op.security.iter().any(Vec::is_empty) {
        return true;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let satisfied = |scheme: &String| match spec.schemes.get(scheme) {
        Some(Scheme::Bearer) => header("authorization")
            .strip_prefix("Bearer ")
            .is_some_and(|t| !t.trim().is_empty()),
        Some(Scheme::Header { name, prefix }) => header(name)
            .strip_prefix(prefix.as_str())
            .is_some_and(|rest| !rest.is_empty()),
        Some(Scheme::Unchecked) => true,
        None => false,
    };
    op.security.iter().any(|all| all.iter().all(satisfied))
}

fn rate_limit(state: &State) -> Result<Vec<(&'static str, String)>, Box<Reply>> {
    let Some((limit, window)) = state.settings.rate_limit else {
        return Ok(Vec::new());
    };
    let Ok(mut w) = state.window.lock() else {
        return Ok(Vec::new());
    };
    if w.0.elapsed() >= window {
        *w = (Instant::now(), 0);
    }
    let left = window.saturating_sub(w.0.elapsed());
    let reset = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default() + left;
    if w.1 >= limit {
        let wait = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        return Err(Box::new(error(
            state.api,
            429,
            "RATE_LIMITED",
            "rate limit exceeded",
            &[
                ("retry-after", wait.max(1).to_string()),
                ("x-ratelimit-limit", limit.to_string()),
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-reset", reset.as_secs().to_string()),
            ],
        )));
    }
    w.1 += 1;
    Ok(vec![
        ("x-ratelimit-limit", limit.to_string()),
        ("x-ratelimit-remaining", (limit - w.1).to_string()),
        ("x-ratelimit-reset", (reset.as_secs() + 1).to_string()),
    ])
}

/// Agentiv's stateful flows: runs and executions. `None`: answer from the schema.
fn agentiv(
    state: &State,
    op: &Operation,
    params: &[(String, String)],
    body: Option<&Value>,
    headers: &[(&'static str, String)],
) -> Option<Reply> {
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    match (op.method.as_str(), op.template.as_str()) {
        ("POST", "/api/agents/{agentSlug}/run") => {
            let slug = param("agentSlug")?;
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
                    Api::Agentiv,
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
        ("GET", "/api/executions/{executionId}") => {
            let id = param("executionId")?;
            let runs = state.executions.lock().ok()?;
            let Some(run) = runs.get(&id) else {
                return Some(error(Api::Agentiv, 404, "NOT_FOUND", "no such execution", headers));
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

/// Whether the item `op` writes can also be read with a `GET` on the same template.
fn has_item_get(state: &State, op: &Operation) -> bool {
    state
        .spec
        .operations
        .iter()
        .any(|o| o.method == "GET" && o.template == op.template)
}

/// The schema-generated answer, paged when the operation pages (paging headers are added to
/// `headers`).
/// Refuses a page whose first entry's offset does not fit in 64 bits (a real server's database
/// would refuse it too), instead of overflowing.
fn page_window(query: &[(String, String)], paging: Paging) -> Result<(), String> {
    let size_name = match paging {
        Paging::PageTake => "take",
        Paging::PageSize => "page_size",
        Paging::PerPage => "per_page",
        Paging::Cursor => return Ok(()),
    };
    let number = |name: &str, default: u64| {
        lookup(query, name)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(default)
    };
    let (page, size) = (number("page", 1).max(1), number(size_name, 20).max(1));
    let offset = (page - 1).checked_mul(size).filter(|o| i64::try_from(*o).is_ok());
    match offset {
        Some(_) => Ok(()),
        None => Err(format!("page {page} with {size_name} {size} is out of range")),
    }
}

fn generated(
    state: &State,
    op: &Operation,
    params: &[(String, String)],
    query: &[(String, String)],
    headers: &mut Vec<(&'static str, String)>,
) -> Value {
    let q = |name: &str| lookup(query, name);
    let generator = Generator {
        doc: &state.spec.doc,
        seed: state.settings.seed,
    };
    let Some(schema) = &op.success_schema else {
        return json!({});
    };
    let mut body = generator.value(schema, 0);
    // Echo path ids, so `get_x(id)` returns x with that id.
    if let Some((_, id)) = params.last() {
        if body.get("id").is_some() {
            body["id"] = json!(id);
        } else if body.pointer("/data/id").is_some() {
            body["data"]["id"] = json!(id);
        }
    }
    if let Some(paging) = op.paging {
        let item_schema = items_schema(&state.spec.doc, schema);
        let total = state.settings.collection_size;
        let number = |name: &str, default: u64| q(name).and_then(|v| v.parse::<u64>().ok()).unwrap_or(default);
        let make = |range: std::ops::Range<u64>| -> Vec<Value> {
            range
                .map(|i| item_schema.map_or(json!({}), |s| generator.value(s, i + 1)))
                .collect()
        };
        match paging {
            Paging::PageTake => {
                let (page, take) = (number("page", 1).max(1), number("take", 20).clamp(1, 100));
                let from = (page - 1).saturating_mul(take).min(total);
                body = Value::Array(make(from..from.saturating_add(take).min(total)));
                headers.push(("pagination-count", total.to_string()));
                headers.push(("pagination-page", page.to_string()));
                headers.push(("pagination-take", take.to_string()));
            }
            Paging::PageSize | Paging::PerPage => {
                let size_name = if paging == Paging::PageSize {
                    "page_size"
                } else {
                    "per_page"
                };
                let (page, size) = (number("page", 1).max(1), number(size_name, 20).max(1));
                let from = (page - 1).saturating_mul(size).min(total);
                let pages = total.div_ceil(size);
                set(
                    &mut body,
                    "data",
                    Value::Array(make(from..from.saturating_add(size).min(total))),
                );
                for (k, v) in [
                    ("page", json!(page)),
                    (size_name, json!(size)),
                    ("total_pages", json!(pages)),
                    ("total_entries", json!(total)),
                    ("total_count", json!(total)),
                    ("has_next", json!(page < pages)),
                    ("has_prev", json!(page > 1)),
                ] {
                    set_if_present(&mut body, k, v);
                }
            }
            Paging::Cursor => {
                let limit = number("limit", 20).max(1);
                let at = |c: &str| c.trim_start_matches('c').parse::<u64>().unwrap_or(0).min(total);
                let (from, to) = match (q("before_cursor"), q("after_cursor")) {
                    (Some(c), _) => (at(c).saturating_sub(limit), at(c)),
                    (None, Some(c)) => (at(c), (at(c) + limit).min(total)),
                    (None, None) => (0, limit.min(total)),
                };
                let entries = Value::Array(make(from..to));
                let cursors = [
                    (
                        "after_cursor",
                        if to < total {
                            json!(format!("c{to}"))
                        } else {
                            Value::Null
                        },
                    ),
                    (
                        "before_cursor",
                        if from > 0 {
                            json!(format!("c{from}"))
                        } else {
                            Value::Null
                        },
                    ),
                    ("has_more", json!(to < total)),
                ];
                if body.get("data").is_some_and(Value::is_array) {
                    set(&mut body, "data", entries);
                    cursors.into_iter().for_each(|(k, v)| set_or_remove(&mut body, k, v));
                } else if let Some(data) = body.get_mut("data").filter(|d| d.is_object()) {
                    let list = data
                        .as_object()
                        .and_then(|m| m.iter().find(|(_, v)| v.is_array()).map(|(k, _)| k.clone()));
                    if let Some(list) = list {
                        data[list.as_str()] = entries;
                    }
                    cursors.into_iter().for_each(|(k, v)| set_or_remove(data, k, v));
                }
            }
        }
    }
    body
}

fn set(body: &mut Value, key: &str, value: Value) {
    if let Some(obj) = body.as_object_mut() {
        obj.insert(key.to_owned(), value);
    }
}

fn set_if_present(body: &mut Value, key: &str, value: Value) {
    if let Some(slot) = body.get_mut(key) {
        *slot = value;
    }
}

/// Sets a cursor field the schema has; a null cursor is left out (the field is optional).
fn set_or_remove(body: &mut Value, key: &str, value: Value) {
    let Some(obj) = body.as_object_mut() else { return };
    if value.is_null() {
        obj.remove(key);
    } else {
        obj.insert(key.to_owned(), value);
    }
}

/// The schema of one entry: a bare array's items, `data`'s items, or the items of the only
/// array inside `data`.
fn items_schema<'a>(doc: &'a Value, schema: &'a Value) -> Option<&'a Value> {
    let schema = crate::spec::resolve(doc, schema);
    if let Some(items) = schema.get("items") {
        return Some(items);
    }
    let data = crate::spec::resolve(doc, schema.pointer("/properties/data")?);
    if let Some(items) = data.get("items") {
        return Some(items);
    }
    let props = data.get("properties")?.as_object()?;
    let arrays: Vec<&Value> = props
        .values()
        .map(|p| crate::spec::resolve(doc, p))
        .filter(|p| p.get("type").and_then(Value::as_str) == Some("array"))
        .collect();
    match arrays.as_slice() {
        [only] => only.get("items"),
        _ => None,
    }
}
