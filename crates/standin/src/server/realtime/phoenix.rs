//! ArchAstro's channels over the Phoenix v2 serializer: every frame is a JSON array
//! `[join_ref, ref, topic, event, payload]`. Joins, leaves, heartbeats and the channels' client
//! events are answered with `phx_reply` frames matched by `ref`; replies are generated from the
//! spec's `returns` schemas, except that the chat channel stores posted messages and pushes them
//! to the topic's members.

use std::sync::Arc;

use serde_json::{json, Value};

use super::catalog::ChannelSpec;
use super::{ChannelFault, Heartbeats, Joined, SocketId};
use crate::data::Generator;
use crate::server::State;

/// The chat channel's events that store a message.
const POSTS: [&str; 2] = ["api:chat:post_message", "api:chat:post_simple_message"];
const CHAT_CHANNEL: &str = "ApiChatChannel";

/// What the socket does after a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    /// Drop the connection at once (a scripted fault).
    Drop,
}

/// One client frame.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Frame {
    pub(crate) join_ref: Option<String>,
    pub(crate) reference: Option<String>,
    /// `join_ref` and `ref` exactly as sent, echoed in replies as Phoenix does (an integer stays
    /// an integer).
    pub(crate) sent_refs: (Value, Value),
    pub(crate) topic: String,
    pub(crate) event: String,
    pub(crate) payload: Value,
}

/// A `join_ref` or `ref`: a string or null; numbers are taken as their text since some clients
/// count with them. Anything else makes the frame invalid.
fn reference(value: &Value) -> Option<Option<String>> {
    match value {
        Value::Null => Some(None),
        Value::String(s) => Some(Some(s.clone())),
        Value::Number(n) => Some(Some(n.to_string())),
        _ => None,
    }
}

/// Reads a v2 frame; `None` for anything else.
pub(crate) fn parse(text: &str) -> Option<Frame> {
    let value: Value = serde_json::from_str(text).ok()?;
    let [join_ref, reference_value, topic, event, payload] = <[Value; 5]>::try_from(value.as_array()?.clone()).ok()?;
    Some(Frame {
        join_ref: reference(&join_ref)?,
        reference: reference(&reference_value)?,
        sent_refs: (join_ref, reference_value),
        topic: topic.as_str()?.to_owned(),
        event: event.as_str()?.to_owned(),
        payload,
    })
}

fn generator(state: &State) -> Generator<'_> {
    Generator {
        doc: &state.spec.doc,
        seed: state.settings.seed,
    }
}

/// Answers `frame` with a `phx_reply`.
fn reply(state: &State, id: SocketId, frame: &Frame, ok: bool, response: Value) {
    if state.realtime.unmute(id, &frame.reference) {
        return;
    }
    let status = if ok { "ok" } else { "error" };
    let payload = json!({"status": status, "response": response});
    state.realtime.send(
        id,
        &json!([frame.sent_refs.0, frame.sent_refs.1, frame.topic, "phx_reply", payload]),
    );
}

fn refuse(state: &State, id: SocketId, frame: &Frame, reason: &str) {
    reply(state, id, frame, false, json!({"reason": reason}));
}

/// Whether `frame`'s payload fits `schema` (compiled once under `key`); if not, answers with
/// `invalid params` and the errors.
fn params_valid(state: &State, id: SocketId, frame: &Frame, key: &str, schema: &Value) -> bool {
    let errors = invalid(state, key, schema, &frame.payload);
    if errors.is_empty() {
        return true;
    }
    reply(
        state,
        id,
        frame,
        false,
        json!({"reason": "invalid params", "errors": errors}),
    );
    false
}

/// Validation errors of `payload` against `schema` (compiled once under `key`).
fn invalid(state: &State, key: &str, schema: &Value, payload: &Value) -> Vec<String> {
    state.validators.check(&state.spec.doc, key, schema, payload)
}

