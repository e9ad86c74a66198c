//! Arguments refused before anything was sent.

use agentapis_runtime::paging::{Direction, Paging, Position};

/// An argument was refused before anything was sent. Messages quote what the caller passed
/// (never a credential: none is an argument).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArgumentError {
    /// The generated builder could not build the request (e.g. a required parameter was not
    /// set); the builder's own message.
    #[error("the request could not be built: {0}")]
    Request(String),
    /// A path parameter would have changed the route (empty, `.`, `..`, or holding `\`).
    #[error("a path parameter of {operation} ({template}) is empty, \".\", \"..\" or holds a backslash, which would change the route")]
    PathParameter {
        /// The operation.
        operation: &'static str,
        /// Its path template.
        template: &'static str,
    },
    /// A value meant for one path segment is empty or holds `/`.
    #[error("{what} {value:?} is not one path segment")]
    NotASegment {
        /// What the value is (`agent id or lookup key`).
        what: &'static str,
        /// The value (cut to 100 characters).
        value: String,
    },
    /// A message with no text.
    #[error("message text is empty")]
    EmptyText,
    /// An Agentiv run or schedule input that is not a JSON object.
    #[error("agent input must be a JSON object, not {0}")]
    InputNotAnObject(&'static str),
    /// An input that does not serialize.
    #[error("agent input does not serialize: {0}")]
    InputNotSerializable(String),
    /// A cron expression that is not five valid fields.
    #[error("cron expression {expression:?}: {reason}")]
    Cron {
        /// The expression.
        expression: String,
        /// Why it is refused.
        reason: String,
    },
    /// Not an IANA time zone name.
    #[error("{0:?} is not an IANA time zone (e.g. Europe/Paris)")]
    TimeZone(String),
    /// A page size of zero or above the documented maximum.
    #[error("page size {size} {}", max.map_or("must be at least 1".to_owned(), |m| format!("is not between 1 and {m}")))]
    PageSize {
        /// The size asked for.
        size: u64,
        /// The documented maximum, if any.
        max: Option<u64>,
    },
    /// A start position or direction that the operation's paging cannot take.
    #[error("position {position} / direction {direction:?} does not fit this operation's paging ({paging:?})")]
    Position {
        /// The start position.
        position: Position,
        /// The direction.
        direction: Direction,
        /// How the operation pages.
        paging: Paging,
    },
}
