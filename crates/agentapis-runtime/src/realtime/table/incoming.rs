//! What the server sends: replies matched to their requests by `ref`, channel errors and
//! closes, and pushes handed to their channel's bounded stream.

use std::time::Instant;

use serde_json::Value;

use super::{close, requeue_or_fail, Outgoing, Pending, Table};
use crate::realtime::frame::Frame;
use crate::realtime::{Push, RealtimeError};

impl Table {
    /// Removes the socket's current credential from server text about to reach a caller.
    fn scrub(&self, value: &mut Value) {
        if let Some((_, token)) = self.config.auth.current() {
            let encoded = crate::realtime::connect::url_encoded(&token);
            crate::secret::scrub_value(value, &[token.expose(), &encoded]);
        }
    }

    pub(crate) fn frame(&mut self, frame: Frame) {
        match frame.event.as_str() {
            "phx_reply" => self.reply(frame),
            "phx_error" => {
                // The server-side channel crashed: rejoin it after a backoff, as a reconnect would.
                if !self.is_current(&frame) {
                    return;
                }
                self.requeue_in_flight(&frame.topic);
                let stable = self.config.heartbeat;
                if let Some(channel) = self.channels.get_mut(&frame.topic) {
                    tracing::warn!(target: "agentapis::realtime", topic = %frame.topic, "channel crashed: rejoining");
                    if channel.joined_at.take().is_some_and(|at| at.elapsed() >= stable) {
                        channel.crashes = 0;
                    }
                    let delay = self.config.reconnect.delay(channel.crashes);
                    channel.crashes = channel.crashes.saturating_add(1);
                    channel.joined = false;
                    channel.join_ref = None;
                    channel.rejoin_at = Some(Instant::now() + delay);
                }
            }
            "phx_close" => {
                if self.is_current(&frame) {
                    if let Some(channel) = self.channels.remove(&frame.topic) {
                        close(*channel, &frame.topic, None, "closed by the server");
                    }
                    self.fail_in_flight(&frame.topic);
                }
            }
            _ => self.deliver(frame),
        }
    }

    /// Whether `frame` belongs to the current join of its topic (not to an earlier one).
    pub(super) fn is_current(&self, frame: &Frame) -> bool {
        self.channels
            .get(&frame.topic)
            .is_some_and(|c| c.join_ref.is_some() && (frame.join_ref.is_none() || frame.join_ref == c.join_ref))
    }

    pub(super) fn take_in_flight(&mut self, topic: &str) -> Vec<(u64, Outgoing)> {
        let references: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, (p, _))| matches!(p, Pending::Push { topic: t, .. } if t == topic))
            .map(|(r, _)| r.clone())
            .collect();
        let mut taken: Vec<(u64, Outgoing)> = references
            .into_iter()
            .filter_map(|r| match self.pending.remove(&r) {
                Some((Pending::Push { out, .. }, _)) => Some((r.parse().unwrap_or(u64::MAX), out)),
                _ => None,
            })
            .collect();
        taken.sort_by_key(|(r, _)| std::cmp::Reverse(*r));
        taken
    }

    pub(super) fn requeue_in_flight(&mut self, topic: &str) {
        for (_, out) in self.take_in_flight(topic) {
            requeue_or_fail(self.channels.get_mut(topic).map(|c| &mut **c), topic, out);
        }
    }

    pub(super) fn fail_in_flight(&mut self, topic: &str) {
        for (_, out) in self.take_in_flight(topic) {
            out.waiter.answer(Err(RealtimeError::Closed {
                topic: topic.to_owned(),
            }));
        }
    }

    pub(super) fn deliver(&mut self, frame: Frame) {
        if !self.is_current(&frame) {
            return;
        }
        let Some(channel) = self.channels.get(&frame.topic) else {
            return;
        };
        let push = Push {
            event: frame.event,
            payload: frame.payload,
        };
        // The documented policy: a consumer that does not keep up loses the newest pushes,
        // counted, rather than stalling every channel of the socket.
        if !channel.inbox.offer(push) {
            tracing::debug!(target: "agentapis::realtime", topic = %frame.topic, "push dropped: consumer behind");
        }
    }

    pub(super) fn reply(&mut self, frame: Frame) {
        let Some(reference) = frame.reference.as_ref() else {
            return;
        };
        let answers = self
            .pending
            .get(reference)
            .is_some_and(|(pending, _)| pending.answered_by(&frame, reference));
        if !answers {
            tracing::debug!(target: "agentapis::realtime", topic = %frame.topic, "ignored a reply that answers nothing sent");
            return;
        }
        let Some((pending, _)) = self.pending.remove(reference) else {
            return;
        };
        let (ok, mut response) = frame.reply();
        if !ok {
            // A refusal or error reply can quote the token the socket opened with.
            self.scrub(&mut response);
        }
        match pending {
            Pending::Heartbeat => {
                if self.heartbeat.as_ref() == Some(reference) {
                    self.heartbeat = None;
                }
            }
            Pending::Leave { reply, .. } => {
                if let Some(reply) = reply {
                    let _ = reply.send(());
                }
            }
            Pending::Push { topic, out, .. } => {
                let result = if ok {
                    Ok(response)
                } else {
                    Err(RealtimeError::from_reply(&topic, &out.event, response))
                };
                out.waiter.answer(result);
            }
            Pending::Join { topic } => self.joined(&topic, reference, ok, response),
        }
    }

    pub(super) fn joined(&mut self, topic: &str, reference: &str, ok: bool, response: Value) {
        let Some(channel) = self.channels.get_mut(topic) else {
            return;
        };
        if channel.join_ref.as_deref() != Some(reference) {
            return; // an answer to an earlier join
        }
        if !ok {
            tracing::warn!(target: "agentapis::realtime", %topic, "join refused");
            if let Some(channel) = self.channels.remove(topic) {
                let error = RealtimeError::refused(topic, response);
                let reason = error.to_string();
                close(*channel, topic, Some(error), &reason);
            }
            return;
        }
        self.settled = true;
        channel.joined = true;
        channel.joined_at = Some(Instant::now());
        if let Some(waiter) = channel.waiter.take() {
            waiter.answer(Ok(response));
        }
        let queued = std::mem::take(&mut channel.queued);
        for out in queued {
            self.send_push(topic, out);
        }
    }
}
