//! The HTTP side: one hyper service that takes every request through the same steps:
//! [`routing`], [`faults`], [`auth`], [`limits`], [`inputs`] (parameters and body), then Agentiv's
//! [`runs`] or the [`answers`] (with [`paging`]). WebSocket upgrades are handed to
//! [`realtime`].

mod answers;
mod auth;
mod faults;
mod inputs;
mod limits;
mod paging;
pub(crate) mod realtime;
mod routing;
mod runs;
mod sessions;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};

use crate::profile::ErrorShape;
use crate::spec::Spec;
use crate::store::Store;
use crate::{Api, Faults, StandinBuilder};
use faults::{play_fault, Dropped};
use realtime::{feeds, upgrade, Kind, Realtime};
use runs::Execution;

pub(crate) type Reply = Response<Full<Bytes>>;

/// Everything the service shares across connections.
pub(crate) struct State {
    pub(crate) api: Api,
    pub(crate) spec: Spec,
    pub(crate) settings: StandinBuilder,
    pub(crate) faults: Faults,
    pub(crate) log: Mutex<Vec<String>>,
    window: Mutex<(Instant, u64)>,
    /// 429s answered by the rate limit.
    pub(crate) rate_limited: std::sync::atomic::AtomicU64,
    /// ArchAstro's issued tokens, when the stand-in rotates sessions.
    pub(crate) sessions: Option<Mutex<sessions::Sessions>>,
    executions: Mutex<HashMap<String, Execution>>,
    store: Store,
    pub(crate) validators: crate::validate::Validators,
    /// Success answers that did not conform to their schema (with `check_answers`).
    pub(crate) violations: Mutex<Vec<String>>,
    /// Open WebSockets and what scripts them.
    pub(crate) realtime: Realtime,
}

impl State {
    pub(crate) fn new(settings: StandinBuilder, spec: Spec) -> Self {
        let sessions = (settings.rotating_sessions && crate::apis::profile(settings.api).sessions).then(Mutex::default);
        let realtime = Realtime::new(&spec.doc);
        Self {
            realtime,
            api: settings.api,
            spec,
            settings,
            faults: Mutex::default(),
            log: Mutex::default(),
            window: Mutex::new((Instant::now(), 0)),
            rate_limited: std::sync::atomic::AtomicU64::new(0),
            violations: Mutex::default(),
            sessions,
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

    /// Whether `token` may be used as a bearer: always, unless sessions rotate and it is not a
    /// current access token.
    pub(crate) fn access_token_ok(&self, token: &str) -> bool {
        self.sessions
            .as_ref()
            .is_none_or(|s| s.lock().is_ok_and(|s| s.is_current(token)))
    }
}

pub(crate) async fn serve(listener: tokio::net::TcpListener, state: Arc<State>) {
    while let Ok((stream, _)) = listener.accept().await {
        state.realtime.accepted();
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
    reply_bytes(status, "application/json", text.as_bytes(), headers)
}

/// An answer of `media` type with these bytes (none for a 204).
pub(crate) fn reply_bytes(status: u16, media: &str, body: &[u8], headers: &[(&str, String)]) -> Reply {
    let body = if status == 204 {
        Bytes::new()
    } else {
        Bytes::copy_from_slice(body)
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = response.headers_mut();
    h.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_str(media)
            .unwrap_or_else(|_| hyper::header::HeaderValue::from_static("application/octet-stream")),
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
    let body = match crate::apis::profile(api).errors {
        ErrorShape::Envelope => json!({"success": false, "error": {"code": code, "message": message}}),
        ErrorShape::Nested => json!({"error": {"code": code.to_ascii_lowercase(), "message": message}}),
    };
    reply(status, &body, extra)
}

async fn handle(state: &Arc<State>, mut req: Request<hyper::body::Incoming>) -> Result<Reply, Dropped> {
    // ArchAstro's Phoenix socket is not a REST operation of the spec, so it comes before routing.
    if crate::apis::profile(state.api).phoenix_path == Some(req.uri().path()) {
        return Ok(upgrade::phoenix_socket(state, req));
    }
    // The spec's own WebSocket operations (Invent's feeds): REST admission, then a feed socket.
    let upgrade_op = upgrade::is_upgrade(&req)
        .then(|| state.spec.route(req.method().as_str(), req.uri().path()).ok())
        .flatten()
        .map(|(op, _)| op);
    if let Some(op) = upgrade_op {
        return feed_upgrade(state, op, &mut req).await;
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
    if let Some(r) = admit(state, op, &headers).await? {
        return Ok(r);
    }
    let limit_headers = match limits::rate_limit(state) {
        Ok(h) => h,
        Err(r) => return Ok(*r),
    };
    let checked = inputs::check_params(state, op, &path_params, &query)
        .and_then(|()| inputs::json_body(state, op, &headers, &body));
    let json_body = match checked {
        Ok(body) => body,
        Err(refused) => {
            return Ok(error(
                state.api,
                refused.status,
                "INVALID_INPUT",
                &refused.message,
                &limit_headers,
            ))
        }
    };
    let answer = match sessions::answer(state, op, json_body.as_ref()) {
        Some(r) => r,
        None => match crate::apis::profile(state.api)
            .runs
            .then(|| runs::agentiv(state, op, &path_params, json_body.as_ref(), &limit_headers))
            .flatten()
        {
            Some(r) => r,
            None => answers::stateful(
                state,
                op,
                &path,
                &path_params,
                &query,
                json_body.as_ref(),
                limit_headers,
            ),
        },
    };
    Ok(answers::checked(state, op, answer).await)
}

/// An upgrade to one of the spec's own WebSocket operations: logged, refused when scripted to,
/// admitted as its REST operation would be, then a feed socket.
async fn feed_upgrade(
    state: &Arc<State>,
    op: &crate::spec::Operation,
    req: &mut Request<hyper::body::Incoming>,
) -> Result<Reply, Dropped> {
    if let Ok(mut log) = state.log.lock() {
        log.push(format!("{} {} (upgrade)", req.method(), req.uri()));
    }
    if let Some(r) = upgrade::refusal(state) {
        return Ok(r);
    }
    if let Some(r) = admit(state, op, req.headers()).await? {
        return Ok(r);
    }
    Ok(upgrade::accept(state, req, Kind::Feed(feeds::name(op))))
}

/// The steps before any answer of `op`: a scripted fault, then the credentials. `Some`: the
/// request is answered (or dropped) here.
async fn admit(
    state: &State,
    op: &crate::spec::Operation,
    headers: &hyper::HeaderMap,
) -> Result<Option<Reply>, Dropped> {
    if let Some(r) = play_fault(state, op).await? {
        return Ok(Some(r));
    }
    if !auth::authorized(&state.spec, op, headers) {
        return Ok(Some(error(
            state.api,
            401,
            "UNAUTHORIZED",
            "missing or invalid credentials",
            &[],
        )));
    }
    Ok(sessions::check(state, headers))
}

/// A query value by name, accepting Plug's `name[]` form too.
pub(crate) fn lookup<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name || k.strip_suffix("[]") == Some(name))
        .map(|(_, v)| v.as_str())
}
