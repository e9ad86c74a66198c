//! The HTTP side: one hyper service that takes every request through the same steps:
//! [`routing`], [`faults`], [`auth`], [`limits`], parameter and body checks, then Agentiv's
//! [`runs`] or the [`answers`] (with [`paging`]).

mod answers;
mod auth;
mod faults;
mod limits;
mod paging;
mod routing;
mod runs;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};

use crate::spec::Spec;
use crate::store::Store;
use crate::{Api, Faults, StandinBuilder};
use faults::{play_fault, Dropped};
use runs::Execution;

pub(crate) type Reply = Response<Full<Bytes>>;

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

pub(crate) fn reply(status: u16, body: &Value, headers: &[(&str, String)]) -> Reply {
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
pub(crate) fn error(api: Api, status: u16, code: &str, message: &str, extra: &[(&str, String)]) -> Reply {
    let body = match api {
        Api::Agentiv => json!({"success": false, "error": {"code": code, "message": message}}),
        _ => json!({"error": {"code": code.to_ascii_lowercase(), "message": message}}),
    };
    reply(status, &body, extra)
}

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
        if !auth::authorized(&state.spec, op, req.headers()) {
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
        Err(miss) => return Ok(miss.reply(state.api)),
    };
    if let Some(r) = play_fault(state, op).await? {
        return Ok(r);
    }
    if !auth::authorized(&state.spec, op, &headers) {
        return Ok(error(
            state.api,
            401,
            "UNAUTHORIZED",
            "missing or invalid credentials",
            &[],
        ));
    }
    let limit_headers = match limits::rate_limit(state) {
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
        if let Err(message) = paging::page_window(&query, paging) {
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
        if let Some(r) = runs::agentiv(state, op, &path_params, json_body.as_ref(), &limit_headers) {
            return Ok(r);
        }
    }
    Ok(answers::stateful(
        state,
        op,
        &path,
        &path_params,
        &query,
        json_body.as_ref(),
        limit_headers,
    ))
}

/// A query value by name, accepting Plug's `name[]` form too.
pub(crate) fn lookup<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
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
