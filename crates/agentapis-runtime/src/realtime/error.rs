//! What can go wrong on a realtime socket, as values a caller can act on.

use std::time::Duration;

use serde_json::Value;

/// A realtime failure. Error replies from the server are typed here, not connection failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RealtimeError {
    /// The server refused to join `topic` (an unknown topic, missing rights, bad params).
    #[error("joining {topic} was refused: {reason}")]
    Refused {
        /// The topic.
        topic: String,
        /// The server's `reason` (or the whole response when it has none).
        reason: String,
        /// The reply's `response` (boxed: errors stay small on the happy path).
        response: Box<Value>,
    },
    /// The server answered `rate_limited`: wait and send again.
    #[error("{event} on {topic} was rate limited")]
    RateLimited {
        /// The topic.
        topic: String,
        /// The event.
        event: String,
    },
    /// Any other error reply to a message.
    #[error("{event} on {topic} failed: {reason}")]
    Reply {
        /// The topic.
        topic: String,
        /// The event.
        event: String,
        /// The server's `reason` (or the whole response when it has none).
        reason: String,
        /// The reply's `response` (boxed: errors stay small on the happy path).
        response: Box<Value>,
    },
    /// The call's deadline passed. When `sent` is false the message never went out (it waited
    /// for the connection or the rejoin) and never will, so sending it again is safe; when it
    /// is true the server may or may not have applied it.
    #[error("{event} on {topic}: {} within {after:?}", if *.sent { "no reply" } else { "not sent (still waiting for the connection)" })]
    Timeout {
        /// The topic.
        topic: String,
        /// The event.
        event: String,
        /// The limit that passed.
        after: Duration,
        /// Whether the message had been sent.
        sent: bool,
    },
    /// The connection dropped after the message was sent and before its reply; it is not resent
    /// because it is not safe to send twice, so whether it took effect is unknown.
    #[error("the connection dropped before {event} on {topic} was answered; it may have been applied")]
    Disconnected {
        /// The topic.
        topic: String,
        /// The event.
        event: String,
    },
    /// More messages are waiting for a reconnect than the buffer holds.
    #[error("{capacity} messages already wait for the reconnect of {topic}")]
    BufferFull {
        /// The topic.
        topic: String,
        /// The buffer's capacity.
        capacity: usize,
    },
    /// The channel was closed (by the server, by [`super::Channel::leave`], or the socket shut
    /// down).
    #[error("the channel {topic} is closed")]
    Closed {
        /// The topic.
        topic: String,
    },
    /// This socket already holds a channel on `topic` (Phoenix allows one join per topic).
    #[error("this socket already holds a channel on {topic}")]
    AlreadyJoined {
        /// The topic.
        topic: String,
    },
    /// A topic parameter would not make a valid topic (empty, or contains `:`).
    #[error("topic parameter {name} {problem}")]
    InvalidTopic {
        /// The parameter.
        name: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The socket refused the credentials and a refresh did not help (or none is possible).
    #[error("the realtime socket refused the credentials (HTTP {status})")]
    Unauthorized {
        /// The upgrade's HTTP status.
        status: u16,
    },
    /// There is no bearer token to open the socket with.
    #[error("realtime needs a bearer token (sign in or configure one); an API key alone cannot open the socket")]
    NoToken,
    /// The socket could not be opened (never carries the token).
    #[error("could not open the realtime socket: {0}")]
    Connect(String),
    /// A reply or push did not decode into its type.
    #[error("the {event} payload did not decode: {message}")]
    Decode {
        /// The event.
        event: String,
        /// The decoder's message.
        message: String,
    },
    /// A value could not be encoded as JSON.
    #[error("the {event} params did not encode: {message}")]
    Encode {
        /// The event.
        event: String,
        /// The encoder's message.
        message: String,
    },
}

impl RealtimeError {
    /// Whether sending again later may succeed (rate limits, timeouts, lost connections, a full
    /// reconnect buffer).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            RealtimeError::RateLimited { .. }
                | RealtimeError::Timeout { .. }
                | RealtimeError::BufferFull { .. }
                | RealtimeError::Connect(_)
        )
    }

    /// The server's reason for an error reply (`rate_limited`, `unmatched topic`, ...).
    pub fn reason(&self) -> Option<&str> {
        match self {
            RealtimeError::Refused { reason, .. } | RealtimeError::Reply { reason, .. } => Some(reason),
            RealtimeError::RateLimited { .. } => Some("rate_limited"),
            _ => None,
        }
    }

    /// An error reply to `event` on `topic`, typed by its reason.
    pub(crate) fn from_reply(topic: &str, event: &str, response: Value) -> Self {
        let reason = reason_of(&response);
        if reason == "rate_limited" {
            return RealtimeError::RateLimited {
                topic: topic.to_owned(),
                event: event.to_owned(),
            };
        }
        RealtimeError::Reply {
            topic: topic.to_owned(),
            event: event.to_owned(),
            reason,
            response: Box::new(response),
        }
    }

    /// A refused join.
    pub(crate) fn refused(topic: &str, response: Value) -> Self {
        RealtimeError::Refused {
            topic: topic.to_owned(),
            reason: reason_of(&response),
            response: Box::new(response),
        }
    }
}

fn reason_of(response: &Value) -> String {
    response
        .get("reason")
        .and_then(Value::as_str)
        .map_or_else(|| response.to_string(), str::to_owned)
}
