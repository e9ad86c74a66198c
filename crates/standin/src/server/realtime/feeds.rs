//! Invent's event feeds (`/orgs/{org_id}/chats/ws`, `/orgs/{org_id}/inbox/ws`): after the upgrade
//! the stand-in only sends; what the client sends is read (so pings get their pongs) and
//! otherwise ignored, since no client protocol is documented.

use serde_json::{json, Value};

use crate::data::Generator;
use crate::server::State;
use crate::spec::{resolve, Operation, Segment};

/// The feed an upgrade operation serves: the literal segment before the final `ws`
/// (`/orgs/{org_id}/chats/ws` → `chats`), else the whole template.
pub(crate) fn name(op: &Operation) -> String {
    let literal = |s: &Segment| match s {
        Segment::Literal(l) => Some(l.clone()),
        Segment::Param(_) => None,
    };
    match op.segments.as_slice() {
        [.., feed, Segment::Literal(last)] if last == "ws" => literal(feed),
        _ => None,
    }
    .unwrap_or_else(|| op.template.clone())
}

/// The schema of the chat a feed frame carries: the `data` of the operation's
/// `x-websocket-message`, else the spec's `Chat` component.
fn chat_schema<'a>(doc: &'a Value, feed: &str) -> Option<&'a Value> {
    let suffix = format!("/{feed}/ws");
    let declared = doc
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .find(|(template, _)| template.ends_with(&suffix))
        .and_then(|(_, item)| item.pointer("/get/x-websocket-message"))
        .map(|message| resolve(doc, message))
        .and_then(|message| message.pointer("/properties/data"));
    declared.or_else(|| doc.pointer("/components/schemas/Chat"))
}

/// `{"type": "create", "data": <generated chat>}`.
pub(crate) fn example(state: &State, feed: &str) -> Value {
    let doc = &state.spec.doc;
    let data = chat_schema(doc, feed).map_or_else(
        || json!({}),
        |schema| {
            Generator {
                doc,
                seed: state.settings.seed,
            }
            .value(schema, 0)
        },
    );
    json!({"type": "create", "data": data})
}
