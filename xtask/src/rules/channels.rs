//! Realtime channel schemas (`x-channels`) as components. progenitor only generates types for
//! what an OpenAPI document can hold, and a vendor extension is data to it; a channel's params,
//! reply and push payloads become components (and the channel a `$ref`), so they get Rust types
//! the generated channel code can name, and every later rule (3.1 down-conversion, repairs, open
//! enums, sharing repeated inline shapes) treats them like any other schema.

use std::collections::HashSet;

use serde_json::{json, Map, Value};

use super::{Options, Rule, RuleError};
use crate::channels::{component_name, method_name, prefix, variant_name};
use crate::error::escape;
use crate::syntax::typify_name;

/// The channel rules; they run first, so every other rule sees the hoisted schemas.
pub const RULES: &[Rule] = &[Rule {
    name: "hoist-channel-schemas",
    doc: "Moves each `x-channels` params, reply (`returns`) and push `payload` schema that is an object with properties into `components.schemas` under a name from its channel and entry (`ChatPostMessageParams`, `ChatPostMessageReply`, `ChatMessageAddedPush`; a number is appended on a collision) and leaves a `$ref`: progenitor generates no types for vendor extensions. Empty objects stay as they are (any JSON object). The component is marked `x-channel-schema` with where it came from, so no REST type is named after a channel.",
    apply: hoist_channel_schemas,
}];

/// The extension marking a component hoisted from a channel (its value: the original pointer).
/// `share-repeated-inline-schemas` does not share schemas with vendor extensions, so a REST
/// schema of the same shape keeps its own name.
pub const MARKER: &str = "x-channel-schema";

/// Pointer prefixes (`/components/schemas/Name/`) of the components hoisted from channels
/// (by this rule, or shared among channel schemas alone by `share-repeated-inline-schemas`).
pub(super) fn component_prefixes(doc: &Value) -> Vec<String> {
    doc.pointer("/components/schemas")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(_, s)| s.get(MARKER).is_some())
        .map(|(name, _)| format!("/components/schemas/{}/", escape(name)))
        .collect()
}

/// An object with properties: the schemas typify would turn into a struct. An empty object
/// stays any JSON object, which is what the spec says it is.
fn hoistable(schema: &Value) -> bool {
    let Some(s) = schema.as_object() else { return false };
    !s.contains_key("$ref")
        && s.get("type").and_then(Value::as_str).is_none_or(|t| t == "object")
        && s.get("properties")
            .and_then(Value::as_object)
            .is_some_and(|p| !p.is_empty())
}

