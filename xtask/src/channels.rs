//! The realtime channels a spec describes in `x-channels` (Phoenix channels: topic joins, client
//! messages with replies, server pushes), read into one model. Reading is also the validation:
//! every construct the generator could not turn into Rust is an error with its JSON pointer, so
//! `validate`, the hoisting rule, the generator and the contract emitter agree on what a channel
//! is and on every Rust name derived from it.

use std::collections::BTreeMap;

use heck::{ToSnakeCase, ToUpperCamelCase};
use serde_json::{Map, Value};

use crate::error::{escape, SpecError};
use crate::syntax::template_params;
use crate::syntax::typify_name;

/// Methods every channel handle has; a message may not take their names.
const HANDLE_METHODS: &[&str] = &["topic", "next", "missed", "leave", "channel"];
/// Methods of `Realtime`; a join may not take their names.
const REALTIME_METHODS: &[&str] = &["new", "socket"];
/// Variants every push enum has; a push may not take their names.
const PUSH_VARIANTS: &[&str] = &["Unknown", "Malformed"];

/// One channel.
#[derive(Debug, Clone)]
pub struct Channel {
    /// As the spec names it (`ApiChatChannel`).
    pub name: String,
    /// The prefix of every Rust name derived from it (`Chat`).
    pub prefix: String,
    /// Its description.
    pub description: Option<String>,
    /// Topic joins.
    pub joins: Vec<Join>,
    /// Client-to-server events with a reply.
    pub messages: Vec<Message>,
    /// Server-to-client events.
    pub pushes: Vec<Push>,
}

impl Channel {
    /// The handle type's name (`ChatChannel`).
    pub fn handle(&self) -> String {
        format!("{}Channel", self.prefix)
    }

    /// The push enum's name (`ChatPush`).
    pub fn push_enum(&self) -> String {
        format!("{}Push", self.prefix)
    }

    /// Joins, messages and pushes together.
    pub fn entries(&self) -> usize {
        self.joins.len() + self.messages.len() + self.pushes.len()
    }
}

/// One topic join (`Realtime::<name>`).
#[derive(Debug, Clone)]
pub struct Join {
    /// The method name (`join_team_thread`).
    pub name: String,
    /// The topic pattern (`api:chat:team:{team_id}:thread:{thread_id}`).
    pub pattern: String,
    /// The params named in the pattern, in pattern order.
    pub topic_params: Vec<String>,
    /// The params schema.
    pub params: Value,
    /// Its description.
    pub description: Option<String>,
}

/// One client message (`<Handle>::<method>`).
#[derive(Debug, Clone)]
pub struct Message {
    /// The event sent (`api:chat:post_message`).
    pub event: String,
    /// The method name: the event's last `:` segment (`post_message`).
    pub method: String,
    /// The params schema.
    pub params: Value,
    /// The reply schema (`{}`, any JSON, when the spec gives none).
    pub returns: Value,
    /// Its description.
    pub description: Option<String>,
}

/// One server push (`<Prefix>Push::<variant>`).
#[derive(Debug, Clone)]
pub struct Push {
    /// The event received (`message_added`).
    pub event: String,
    /// The enum variant (`MessageAdded`).
    pub variant: String,
    /// The payload schema.
    pub payload: Value,
    /// Its description.
    pub description: Option<String>,
}

/// The Rust name prefix of a channel (`ApiChatChannel` → `Chat`): the `Channel` suffix and an
/// `Api` prefix say nothing once the names live in a channels module.
pub fn prefix(channel: &str) -> String {
    let name = typify_name(channel);
    let name = name.strip_suffix("Channel").filter(|n| !n.is_empty()).unwrap_or(&name);
    match name.strip_prefix("Api") {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_uppercase()) => rest.to_owned(),
        _ => name.to_owned(),
    }
}

/// A message's method name: the event's last `:` segment in snake case.
pub fn method_name(event: &str) -> String {
    event.rsplit(':').next().unwrap_or(event).to_snake_case()
}

