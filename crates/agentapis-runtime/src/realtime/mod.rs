//! Realtime: Phoenix v2 channels ([`Socket`], [`Channel`]) and plain JSON feeds ([`Feed`]) over
//! WebSockets (tokio-tungstenite, TLS by rustls).
//!
//! What a socket does for its channels:
//! - one connection multiplexes every channel; replies are matched to requests by `ref`, so
//!   pushes interleaved with replies go to the right place;
//! - it authenticates with the client's current bearer token, refreshed through the client's
//!   [`crate::TokenStore`] when the socket refuses it, before reconnecting;
//! - heartbeats find a dead connection (one unanswered by the next beat), which is replaced;
//! - reconnects wait per [`Reconnect`] (exponential backoff with full jitter by default, so many
//!   clients dropped together do not come back together) and rejoin every channel still held;
//! - messages sent while disconnected wait in a bounded buffer and go out after the rejoin;
//!   a message in flight when the connection drops is sent again only if marked
//!   [`Resend::Safe`] (the generated chat `post_message` carries an idempotency key for this),
//!   otherwise its caller gets [`RealtimeError::Disconnected`];
//! - error replies are typed ([`RealtimeError::RateLimited`], [`RealtimeError::Reply`],
//!   [`RealtimeError::Refused`]), never mistaken for connection failures;
//! - each channel's pushes are a bounded stream; a consumer that falls behind loses the newest
//!   pushes, counted by [`Channel::missed`], and never stalls the socket or grows memory;
//! - dropping a [`Channel`] leaves its topic; dropping every handle closes the connection.
//!
//! Everything is traced under the `agentapis::realtime` target, without tokens. (The
//! WebSocket library below logs whole handshake requests, token included, at `trace` level
//! of the `log` facade under `tungstenite`: keep that target below `trace` where logs are kept.)
//!
//! ```no_run
//! # async fn demo() -> Result<(), agentapis_runtime::realtime::RealtimeError> {
//! use agentapis_runtime::realtime::{Resend, Socket, SocketAuth, SocketConfig};
//! use agentapis_runtime::Secret;
//! let socket = Socket::new(SocketConfig::new("https://platform.archastro.ai", SocketAuth::Static(Secret::new("token"))));
//! let mut chat = socket.join("api:chat:user:key:support".into(), serde_json::json!({})).await?;
//! chat.push("api:chat:list_messages", serde_json::json!({}), Resend::Never).await?;
//! while let Some(push) = chat.next_push().await {
//!     println!("{}: {}", push.event, push.payload);
//! }
//! # Ok(()) }
//! ```

mod backoff;
mod connect;
mod driver;
mod error;
mod feed;
pub mod frame;
mod inbox;
mod socket;
mod table;
mod waiter;

pub use backoff::Reconnect;
pub use connect::SocketAuth;
pub use error::RealtimeError;
pub use feed::{Feed, FeedConfig};
pub use socket::{Channel, Socket, SocketConfig};

use serde_json::Value;

/// A server push on a channel.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Push {
    /// The event name.
    pub event: String,
    /// Its payload.
    pub payload: Value,
}

/// Whether a message may be sent again when its reply was lost with the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resend {
    /// Sending it twice has the effect of sending it once (it carries an idempotency key).
    Safe,
    /// It must not be sent twice: a lost reply ends in [`RealtimeError::Disconnected`].
    Never,
}

/// Builds a topic from its `pattern` (`api:chat:team:{team_id}:thread:{thread_id}`) and the
/// values of its parameters. A value that could address another topic or is no id at all is
/// refused, as the REST path check refuses it: empty, `:` (the separator), `/`, `..`, blanks and
/// control characters (NUL among them).
pub fn topic(pattern: &str, params: &[(&str, &str)]) -> Result<String, RealtimeError> {
    let mut topic = String::with_capacity(pattern.len() + 32);
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        let (literal, after) = rest.split_at(open);
        topic.push_str(literal);
        let Some(close) = after.find('}') else {
            topic.push_str(after);
            return Ok(topic);
        };
        let name = after.get(1..close).unwrap_or_default();
        let value = params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| invalid(name, "is missing"))?;
        if value.is_empty() {
            return Err(invalid(name, "is empty"));
        }
        if let Some(problem) = segment_problem(value) {
            return Err(invalid(name, problem));
        }
        topic.push_str(value);
        rest = after.get(close + 1..).unwrap_or_default();
    }
    topic.push_str(rest);
    Ok(topic)
}