fn hoist_channel_schemas(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    // (pointer of the schema, wanted component name)
    let mut sites: Vec<(String, String)> = Vec::new();
    for (i, channel) in doc
        .get("x-channels")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let Some(name) = channel.get("name").and_then(Value::as_str) else {
            continue;
        };
        let prefix = prefix(name);
        let ptr = format!("/x-channels/{i}");
        let list = |key: &str| {
            channel
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
        };
        let mut site = |at: String, schema: Option<&Value>, entry: &str, role: &str| {
            if schema.is_some_and(hoistable) {
                sites.push((at, component_name(&prefix, entry, role)));
            }
        };
        for (j, join) in list("joins") {
            let Some(entry) = join.get("name").and_then(Value::as_str) else {
                continue;
            };
            site(format!("{ptr}/joins/{j}/params"), join.get("params"), entry, "Params");
            site(format!("{ptr}/joins/{j}/returns"), join.get("returns"), entry, "Reply");
        }
        for (j, message) in list("messages") {
            let Some(event) = message.get("event").and_then(Value::as_str) else {
                continue;
            };
            let entry = method_name(event);
            site(
                format!("{ptr}/messages/{j}/params"),
                message.get("params"),
                &entry,
                "Params",
            );
            site(
                format!("{ptr}/messages/{j}/returns"),
                message.get("returns"),
                &entry,
                "Reply",
            );
        }
        for (j, push) in list("pushes") {
            let Some(event) = push.get("event").and_then(Value::as_str) else {
                continue;
            };
            site(
                format!("{ptr}/pushes/{j}/payload"),
                push.get("payload"),
                &variant_name(event),
                "Push",
            );
        }
    }
    if sites.is_empty() {
        return Ok(0);
    }
    // Every name typify already gives a component, and the titles it would name inline types by.
    let mut taken: HashSet<String> = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.keys())
        .map(|k| typify_name(k))
        .collect();
    let mut hoisted: Vec<(String, Value)> = Vec::new();
    for (at, wanted) in sites {
        let name = (1..)
            .map(|n| if n == 1 { wanted.clone() } else { format!("{wanted}{n}") })
            .find(|n| !taken.contains(&typify_name(n)))
            .unwrap_or_else(|| wanted.clone());
        taken.insert(typify_name(&name));
        let Some(node) = doc.pointer_mut(&at) else { continue };
        let reference = json!({"$ref": format!("#/components/schemas/{}", escape(&name))});
        let mut schema = std::mem::replace(node, reference);
        if let Some(map) = schema.as_object_mut() {
            // Named by its key now: a title would make typify name it twice.
            map.remove("title");
            map.insert(MARKER.into(), Value::String(at));
        }
        hoisted.push((name, schema));
    }
    let n = hoisted.len();
    let Some(root) = doc.as_object_mut() else { return Ok(0) };
    let components = root.entry("components").or_insert_with(|| json!({}));
    let schemas = components
        .as_object_mut()
        .map(|c| c.entry("schemas").or_insert_with(|| Value::Object(Map::new())));
    let Some(schemas) = schemas.and_then(Value::as_object_mut) else {
        return Err(RuleError {
            pointer: "/components".into(),
            message: "`components` (or its `schemas`) is not an object".into(),
        });
    };
    schemas.extend(hoisted);
    Ok(n)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::rules::testing::run;

    #[test]
    fn channel_schemas_become_named_components() {
        let object = json!({"type": "object", "properties": {"id": {"type": "string"}}});
        let doc = json!({"openapi": "3.0.3", "paths": {},
            "components": {"schemas": {"ChatPostMessageParams": {"type": "string"}}},
            "x-channels": [{"name": "ApiChatChannel",
                "joins": [{"name": "join_thread", "pattern": "t:{id}", "params": object, "returns": {"type": "object"}}],
                "messages": [{"event": "api:chat:post_message", "params": object, "returns": {"type": "object", "properties": {}}},
                             {"event": "ref", "params": {"$ref": "#/components/schemas/ChatPostMessageParams"}, "returns": object}],
                "pushes": [{"event": "message_added", "payload": object}]}]});
        let (doc, n) = run("hoist-channel-schemas", doc);
        assert_eq!(n, 4);
        let channel = &doc["x-channels"][0];
        let target = |v: &serde_json::Value| v["$ref"].as_str().map(str::to_owned);
        assert_eq!(
            target(&channel["joins"][0]["params"]).as_deref(),
            Some("#/components/schemas/ChatJoinThreadParams")
        );
        assert_eq!(
            channel["joins"][0]["returns"],
            json!({"type": "object"}),
            "an empty object stays"
        );
        assert_eq!(
            target(&channel["messages"][0]["params"]).as_deref(),
            Some("#/components/schemas/ChatPostMessageParams2"),
            "a taken name gets a number"
        );
        assert_eq!(
            channel["messages"][0]["returns"],
            json!({"type": "object", "properties": {}})
        );
        assert_eq!(
            target(&channel["messages"][1]["params"]).as_deref(),
            Some("#/components/schemas/ChatPostMessageParams")
        );
        assert_eq!(
            target(&channel["messages"][1]["returns"]).as_deref(),
            Some("#/components/schemas/ChatRefReply")
        );
        let pushed = &doc["components"]["schemas"]["ChatMessageAddedPush"];
        assert_eq!(pushed["properties"], object["properties"]);
        assert_eq!(pushed["x-channel-schema"], "/x-channels/0/pushes/0/payload");
        assert_eq!(
            run("hoist-channel-schemas", doc.clone()).1,
            0,
            "a second run changes nothing"
        );
    }

    #[test]
    fn a_shape_shared_with_rest_is_named_after_its_rest_place() {
        let grant = json!({"type": "object", "properties": {"principal": {"type": "string"}}});
        let doc = json!({"openapi": "3.0.3", "paths": {"/a": {"get": {"responses": {"200": {"description": "",
                "content": {"application/json": {"schema": {"type": "object", "properties": {
                    "owner": grant, "members": {"type": "array", "items": grant}}}}}}}}}},
            "x-channels": [{"name": "ApiRoomChannel", "pushes": [{"event": "joined",
                "payload": {"type": "object", "properties": {"member": grant, "id": {"type": "string"}}}}]}]});
        let (doc, _) = run("hoist-channel-schemas", doc);
        let (doc, _) = run("share-repeated-inline-schemas", doc);
        let schemas = &doc["components"]["schemas"];
        assert_eq!(
            schemas["RoomJoinedPush"]["properties"]["member"],
            json!({"$ref": "#/components/schemas/Owner"})
        );
        assert!(schemas.get("Member").is_none(), "{schemas:#}");
    }

    #[test]
    fn documents_without_channels_are_left_alone() {
        let doc = json!({"openapi": "3.0.3", "paths": {}});
        assert_eq!(run("hoist-channel-schemas", doc.clone()), (doc, 0));
    }
}