/// A push's variant name: the event's last `:` segment in upper camel case.
pub fn variant_name(event: &str) -> String {
    event.rsplit(':').next().unwrap_or(event).to_upper_camel_case()
}

/// The component name a channel schema is hoisted under, before collisions are resolved:
/// `{prefix}{entry}{role}` (`ChatPostMessageParams`, `ChatMessageAddedPush`).
pub fn component_name(prefix: &str, entry: &str, role: &str) -> String {
    format!("{prefix}{}{role}", entry.to_upper_camel_case())
}

fn text(entry: &Map<String, Value>, key: &str) -> Option<String> {
    entry.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn is_identifier(name: &str) -> bool {
    !name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit()) && syn::parse_str::<syn::Ident>(name).is_ok()
}

/// Reads and checks `x-channels`; no section is no channels. Every problem is reported.
pub fn read(file: &str, doc: &Value) -> Result<Vec<Channel>, Vec<SpecError>> {
    let mut errors = Vec::new();
    let mut err = |ptr: String, msg: String| errors.push(SpecError::new(file, ptr, msg));
    let list = match doc.get("x-channels") {
        None => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => {
            err("/x-channels".into(), "must be a list of channels".into());
            return Err(errors);
        }
    };
    let mut channels = Vec::new();
    let mut prefixes: BTreeMap<String, String> = BTreeMap::new();
    let mut join_names: BTreeMap<String, String> = BTreeMap::new();
    for (i, c) in list.iter().enumerate() {
        let ptr = format!("/x-channels/{i}");
        let Some(c) = c.as_object() else {
            err(ptr, "a channel must be an object".into());
            continue;
        };
        let Some(name) = text(c, "name") else {
            err(format!("{ptr}/name"), "a channel needs a `name` string".into());
            continue;
        };
        let prefix = prefix(&name);
        if let Some(first) = prefixes.insert(prefix.clone(), ptr.clone()) {
            err(
                format!("{ptr}/name"),
                format!("channel `{name}` gets the Rust prefix `{prefix}` of the channel at {first}"),
            );
        }
        let entries = |key: &str, err: &mut dyn FnMut(String, String)| -> Vec<(String, Map<String, Value>)> {
            match c.get(key) {
                None => Vec::new(),
                Some(Value::Array(items)) => items
                    .iter()
                    .enumerate()
                    .filter_map(|(j, e)| {
                        let at = format!("{ptr}/{key}/{j}");
                        match e.as_object() {
                            Some(e) => Some((at, e.clone())),
                            None => {
                                err(at, format!("an entry of `{key}` must be an object"));
                                None
                            }
                        }
                    })
                    .collect(),
                Some(_) => {
                    err(format!("{ptr}/{key}"), format!("`{key}` must be a list"));
                    Vec::new()
                }
            }
        };
        let mut channel = Channel {
            name: name.clone(),
            prefix,
            description: text(c, "description"),
            joins: Vec::new(),
            messages: Vec::new(),
            pushes: Vec::new(),
        };
        for (at, e) in entries("joins", &mut err) {
            if let Some(join) = read_join(doc, &at, &e, &mut err) {
                if let Some(first) = join_names.insert(join.name.clone(), at.clone()) {
                    err(
                        format!("{at}/name"),
                        format!("join `{}` is also defined at {first}", join.name),
                    );
                }
                channel.joins.push(join);
            }
        }
        let mut methods: BTreeMap<String, String> = BTreeMap::new();
        for (at, e) in entries("messages", &mut err) {
            let (Some(event), Some(params)) = (text(&e, "event"), e.get("params")) else {
                err(at, "a message needs `event` and `params`".into());
                continue;
            };
            // No `returns`: the reply is any JSON.
            let returns = e.get("returns").cloned().unwrap_or_else(|| Value::Object(Map::new()));
            let method = method_name(&event);
            if !is_identifier(&method) || HANDLE_METHODS.contains(&method.as_str()) {
                err(format!("{at}/event"), format!("event `{event}` gives the method name `{method}`, which is not an identifier or is taken by the channel handle"));
            } else if let Some(first) = methods.insert(method.clone(), at.clone()) {
                err(
                    format!("{at}/event"),
                    format!("event `{event}` gives the method name `{method}` of the message at {first}"),
                );
            }
            check_object(doc, &format!("{at}/params"), params, &mut err);
            channel.messages.push(Message {
                event,
                method,
                params: params.clone(),
                returns,
                description: text(&e, "description"),
            });
        }
        let mut variants: BTreeMap<String, String> = BTreeMap::new();
        for (at, e) in entries("pushes", &mut err) {
            let (Some(event), Some(payload)) = (text(&e, "event"), e.get("payload")) else {
                err(at, "a push needs `event` and `payload`".into());
                continue;
            };
            let variant = variant_name(&event);
            if !is_identifier(&variant) || PUSH_VARIANTS.contains(&variant.as_str()) {
                err(
                    format!("{at}/event"),
                    format!(
                        "event `{event}` gives the variant name `{variant}`, which is not an identifier or is reserved"
                    ),
                );
            } else if let Some(first) = variants.insert(variant.clone(), at.clone()) {
                err(
                    format!("{at}/event"),
                    format!("event `{event}` gives the variant name `{variant}` of the push at {first}"),
                );
            }
            channel.pushes.push(Push {
                event,
                variant,
                payload: payload.clone(),
                description: text(&e, "description"),
            });
        }
        channels.push(channel);
    }
    if errors.is_empty() {
        Ok(channels)
    } else {
        Err(errors)
    }
}

