//! What the handles ask of the connection task: join, push, leave, shut down.

use std::collections::VecDeque;
use std::time::Instant;

use serde_json::{json, Value};
use tokio::sync::oneshot;

use super::{close, ChannelState, Outgoing, Pending, Table};
use crate::realtime::frame::Frame;
use crate::realtime::inbox;
use crate::realtime::waiter::Waiter;
use crate::realtime::{RealtimeError, Resend};

/// What the handles ask of the connection task. `id` names one join of a topic, so a stale
/// handle (an earlier join of the same topic) cannot act on a newer one.
pub(crate) enum Command {
    Join {
        topic: String,
        id: u64,
        payload: Value,
        inbox: inbox::Sender,
        waiter: Waiter,
    },
    Push {
        topic: String,
        id: u64,
        event: String,
        payload: Value,
        resend: Resend,
        waiter: Waiter,
    },
    Leave {
        topic: String,
        id: u64,
        reply: Option<oneshot::Sender<()>>,
    },
    Shutdown,
}

impl Table {
    pub(crate) fn command(&mut self, command: Command) {
        match command {
            Command::Join {
                topic,
                id,
                payload,
                inbox,
                waiter,
            } => self.join(topic, id, payload, inbox, waiter),
            Command::Push {
                topic,
                id,
                event,
                payload,
                resend,
                waiter,
            } => {
                let out = Outgoing {
                    event,
                    payload,
                    resend,
                    waiter,
                };
                self.push(topic, id, out);
            }
            Command::Leave { topic, id, reply } => self.leave(topic, id, reply),
            Command::Shutdown => {}
        }
    }

    /// A new channel: held from now on, joined now or on the next connection.
    fn join(&mut self, topic: String, id: u64, payload: Value, inbox: inbox::Sender, waiter: Waiter) {
        if self.channels.contains_key(&topic) {
            waiter.answer(Err(RealtimeError::AlreadyJoined { topic }));
            return;
        }
        let state = ChannelState {
            id,
            payload,
            join_ref: None,
            joined: false,
            waiter: Some(waiter),
            inbox,
            queued: VecDeque::new(),
            rejoin_at: None,
            crashes: 0,
            joined_at: None,
        };
        self.channels.insert(topic.clone(), Box::new(state));
        if self.connected {
            self.send_join(&topic);
        }
    }

    /// A message: sent now when the channel is joined, else queued (up to the resend buffer).
    fn push(&mut self, topic: String, id: u64, out: Outgoing) {
        let connected = self.connected;
        let capacity = self.config.resend_buffer;
        let Some(channel) = self.channels.get_mut(&topic).filter(|c| c.id == id) else {
            out.waiter.answer(Err(RealtimeError::Closed { topic }));
            return;
        };
        if connected && channel.joined {
            self.send_push(&topic, out);
            return;
        }
        // Callers that gave up free their place.
        channel.queued.retain(|o| !o.waiter.gave_up());
        if channel.queued.len() >= capacity {
            out.waiter.answer(Err(RealtimeError::BufferFull { topic, capacity }));
        } else {
            channel.queued.push_back(out);
        }
    }

    /// A leave: the channel ends here, and the server is told when it knows the join.
    fn leave(&mut self, topic: String, id: u64, reply: Option<oneshot::Sender<()>>) {
        let held = self.channels.get(&topic).is_some_and(|c| c.id == id);
        let Some(channel) = held.then(|| self.channels.remove(&topic)).flatten() else {
            if let Some(reply) = reply {
                let _ = reply.send(());
            }
            return;
        };
        let join_ref = channel.join_ref.clone();
        close(*channel, &topic, None, "left");
        self.fail_in_flight(&topic);
        match join_ref.filter(|_| self.connected) {
            Some(join_ref) => {
                let reference = self.reference();
                let pending = Pending::Leave {
                    topic: topic.clone(),
                    join_ref: join_ref.clone(),
                    reply,
                };
                self.pending.insert(reference.clone(), (pending, Instant::now()));
                let frame = Frame::new(Some(join_ref), Some(reference), &topic, "phx_leave", json!({}));
                self.outbox.push(frame);
            }
            None => {
                if let Some(reply) = reply {
                    let _ = reply.send(());
                }
            }
        }
    }
}
