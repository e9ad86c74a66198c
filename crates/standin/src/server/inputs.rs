//! A request's inputs against the spec: required query parameters, scalar parameters against
//! their schemas, the page window, and a JSON body against its schema.

use serde_json::Value;

use super::{lookup, State};
use crate::spec::Operation;
use crate::Api;

/// Why the inputs are refused: the status to answer (`INVALID_INPUT`) and what was wrong.
pub(crate) struct Refused {
    pub(crate) status: u16,
    pub(crate) message: String,
}

impl Refused {
    fn new(status: u16, message: String) -> Self {
        Self { status, message }
    }
}

/// The status the API answers an invalid body with (its profile's).
fn invalid_body_status(api: Api) -> u16 {
    crate::apis::profile(api).invalid_body
}

/// Required query parameters, then scalar parameters against their schemas (arrays and objects
/// travel pre-encoded), then the page window.
pub(crate) fn check_params(
    state: &State,
    op: &Operation,
    path_params: &[(String, String)],
    query: &[(String, String)],
) -> Result<(), Refused> {
    if let Some(missing) = op.required_query.iter().find(|n| lookup(query, n).is_none()) {
        return Err(Refused::new(400, format!("missing query parameter `{missing}`")));
    }
    for (name, location, schema) in &op.params {
        let raw = match location.as_str() {
            "path" => path_params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()),
            _ => lookup(query, name),
        };
        let scalar = schema
            .get("type")
            .is_some_and(|t| t.as_str() != Some("array") && t.as_str() != Some("object"));
        let (Some(raw), true) = (raw, scalar) else { continue };
        let key = format!("{} {} {location} {name}", op.method, op.template);
        let value = crate::validate::typed(raw, schema);
        let errors = state.validators.check(&state.spec.doc, &key, schema, &value);
        if !errors.is_empty() {
            return Err(Refused::new(
                400,
                format!("{location} parameter `{name}`: {}", errors.join("; ")),
            ));
        }
    }
    match op.paging {
        Some(paging) => super::paging::page_window(query, paging).map_err(|message| Refused::new(400, message)),
        None => Ok(()),
    }
}

/// The body as JSON, checked against the operation's schema; `None` when the operation takes
/// none or the body is not JSON.
pub(crate) fn json_body(
    state: &State,
    op: &Operation,
    headers: &hyper::HeaderMap,
    body: &[u8],
) -> Result<Option<Value>, Refused> {
    if !op.has_body || body.is_empty() || !is_json(headers) {
        return Ok(None);
    }
    let status = invalid_body_status(state.api);
    let instance: Value =
        serde_json::from_slice(body).map_err(|e| Refused::new(status, format!("body is not JSON: {e}")))?;
    if let Some(schema) = &op.body_schema {
        let key = format!("{} {} body", op.method, op.template);
        let errors = state.validators.check(&state.spec.doc, &key, schema, &instance);
        if !errors.is_empty() {
            return Err(Refused::new(status, format!("invalid body: {}", errors.join("; "))));
        }
    }
    Ok(Some(instance))
}

fn is_json(headers: &hyper::HeaderMap) -> bool {
    headers
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"))
}