fn read_join(doc: &Value, at: &str, e: &Map<String, Value>, err: &mut dyn FnMut(String, String)) -> Option<Join> {
    let (Some(name), Some(pattern), Some(params)) = (text(e, "name"), text(e, "pattern"), e.get("params")) else {
        err(at.to_owned(), "a join needs `name`, `pattern` and `params`".into());
        return None;
    };
    if !is_identifier(&name) || name != name.to_snake_case() || REALTIME_METHODS.contains(&name.as_str()) {
        err(
            format!("{at}/name"),
            format!("join name `{name}` must be a snake_case identifier other than {REALTIME_METHODS:?}"),
        );
    }
    let topic_params: Vec<String> = template_params(&pattern).into_iter().map(str::to_owned).collect();
    let schema = resolve(doc, params);
    let properties = schema.get("properties").and_then(Value::as_object);
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    check_object(doc, &format!("{at}/params"), params, err);
    for p in &topic_params {
        let Some(property) = properties.and_then(|m| m.get(p)) else {
            err(format!("{at}/pattern"), format!("parameter {{{p}}} is not in params"));
            continue;
        };
        if !required.contains(&p.as_str()) {
            err(
                format!("{at}/pattern"),
                format!("parameter {{{p}}} must be required in params (every topic needs it)"),
            );
        }
        let property = resolve(doc, property);
        let plain = property.get("type").and_then(Value::as_str) == Some("string")
            && property.get("format").is_none()
            && property.get("enum").is_none();
        if !plain {
            err(
                format!("{at}/params/properties/{}", escape(p)),
                format!("parameter {{{p}}} is in the topic, so it must be a plain string (`type: string`, no format or enum)"),
            );
        }
    }
    Some(Join {
        name,
        pattern,
        topic_params,
        params: params.clone(),
        description: text(e, "description"),
    })
}

/// A params schema must describe a JSON object: a join and a message send one.
fn check_object(doc: &Value, at: &str, schema: &Value, err: &mut dyn FnMut(String, String)) {
    let schema = resolve(doc, schema);
    let object = schema.get("type").and_then(Value::as_str).is_none_or(|t| t == "object")
        && schema.is_object()
        && !["allOf", "anyOf", "oneOf"].iter().any(|k| schema.get(*k).is_some());
    if !object {
        err(at.to_owned(), "params must be an object schema (`type: object`)".into());
    }
}

