//! Answers: the store's entries where the API keeps them (create, read, update, delete, list),
//! else an entry generated from the success schema, paged when the operation pages.

use serde_json::{json, Value};

use super::paging::items_schema;
use super::{error, lookup, reply, Reply, State};
use crate::data::Generator;
use crate::spec::{Operation, Segment};

/// Routes create / read / update / delete / list through the [`Store`], falling back to the
/// schema-generated answer.
pub(crate) fn stateful(
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

/// Whether the item `op` writes can also be read with a `GET` on the same template.
fn has_item_get(state: &State, op: &Operation) -> bool {
    state
        .spec
        .operations
        .iter()
        .any(|o| o.method == "GET" && o.template == op.template)
}

fn generated(
    state: &State,
    op: &Operation,
    params: &[(String, String)],
    query: &[(String, String)],
    headers: &mut Vec<(&'static str, String)>,
) -> Value {
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
        let make = |range: std::ops::Range<u64>| -> Vec<Value> {
            range
                .map(|i| item_schema.map_or(json!({}), |s| generator.value(s, i + 1)))
                .collect()
        };
        // A style this stand-in does not serve keeps the generated body.
        super::paging::page(paging, state.settings.collection_size, query, &mut body, headers, make);
    }
    body
}
