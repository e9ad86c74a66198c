//! The realtime controls and observations on [`Running`], for tests that script a server's
//! pushes, restarts and misbehaviour.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::{feeds, phoenix, ChannelFault, Ending, Heartbeats};
use crate::Running;

impl Running {
    /// ArchAstro: pushes `event` with `payload` to every socket that joined `topic` (frame
    /// `[join_ref, null, topic, event, payload]`). Returns how many sockets it reached.
    pub fn push(&self, topic: &str, event: &str, payload: Value) -> usize {
        self.state.realtime.push(topic, event, &payload)
    }

    /// ArchAstro: like [`Running::push`], with a payload generated from the schema of push
    /// `event` of the channel whose join pattern `topic` matches (the topic's params, such as
    /// `thread_id`, filled in). Returns 0 when no channel has that topic and push.
    pub fn push_example(&self, topic: &str, event: &str) -> usize {
        let state = &self.state;
        let Some(found) = state.realtime.catalog.match_topic(topic) else {
            return 0;
        };
        let Some(channel) = state.realtime.catalog.channels.get(found.channel) else {
            return 0;
        };
        if channel.push_schema(event).is_none() {
            return 0;
        }
        let payload = phoenix::push_payload(state, channel, topic, event);
        state.realtime.push(topic, event, &payload)
    }

    /// Closes every open WebSocket (Phoenix sockets and feeds) with a "going away" close frame,
    /// as a server restart would; their joins are forgotten at once. Returns how many were open.
    pub fn disconnect_sockets(&self) -> usize {
        self.state
            .realtime
            .end_all(Ending::Close(CloseCode::Away, "server restarting"))
    }

    /// Answers every WebSocket upgrade with 503 (and `Retry-After`) for the next `for_`, as
    /// while a server restarts. Sockets already open stay open: pair it with
    /// [`Running::disconnect_sockets`].
    pub fn refuse_sockets(&self, for_: Duration) {
        self.state.realtime.refuse_for(for_);
    }

    /// ArchAstro: how Phoenix heartbeats are answered from now on.
    pub fn heartbeats(&self, mode: Heartbeats) {
        self.state.realtime.set_heartbeats(mode);
    }

    /// ArchAstro: scripts `fault` for the next frames of the client event `event` (such as
    /// `phx_join`, `heartbeat` or `api:chat:post_message`) on any topic.
    pub fn channel_fault(&self, event: &str, fault: ChannelFault) {
        self.state.realtime.set_fault(event, fault);
    }

    /// When each WebSocket upgrade was attempted, accepted or refused (the most recent 10 000).
    pub fn socket_connects(&self) -> Vec<Instant> {
        self.state.realtime.connects()
    }

    /// When each TCP connection (REST or WebSocket) was accepted, before any of it was read
    /// (the most recent 10 000): how a reconnecting crowd arrives, unsmoothed by the server's
    /// own handling.
    pub fn accepted_connections(&self) -> Vec<Instant> {
        self.state.realtime.accepts()
    }

    /// ArchAstro: the topics joined now, across all sockets (a topic joined on two sockets
    /// appears twice).
    pub fn joined(&self) -> Vec<String> {
        self.state.realtime.joined()
    }

    /// ArchAstro: `(topic, event, payload)` of every client frame except heartbeats, oldest first
    /// (the most recent 10 000), including frames refused or faulted.
    pub fn channel_frames(&self) -> Vec<(String, String, Value)> {
        self.state.realtime.frames()
    }

    /// ArchAstro: the chat messages stored by `api:chat:post_message` and
    /// `api:chat:post_simple_message`, oldest first; a resend with the same non-empty
    /// `idempotency_key` is not stored again.
    pub fn stored_messages(&self) -> Vec<Value> {
        self.state.realtime.messages()
    }

    /// Invent: sends `frame` as a JSON text frame to every socket open on `feed` (`"chats"` or
    /// `"inbox"`, any org). Returns how many sockets it reached.
    pub fn feed_push(&self, feed: &str, frame: Value) -> usize {
        self.state.realtime.feed_send(feed, &frame)
    }

    /// Invent: like [`Running::feed_push`] with `{"type": "create", "data": <chat>}`, the chat
    /// generated from the spec's schema.
    pub fn feed_example(&self, feed: &str) -> usize {
        let frame = feeds::example(&self.state, feed);
        self.state.realtime.feed_send(feed, &frame)
    }
}
