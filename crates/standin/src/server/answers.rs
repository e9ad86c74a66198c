//! Answers: the store's entries where the API keeps them (create, read, update, delete, list),
//! else an entry generated from the success schema, paged when the operation pages.

use serde_json::{json, Value};

use super::paging::items_schema;
use super::{error, lookup, reply, Reply, State};
use crate::data::Generator;
use crate::spec::{Operation, Segment};

/// The body of a binary answer: the PNG signature and a few bytes, so a client sees bytes that
/// are not text or JSON.
const BINARY_BODY: &[u8] = b"\x89PNG\r\n\x1a\nstand-in binary body";

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
    if let Some(media) = &op.success_binary {
        // A file or an image, as the spec says: bytes with that type, never JSON.
        return super::reply_bytes(op.success_status, media, BINARY_BODY, &headers);
    }
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
            let parent = op.template.rsplit_once('/').map_or("", |(p, _)| p);
            // The collection keeps its own kind of item (adding a contact to a segment answers
            // the contact, but the contact's segments list holds segments).
            match listed_item(state, op, parent, &id) {
                Some(mut item) => state.store.upsert(&collection, &id, &mut item, None),
                None => state.store.upsert(&collection, &id, &mut answer, body),
            }
            return reply(op.success_status, &answer, &headers);
        }
        ("POST", false) if has_item_route(&op.template) => {
            // A created resource is what its list and item routes answer later, whatever
            // summary shape the list uses.
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

/// When `op` adds an item to the list at `template` but answers with another kind (adding a
/// segment to a contact answers the contact): an item of the list's kind, with `id`, to keep.
fn listed_item(state: &State, op: &Operation, template: &str, id: &str) -> Option<Value> {
    let list = state
        .spec
        .operations
        .iter()
        .find(|o| o.method == "GET" && o.template == template)?;
    let items = items_schema(&state.spec.doc, list.success_schema.as_ref()?)?;
    let answered = op.success_schema.as_ref()?;
    // Only two named kinds are told apart: the answer (or its enveloped `data`) and the list's
    // items both components, and different ones. Anything less certain keeps what was answered.
    let component = |v: &Value| v.get("$ref").and_then(Value::as_str).map(str::to_owned);
    let doc = &state.spec.doc;
    let enveloped = crate::spec::resolve(doc, answered)
        .pointer("/properties/data")
        .and_then(component);
    let (Some(listed), Some(kind)) = (component(items), component(answered).or(enveloped.clone())) else {
        return None;
    };
    if listed == kind || enveloped.as_deref() == Some(listed.as_str()) {
        return None;
    }
    let generator = Generator {
        doc: &state.spec.doc,
        seed: state.settings.seed,
    };
    let mut item = generator.value(items, 1);
    if item.get("id").is_some() {
        item["id"] = json!(id);
    }
    Some(item)
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

/// With `check_answers`: `answer` validated against `op`'s success schema, a violation recorded.
/// The answer itself goes out unchanged.
pub(crate) async fn checked(state: &State, op: &Operation, answer: Reply) -> Reply {
    use http_body_util::BodyExt as _;
    let Some(schema) = op.success_schema.as_ref().filter(|_| state.settings.check_answers) else {
        return answer;
    };
    if !answer.status().is_success() || answer.status().as_u16() == 204 {
        return answer;
    }
    let (parts, body) = answer.into_parts();
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(never) => match never {},
    };
    let errors = match serde_json::from_slice::<Value>(&bytes) {
        Ok(value) => {
            let key = format!("{} {} answer", op.method, op.template);
            state.validators.check(&state.spec.doc, &key, schema, &value)
        }
        Err(e) => vec![format!("not JSON: {e}")],
    };
    if !errors.is_empty() {
        if let Ok(mut violations) = state.violations.lock() {
            violations.push(format!(
                "{} ({} {}): {}",
                op.id,
                op.method,
                op.template,
                errors.join("; ")
            ));
        }
    }
    hyper::Response::from_parts(parts, http_body_util::Full::new(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Api, Standin};

    #[tokio::test]
    async fn an_answer_that_breaks_its_schema_is_recorded_and_a_good_one_is_not() {
        let spec = crate::spec::Spec::load(Api::ArchAstro).expect("spec");
        let state = State::new(Standin::builder(Api::ArchAstro).check_answers(), spec);
        let op = state
            .spec
            .operations
            .iter()
            .find(|o| o.method == "GET" && o.template == "/api/v1/agents/{agent}")
            .expect("get_agent")
            .clone();
        let good = stateful(&state, &op, "/api/v1/agents/agt_1", &[], &[], None, Vec::new());
        let good = checked(&state, &op, good).await;
        assert_eq!(good.status(), 200);
        assert!(state.violations.lock().expect("lock").is_empty());
        let bad = super::super::reply(200, &json!({"id": 5, "name": ["not", "text"]}), &[]);
        let _ = checked(&state, &op, bad).await;
        let violations = state.violations.lock().expect("lock").clone();
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert!(
            violations[0].contains("(GET /api/v1/agents/{agent}): 5 is not of type"),
            "{violations:?}"
        );
    }
}
