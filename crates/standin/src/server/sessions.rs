//! ArchAstro's sessions, when the stand-in is built with `rotating_sessions`: sign-in and refresh
//! issue token pairs, a refresh token works once (a second use is refused, as the vendor does),
//! and a bearer token works only while it is current. Off by default: any bearer is accepted.

use std::collections::HashSet;
use std::sync::Mutex;

use serde_json::{json, Value};

use super::{error, reply, Reply, State};
use crate::data::Generator;
use crate::spec::Operation;

/// Issued tokens and how many refreshes were answered.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    access: HashSet<String>,
    refresh: HashSet<String>,
    issued: u64,
    pub(crate) refreshes: u64,
}

impl Sessions {
    /// A new pair, both current.
    pub(crate) fn issue(&mut self) -> (String, String) {
        self.issued += 1;
        let pair = (format!("at_{}", self.issued), format!("rt_{}", self.issued));
        self.access.insert(pair.0.clone());
        self.refresh.insert(pair.1.clone());
        pair
    }

    /// Whether `token` is a current access token.
    pub(crate) fn is_current(&self, token: &str) -> bool {
        self.access.contains(token)
    }

    /// Every access token stops working (refresh tokens still work once).
    pub(crate) fn expire_access(&mut self) {
        self.access.clear();
    }
}

fn bearer(headers: &hyper::HeaderMap) -> Option<&str> {
    headers
        .get(hyper::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// A 401 for a bearer token the stand-in did not issue or has expired.
pub(crate) fn check(state: &State, headers: &hyper::HeaderMap) -> Option<Reply> {
    let sessions = state.sessions.as_ref()?;
    let token = bearer(headers)?;
    let current = sessions.lock().ok()?.access.contains(token);
    (!current).then(|| {
        error(
            state.api,
            401,
            "TOKEN_EXPIRED",
            "the access token is expired or unknown",
            &[],
        )
    })
}

/// Answers sign-in and refresh with a fresh pair; `None` for other operations.
pub(crate) fn answer(state: &State, op: &Operation, body: Option<&Value>) -> Option<Reply> {
    let sessions: &Mutex<Sessions> = state.sessions.as_ref()?;
    let refreshing = crate::normalize(&op.id) == "postapiv1authrefresh";
    if !refreshing && crate::normalize(&op.id) != "postapiv1authlogin" {
        return None;
    }
    let mut sessions = sessions.lock().ok()?;
    if refreshing {
        let token = body.and_then(|b| b.get("refresh_token")).and_then(Value::as_str);
        if !token.is_some_and(|t| sessions.refresh.remove(t)) {
            return Some(error(
                state.api,
                401,
                "INVALID_REFRESH_TOKEN",
                "the refresh token is unknown or was used already",
                &[],
            ));
        }
        sessions.refreshes += 1;
    }
    let (access, refresh) = sessions.issue();
    let generator = Generator {
        doc: &state.spec.doc,
        seed: state.settings.seed,
    };
    let mut tokens = op
        .success_schema
        .as_ref()
        .map_or_else(|| json!({}), |schema| generator.value(schema, 0));
    tokens["token"] = json!(access);
    tokens["refresh_token"] = json!(refresh);
    Some(reply(op.success_status, &tokens, &[]))
}
