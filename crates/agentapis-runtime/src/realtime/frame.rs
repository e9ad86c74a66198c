//! Phoenix serializer v2 frames: `[join_ref, ref, topic, event, payload]` as a JSON array.

use serde_json::Value;

/// Frames larger than this are refused before parsing: the server controls them.
pub const MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;

/// One Phoenix v2 frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// The join this frame belongs to (`None` for socket-level frames and broadcasts).
    pub join_ref: Option<String>,
    /// The request reference a reply answers (`None` for server pushes).
    pub reference: Option<String>,
    /// The channel topic (`phoenix` for heartbeats).
    pub topic: String,
    /// The event name (`phx_join`, `phx_reply`, a message or push event).
    pub event: String,
    /// The payload (an object in practice).
    pub payload: Value,
}

/// Why a text frame is not a Phoenix v2 frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Longer than [`MAX_FRAME_BYTES`].
    #[error("frame of {0} bytes is over the {MAX_FRAME_BYTES}-byte limit")]
    TooLarge(usize),
    /// Not JSON.
    #[error("frame is not JSON: {0}")]
    Json(String),
    /// JSON, but not `[join_ref, ref, topic, event, payload]` with string-or-null refs.
    #[error("frame is not a [join_ref, ref, topic, event, payload] array")]
    Shape,
}

impl Frame {
    /// A client frame.
    pub fn new(join_ref: Option<String>, reference: Option<String>, topic: &str, event: &str, payload: Value) -> Self {
        Self {
            join_ref,
            reference,
            topic: topic.to_owned(),
            event: event.to_owned(),
            payload,
        }
    }

    /// The frame as the JSON text the socket sends.
    pub fn encode(&self) -> String {
        let reference = |r: &Option<String>| r.as_deref().map_or(Value::Null, Value::from);
        Value::Array(vec![
            reference(&self.join_ref),
            reference(&self.reference),
            Value::from(self.topic.as_str()),
            Value::from(self.event.as_str()),
            self.payload.clone(),
        ])
        .to_string()
    }

    /// Parses a text frame. Never panics; refuses oversized input before parsing it.
    pub fn decode(text: &str) -> Result<Self, FrameError> {
        if text.len() > MAX_FRAME_BYTES {
            return Err(FrameError::TooLarge(text.len()));
        }
        let value: Value = serde_json::from_str(text).map_err(|e| FrameError::Json(e.to_string()))?;
        let Value::Array(items) = value else {
            return Err(FrameError::Shape);
        };
        let Ok::<[Value; 5], _>([join_ref, reference, topic, event, payload]) = items.try_into() else {
            return Err(FrameError::Shape);
        };
        let optional = |v: Value| match v {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            // Some servers send numeric refs; they still match by their text.
            Value::Number(n) => Ok(Some(n.to_string())),
            _ => Err(FrameError::Shape),
        };
        let (Value::String(topic), Value::String(event)) = (topic, event) else {
            return Err(FrameError::Shape);
        };
        Ok(Self {
            join_ref: optional(join_ref)?,
            reference: optional(reference)?,
            topic,
            event,
            payload,
        })
    }

    /// For a `phx_reply`: whether its status is `ok`, and its `response`.
    pub fn reply(&self) -> (bool, Value) {
        let ok = self.payload.get("status").and_then(Value::as_str) == Some("ok");
        let response = self.payload.get("response").cloned().unwrap_or(Value::Null);
        (ok, response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn round_trips_a_join() {
        let frame = Frame::new(
            Some("1".into()),
            Some("1".into()),
            "api:chat:user:key:k",
            "phx_join",
            json!({"limit": 5}),
        );
        assert_eq!(
            frame.encode(),
            r#"["1","1","api:chat:user:key:k","phx_join",{"limit":5}]"#
        );
        assert_eq!(Frame::decode(&frame.encode()), Ok(frame));
    }

    #[test]
    fn reads_a_reply_and_a_push() {
        let reply =
            Frame::decode(r#"["1","2","t","phx_reply",{"status":"error","response":{"reason":"rate_limited"}}]"#)
                .expect("valid");
        assert_eq!(reply.reply(), (false, json!({"reason": "rate_limited"})));
        let push = Frame::decode(r#"[null,null,"t","message_added",{"message":{}}]"#).expect("valid");
        assert_eq!((push.join_ref, push.reference), (None, None));
    }

    #[test]
    fn refuses_other_shapes() {
        for text in [
            "{}",
            "[1,2,3]",
            r#"[null,null,5,"e",{}]"#,
            r#"[{},null,"t","e",{}]"#,
            "nope",
        ] {
            assert!(Frame::decode(text).is_err(), "{text}");
        }
        let huge = format!("[null,null,\"t\",\"e\",\"{}\"]", "x".repeat(MAX_FRAME_BYTES));
        assert!(matches!(Frame::decode(&huge), Err(FrameError::TooLarge(_))));
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            ".{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(".{0,6}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in ".{0,200}") {
            let _ = Frame::decode(&text);
        }

        #[test]
        fn arbitrary_json_never_panics(value in json_value()) {
            let _ = Frame::decode(&value.to_string());
        }

        #[test]
        fn encoded_frames_decode_to_themselves(
            join_ref in proptest::option::of("[0-9]{1,4}"),
            reference in proptest::option::of("[0-9]{1,4}"),
            topic in ".{0,30}",
            event in ".{0,20}",
            payload in json_value(),
        ) {
            let frame = Frame::new(join_ref, reference, &topic, &event, payload);
            prop_assert_eq!(Frame::decode(&frame.encode()), Ok(frame));
        }
    }
}