/// Handles one text frame from socket `id`. Never panics on what a client sends: frames that are
/// not v2 arrays are ignored.
pub(crate) fn on_text(state: &Arc<State>, id: SocketId, text: &str) -> Flow {
    let Some(frame) = parse(text) else {
        tracing::debug!(socket = id, "ignoring a frame that is not a Phoenix v2 array");
        return Flow::Continue;
    };
    let realtime = &state.realtime;
    let heartbeat = frame.topic == "phoenix" && frame.event == "heartbeat";
    if !heartbeat {
        realtime.log_frame(&frame.topic, &frame.event, &frame.payload);
    }
    match realtime.take_fault(&frame.event) {
        Some(ChannelFault::RateLimited { .. }) => {
            refuse(state, id, &frame, "rate_limited");
            return Flow::Continue;
        }
        Some(ChannelFault::Error { reason, .. }) => {
            refuse(state, id, &frame, &reason);
            return Flow::Continue;
        }
        Some(ChannelFault::NoReply { .. }) => return Flow::Continue,
        Some(ChannelFault::LoseReply { .. }) => state.realtime.mute(id, frame.reference.clone()),
        Some(ChannelFault::Drop { .. }) => return Flow::Drop,
        None => {}
    }
    if heartbeat {
        answer_heartbeat(state, id, frame);
        return Flow::Continue;
    }
    match frame.event.as_str() {
        "phx_join" => join(state, id, &frame),
        "phx_leave" => leave(state, id, &frame),
        _ => message(state, id, &frame),
    }
    Flow::Continue
}

fn answer_heartbeat(state: &Arc<State>, id: SocketId, frame: Frame) {
    match state.realtime.heartbeats() {
        Heartbeats::Answer => reply(state, id, &frame, true, json!({})),
        Heartbeats::Delay(delay) => {
            let state = Arc::clone(state);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                reply(&state, id, &frame, true, json!({}));
            });
        }
        Heartbeats::Ignore => {}
    }
}

fn join(state: &State, id: SocketId, frame: &Frame) {
    let Some(found) = state.realtime.catalog.match_topic(&frame.topic) else {
        refuse(state, id, frame, "unmatched topic");
        return;
    };
    let key = format!("channel join {}", found.join.pattern);
    if !params_valid(state, id, frame, &key, &found.join.params) {
        return;
    }
    let earlier = state.realtime.join(
        id,
        Joined {
            join_ref: frame.sent_refs.0.clone(),
            topic: frame.topic.clone(),
            channel: found.channel,
        },
    );
    if let Some(old) = earlier {
        // Phoenix closes the channel an earlier join of the same topic opened.
        state
            .realtime
            .send(id, &json!([old.join_ref, null, old.topic, "phx_close", {}]));
    }
    let answer = generator(state).value(&found.join.returns, 0);
    reply(state, id, frame, true, answer);
}

fn leave(state: &State, id: SocketId, frame: &Frame) {
    let Some(left) = state.realtime.leave(id, &frame.topic) else {
        refuse(state, id, frame, "unmatched topic");
        return;
    };
    reply(state, id, frame, true, json!({}));
    state
        .realtime
        .send(id, &json!([left.join_ref, null, left.topic, "phx_close", {}]));
}

fn message(state: &State, id: SocketId, frame: &Frame) {
    let catalog = &state.realtime.catalog;
    let Some(channel) = state
        .realtime
        .joined_on(id, &frame.topic)
        .and_then(|joined| catalog.channels.get(joined.channel))
    else {
        refuse(state, id, frame, "unmatched topic");
        return;
    };
    let Some(spec) = channel.message(&frame.event) else {
        refuse(state, id, frame, "unknown event");
        return;
    };
    let key = format!("channel {} message {}", channel.name, spec.event);
    if !params_valid(state, id, frame, &key, &spec.params) {
        return;
    }
    let mut answer = generator(state).value(&spec.returns, 0);
    if channel.name == CHAT_CHANNEL && POSTS.contains(&frame.event.as_str()) {
        let (stored, new) = store(state, &spec.returns, &frame.payload);
        if let Some(obj) = answer.as_object_mut() {
            obj.insert("message".into(), stored.clone());
        }
        reply(state, id, frame, true, answer);
        if new {
            let mut payload = push_payload(state, channel, &frame.topic, "message_added");
            if let Some(obj) = payload.as_object_mut() {
                obj.insert("message".into(), stored);
            }
            state.realtime.push(&frame.topic, "message_added", &payload);
        }
        return;
    }
    reply(state, id, frame, true, answer);
}

/// Stores a posted message (or finds the one stored under its idempotency key). The message is
/// generated from the reply's `message` schema (the spec's `Message` otherwise), with the posted
/// `content` and `idempotency_key`.
fn store(state: &State, returns: &Value, posted: &Value) -> (Value, bool) {
    let doc = &state.spec.doc;
    let schema = crate::spec::resolve(doc, returns)
        .pointer("/properties/message")
        .or_else(|| doc.pointer("/components/schemas/Message"))
        .cloned()
        .unwrap_or_else(|| json!({"type": "object"}));
    let key = posted.get("idempotency_key").and_then(Value::as_str);
    state.realtime.store_message(key, |n| {
        let mut message = generator(state).value(&schema, n);
        if let Some(obj) = message.as_object_mut() {
            if let Some(content) = posted.get("content") {
                obj.insert("content".into(), content.clone());
            }
            match key {
                Some(k) => obj.insert("idempotency_key".into(), json!(k)),
                None => obj.remove("idempotency_key"),
            };
        }
        message
    })
}