/// Why `value` cannot be one segment of a topic, if it cannot.
fn segment_problem(value: &str) -> Option<&'static str> {
    if value.contains(':') {
        Some("contains ':' (a topic separator)")
    } else if value.contains('/') {
        Some("contains '/'")
    } else if value.contains("..") {
        Some("contains '..'")
    } else if value.chars().any(char::is_control) {
        Some("contains a control character")
    } else if value.chars().any(char::is_whitespace) {
        Some("contains a blank")
    } else {
        None
    }
}

fn invalid(name: &str, problem: &'static str) -> RealtimeError {
    RealtimeError::InvalidTopic {
        name: name.to_owned(),
        problem,
    }
}

/// A fresh idempotency key: 128 random bits, hex.
pub fn idempotency_key() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Decodes a reply or push payload of `event` into `T`.
pub fn decode<T: serde::de::DeserializeOwned>(event: &str, value: Value) -> Result<T, RealtimeError> {
    serde_json::from_value(value).map_err(|e| RealtimeError::Decode {
        event: event.to_owned(),
        message: e.to_string(),
    })
}

/// Encodes the params of `event` as a JSON value.
pub fn encode<T: serde::Serialize>(event: &str, params: &T) -> Result<Value, RealtimeError> {
    serde_json::to_value(params).map_err(|e| RealtimeError::Encode {
        event: event.to_owned(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn topics_are_built_from_their_params() {
        let pattern = "api:chat:team:{team_id}:thread:{thread_id}";
        assert_eq!(
            topic(pattern, &[("thread_id", "th_1"), ("team_id", "tm_1")])
                .ok()
                .as_deref(),
            Some("api:chat:team:tm_1:thread:th_1")
        );
        assert!(matches!(
            topic(pattern, &[("team_id", "t")]),
            Err(RealtimeError::InvalidTopic { .. })
        ));
        assert!(topic(pattern, &[("team_id", "t:x"), ("thread_id", "1")]).is_err());
        assert!(topic(pattern, &[("team_id", ""), ("thread_id", "1")]).is_err());
    }

    #[test]
    fn a_value_that_is_no_topic_segment_is_refused_by_name() {
        let pattern = "api:object:{schema_type}:{row_key}";
        for (bad, problem) in [
            ("..", "contains '..'"),
            ("a/b", "contains '/'"),
            ("a\0b", "contains a control character"),
            ("a b", "contains a blank"),
            ("\t", "contains a control character"),
            ("a\u{a0}b", "contains a blank"),
        ] {
            match topic(pattern, &[("schema_type", "agent"), ("row_key", bad)]) {
                Err(RealtimeError::InvalidTopic { name, problem: p }) => {
                    assert_eq!((name.as_str(), p), ("row_key", problem), "{bad:?}");
                }
                other => panic!("{bad:?} was accepted: {other:?}"),
            }
        }
        assert!(topic(pattern, &[("schema_type", "agent"), ("row_key", "ag_1.v2-x_y")]).is_ok());
    }

    #[test]
    fn idempotency_keys_differ() {
        assert_ne!(idempotency_key(), idempotency_key());
        assert_eq!(idempotency_key().len(), 32);
    }

    proptest! {
        #[test]
        fn a_built_topic_has_exactly_the_patterns_separators(a in ".{0,12}", b in ".{0,12}") {
            let pattern = "api:object:{schema_type}:{row_key}";
            if let Ok(t) = topic(pattern, &[("schema_type", &a), ("row_key", &b)]) {
                prop_assert_eq!(t.matches(':').count(), 3);
                prop_assert!(!t.contains("..") && !t.contains('/') && !t.chars().any(|c| c.is_control() || c.is_whitespace()));
                prop_assert_eq!(t, format!("api:object:{a}:{b}"));
            }
        }

        #[test]
        fn any_pattern_and_values_never_panic(pattern in ".{0,40}", value in ".{0,8}") {
            let _ = topic(&pattern, &[("x", &value), ("", &value)]);
        }
    }
}
