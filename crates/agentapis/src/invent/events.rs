//! Invent's WebSocket event feeds: org chat events and org inbox events, as typed streams.

use std::pin::Pin;
use std::task::{Context, Poll};

use agentapis_runtime::realtime::{Feed, FeedConfig, RealtimeError, Reconnect, SocketAuth};
use futures::Stream;
use progenitor_client::ClientInfo as _;
use serde_json::Value;

use super::generated::types::Chat;
use super::Client;
use crate::Error;

/// Which org feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OrgFeed {
    /// `GET /orgs/{org_id}/chats/ws`: chat events.
    Chats,
    /// `GET /orgs/{org_id}/inbox/ws`: inbox events.
    Inbox,
}

impl OrgFeed {
    fn path(self, org: &str) -> String {
        let org = agentapis_runtime::encode_segment(org);
        match self {
            OrgFeed::Chats => format!("/orgs/{org}/chats/ws"),
            OrgFeed::Inbox => format!("/orgs/{org}/inbox/ws"),
        }
    }
}

/// One frame of an org feed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ChatEvent {
    /// A frame carrying a chat: `kind` is its `type` (e.g. `create`; inbox frames may have
    /// none).
    Chat {
        /// The frame's `type`, when it has one.
        kind: Option<String>,
        /// The chat.
        chat: Box<Chat>,
    },
    /// Any other frame (no `data`, or a `data` that is not a chat), kept as sent, so a frame the
    /// docs did not foresee is not lost.
    Raw(Value),
}

impl ChatEvent {
    /// Reads one frame.
    pub fn from_frame(frame: Value) -> Self {
        let chat = frame
            .get("data")
            .and_then(|data| serde_json::from_value::<Chat>(data.clone()).ok());
        match chat {
            Some(chat) => ChatEvent::Chat {
                kind: frame.get("type").and_then(Value::as_str).map(str::to_owned),
                chat: Box::new(chat),
            },
            None => ChatEvent::Raw(frame),
        }
    }
}

/// A typed org feed: a [`Stream`] of [`ChatEvent`]s that reconnects by itself (jittered
/// backoff). It ends after an error reconnecting cannot fix (refused credentials), which it
/// yields first. A consumer that falls behind loses the newest frames, counted by
/// [`ChatEvents::missed`]. Dropping it closes the connection.
#[derive(Debug)]
pub struct ChatEvents {
    feed: Feed,
}

impl ChatEvents {
    /// Frames dropped because the consumer fell behind.
    pub fn missed(&self) -> u64 {
        self.feed.missed()
    }
}

impl Stream for ChatEvents {
    type Item = Result<ChatEvent, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.feed)
            .poll_next(cx)
            .map(|frame| frame.map(|f| f.map(ChatEvent::from_frame).map_err(Error::from)))
    }
}

impl Client {
    /// The org's chat events (`/orgs/{org_id}/chats/ws`), with the default reconnect policy.
    ///
    /// ```no_run
    /// # async fn demo(client: agentapis::invent::Client) -> Result<(), agentapis::Error> {
    /// use futures::StreamExt as _;
    /// use agentapis::invent::events::ChatEvent;
    /// let mut events = client.chat_events()?;
    /// while let Some(event) = events.next().await {
    ///     if let ChatEvent::Chat { kind, chat } = event? {
    ///         println!("{kind:?}: chat {:?}", chat.id);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn chat_events(&self) -> Result<ChatEvents, Error> {
        self.events(OrgFeed::Chats, Reconnect::default())
    }

    /// The org's inbox events (`/orgs/{org_id}/inbox/ws`), with the default reconnect policy.
    pub fn inbox_events(&self) -> Result<ChatEvents, Error> {
        self.events(OrgFeed::Inbox, Reconnect::default())
    }

    /// Opens `feed` with `reconnect` as its policy (needs a Tokio runtime).
    pub fn events(&self, feed: OrgFeed, reconnect: Reconnect) -> Result<ChatEvents, Error> {
        let auth = SocketAuth::from_auth(self.generated().inner().auth()).ok_or(RealtimeError::NoToken)?;
        let config = FeedConfig::new(self.generated().baseurl(), &feed.path(self.org_id()), auth).reconnect(reconnect);
        Ok(ChatEvents {
            feed: Feed::open(config),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn frames_without_a_chat_are_kept_raw() {
        assert!(matches!(
            ChatEvent::from_frame(json!({"type": "ping"})),
            ChatEvent::Raw(_)
        ));
        assert!(matches!(
            ChatEvent::from_frame(json!({"type": "create", "data": 5})),
            ChatEvent::Raw(_)
        ));
    }

    #[test]
    fn org_ids_are_encoded_into_the_path() {
        assert_eq!(OrgFeed::Inbox.path("c"), "/orgs/c/inbox/ws");
        assert_eq!(OrgFeed::Chats.path("a b"), "/orgs/a%20b/chats/ws");
    }
}