/// A payload for push `event` generated from its schema, with the topic's params (e.g.
/// `thread_id`) filled in where the payload has a string field of that name.
pub(crate) fn push_payload(state: &State, channel: &ChannelSpec, topic: &str, event: &str) -> Value {
    let mut payload = channel
        .push_schema(event)
        .map_or_else(|| json!({}), |schema| generator(state).value(schema, 0));
    let params = state
        .realtime
        .catalog
        .match_topic(topic)
        .map(|m| m.params)
        .unwrap_or_default();
    if let Some(obj) = payload.as_object_mut() {
        for (name, value) in params {
            if obj.get(&name).is_some_and(Value::is_string) {
                obj.insert(name, json!(value));
            }
        }
    }
    payload
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::realtime::Kind;
    use crate::{Api, Standin};
    use proptest::prelude::*;

    /// One stand-in state for every case: loading the spec is the slow part.
    fn archastro() -> Option<Arc<State>> {
        static STATE: std::sync::OnceLock<Option<Arc<State>>> = std::sync::OnceLock::new();
        STATE
            .get_or_init(|| {
                let spec = crate::spec::Spec::load(Api::ArchAstro).ok()?;
                Some(Arc::new(State::new(Standin::builder(Api::ArchAstro), spec)))
            })
            .clone()
    }

    #[test]
    fn frames_parse_only_as_five_element_arrays() {
        assert_eq!(
            parse(r#"["1","2","api:object:o","phx_join",{}]"#).map(|f| (f.join_ref, f.topic)),
            Some((Some("1".to_owned()), "api:object:o".to_owned()))
        );
        assert!(parse(r#"[null,3,"phoenix","heartbeat",{}]"#).is_some());
        assert!(parse(r#"["1","2","t","e"]"#).is_none());
        assert!(parse(r#"[{},"2","t","e",{}]"#).is_none());
        assert!(parse(r#"["1","2",7,"e",{}]"#).is_none());
        assert!(parse(r#"{"topic":"t"}"#).is_none());
        assert!(parse("not json").is_none());
    }

    /// The validator treats a schema it cannot compile as accepting everything, so each channel
    /// schema must refuse a plain string (they all describe objects).
    #[test]
    fn every_channel_schema_compiles() {
        let state = archastro().expect("spec");
        let catalog = &state.realtime.catalog;
        assert_eq!(catalog.channels.len(), 3);
        for channel in &catalog.channels {
            let joins = channel
                .joins
                .iter()
                .map(|j| (format!("channel join {}", j.pattern), &j.params));
            let messages = channel
                .messages
                .iter()
                .map(|m| (format!("channel {} message {}", channel.name, m.event), &m.params));
            for (key, schema) in joins.chain(messages) {
                assert!(!invalid(&state, &key, schema, &json!("x")).is_empty(), "{key}");
            }
        }
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            ".{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::hash_map(".{0,8}", inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn frame_like() -> impl Strategy<Value = String> {
        let topic = prop_oneof![
            Just("phoenix".to_owned()),
            Just("api:object:o1".to_owned()),
            Just("api:chat:user:thread:t1".to_owned()),
            Just("api:activity_feed:org:".to_owned()),
            ".{0,20}",
        ];
        let event = prop_oneof![
            Just("phx_join".to_owned()),
            Just("phx_leave".to_owned()),
            Just("heartbeat".to_owned()),
            Just("api:chat:post_message".to_owned()),
            Just("update_fields".to_owned()),
            ".{0,20}",
        ];
        (json_value(), json_value(), topic, event, json_value())
            .prop_map(|(j, r, t, e, p)| json!([j, r, t, e, p]).to_string())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn hostile_frames_never_panic(texts in prop::collection::vec(prop_oneof![".{0,64}", frame_like()], 1..8)) {
            let Some(state) = archastro() else { return Err(TestCaseError::fail("spec")) };
            let mut socket = state.realtime.register(Kind::Phoenix);
            for text in &texts {
                let _ = on_text(&state, socket.id, text);
                while socket.frames.try_recv().is_ok() {}
            }
            state.realtime.unregister(socket.id);
        }
    }
}