/// A local `$ref`'s target (the schema itself otherwise, or when the reference dangles).
pub fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|r| doc.pointer(r))
        .unwrap_or(schema)
}

/// The key of a channel entry in coverage reports.
pub fn entry_key(channel: &str, kind: &str, name: &str) -> String {
    format!("{channel}/{kind}/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_come_from_the_spec_names() {
        assert_eq!(prefix("ApiChatChannel"), "Chat");
        assert_eq!(prefix("ApiActivityFeedChannel"), "ActivityFeed");
        assert_eq!(prefix("Apiary"), "Apiary");
        assert_eq!(prefix("Channel"), "Channel");
        assert_eq!(method_name("api:chat:post_message"), "post_message");
        assert_eq!(variant_name("message_added"), "MessageAdded");
        assert_eq!(component_name("Chat", "post_message", "Reply"), "ChatPostMessageReply");
    }

    #[test]
    fn problems_are_reported_with_pointers() {
        let string = json!({"type": "string"});
        let doc = json!({"x-channels": [
            {"name": "ApiChatChannel", "joins": [
                {"name": "join_thread", "pattern": "api:chat:{team_id}:{thread_id}",
                 "params": {"type": "object", "properties": {"thread_id": string}}},
                {"name": "join_thread", "pattern": "x", "params": {"type": "object"}}],
             "messages": [{"event": "api:chat:leave", "params": {"type": "object"}, "returns": {}},
                          {"event": "a:post", "params": {"type": "string"}, "returns": {}},
                          {"event": "b:post", "params": {}, "returns": {}}],
             "pushes": [{"event": "unknown", "payload": {}}, {"event": "x"}]},
            {"name": "Chat"}]});
        let errors = read("s.json", &doc).expect_err("invalid");
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        for want in [
            "s.json#/x-channels/0/joins/0/pattern: parameter {team_id} is not in params",
            "s.json#/x-channels/0/joins/0/pattern: parameter {thread_id} must be required",
            "s.json#/x-channels/0/joins/1/name: join `join_thread` is also defined at /x-channels/0/joins/0",
            "s.json#/x-channels/0/messages/0/event: event `api:chat:leave` gives the method name `leave`",
            "s.json#/x-channels/0/messages/1/params: params must be an object schema",
            "s.json#/x-channels/0/messages/2/event: event `b:post` gives the method name `post` of the message at /x-channels/0/messages/1",
            "s.json#/x-channels/0/pushes/0/event: event `unknown` gives the variant name `Unknown`",
            "s.json#/x-channels/0/pushes/1: a push needs `event` and `payload`",
            "s.json#/x-channels/1/name: channel `Chat` gets the Rust prefix `Chat`",
        ] {
            assert!(text.iter().any(|t| t.starts_with(want)), "missing {want:?} in {text:#?}");
        }
        assert_eq!(text.len(), 9, "{text:#?}");
    }

    #[test]
    fn a_valid_section_reads() {
        let doc = json!({"x-channels": [{"name": "ApiObjectChannel",
            "joins": [{"name": "join_by_id", "pattern": "api:object:{object_id}",
                       "params": {"type": "object", "required": ["object_id"], "properties": {"object_id": {"type": "string"}}}}],
            "messages": [{"event": "save", "params": {"type": "object"}, "returns": {"type": "object"}}],
            "pushes": [{"event": "object_updated", "payload": {"type": "object"}}]}]});
        let channels = read("s.json", &doc).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(channels[0].handle(), "ObjectChannel");
        assert_eq!(channels[0].push_enum(), "ObjectPush");
        assert_eq!(channels[0].joins[0].topic_params, ["object_id"]);
        assert_eq!(channels[0].entries(), 3);
        assert!(read("s.json", &json!({})).is_ok_and(|c| c.is_empty()));
    }
}
