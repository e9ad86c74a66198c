//! The channel table of one socket: which channels are held, which requests wait for a reply
//! (matched by `ref`), which messages wait for a (re)join. It reads commands and frames and
//! writes the frames to send into an outbox; the connection itself is [`super::driver`]'s.
//! What the handles ask is in [`commands`], what the server sends in [`incoming`].

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::oneshot;

use super::frame::Frame;
use super::inbox;
use super::waiter::Waiter;
use super::{RealtimeError, Resend, SocketConfig};

mod commands;
mod incoming;

pub(crate) use commands::Command;

/// A message waiting to be sent or answered.
struct Outgoing {
    event: String,
    payload: Value,
    resend: Resend,
    waiter: Waiter,
}

struct ChannelState {
    id: u64,
    payload: Value,
    /// The ref of the current join (sent or answered); `None` while not joined or joining.
    join_ref: Option<String>,
    joined: bool,
    /// The caller of the first join, answered once.
    waiter: Option<Waiter>,
    /// The handle's pushes and why the channel ended.
    inbox: inbox::Sender,
    /// Messages waiting for the (re)join, oldest first.
    queued: VecDeque<Outgoing>,
    /// After the server-side channel crashed: when to rejoin, and how many crashes in a row.
    rejoin_at: Option<Instant>,
    crashes: u32,
    /// When the current join was answered `ok`. The crash count starts over only after the
    /// channel stayed joined for a heartbeat period: a server that accepts every join and then
    /// crashes the channel would otherwise be rejoined at the first backoff step forever.
    joined_at: Option<Instant>,
}

/// A request waiting for its reply. A reply answers it only when its `ref`, topic and (when the
/// server sends one) `join_ref` all match what was sent, so a stray or stale reply with a reused
/// `ref` is not taken for the answer.
enum Pending {
    Join {
        topic: String,
    },
    Push {
        topic: String,
        join_ref: Option<String>,
        out: Outgoing,
    },
    Leave {
        topic: String,
        join_ref: String,
        reply: Option<oneshot::Sender<()>>,
    },
    Heartbeat,
}

impl Pending {
    /// Whether `frame` (a reply carrying this request's `ref`) is this request's answer.
    fn answered_by(&self, frame: &Frame, reference: &str) -> bool {
        let join_ref = frame.join_ref.as_deref();
        match self {
            Pending::Join { topic } => frame.topic == *topic && join_ref.is_none_or(|j| j == reference),
            Pending::Push {
                topic, join_ref: sent, ..
            } => frame.topic == *topic && (join_ref.is_none() || join_ref == sent.as_deref()),
            Pending::Leave {
                topic, join_ref: sent, ..
            } => frame.topic == *topic && join_ref.is_none_or(|j| j == sent),
            Pending::Heartbeat => frame.topic == "phoenix",
        }
    }
}

/// The heartbeat found the connection dead.
pub(crate) struct Dead;

pub(crate) struct Table {
    config: Arc<SocketConfig>,
    /// Boxed: the map keeps spare buckets as it grows (up to half of them empty), and an empty
    /// bucket then costs a pointer, not a whole channel's state.
    channels: HashMap<String, Box<ChannelState>>,
    /// Requests waiting for a reply, with when they were sent.
    pending: HashMap<String, (Pending, Instant)>,
    next_ref: u64,
    heartbeat: Option<String>,
    connected: bool,
    outbox: Vec<Frame>,
    /// A join was answered `ok` since the last connect (with the connection up for a heartbeat
    /// period, the reconnect backoff starts over).
    pub(crate) settled: bool,
}

impl Table {
    pub(crate) fn new(config: Arc<SocketConfig>) -> Self {
        Self {
            config,
            channels: HashMap::new(),
            pending: HashMap::new(),
            next_ref: 0,
            heartbeat: None,
            connected: false,
            outbox: Vec::new(),
            settled: false,
        }
    }

    pub(crate) fn has_channels(&self) -> bool {
        !self.channels.is_empty()
    }

    /// Nothing held and nothing to wait for: the connection can close.
    pub(crate) fn idle(&self) -> bool {
        self.channels.is_empty() && self.pending.values().all(|(p, _)| matches!(p, Pending::Heartbeat))
    }

    pub(crate) fn take_outbox(&mut self) -> Vec<Frame> {
        std::mem::take(&mut self.outbox)
    }

    fn reference(&mut self) -> String {
        self.next_ref = self.next_ref.wrapping_add(1);
        self.next_ref.to_string()
    }

    /// A new connection: join every channel held.
    pub(crate) fn connected(&mut self) {
        self.connected = true;
        self.settled = false;
        let topics: Vec<String> = self.channels.keys().cloned().collect();
        for topic in topics {
            self.send_join(&topic);
        }
    }

    /// Everything in flight is lost with the connection: joins are redone on the next one,
    /// messages safe to resend go back to the front of their queue, the others fail.
    pub(crate) fn disconnected(&mut self) {
        self.connected = false;
        self.heartbeat = None;
        self.outbox.clear();
        let mut lost: Vec<(u64, String, Outgoing)> = Vec::new();
        for (reference, (pending, _)) in self.pending.drain() {
            match pending {
                Pending::Push { topic, out, .. } => lost.push((reference.parse().unwrap_or(u64::MAX), topic, out)),
                Pending::Leave { reply: Some(reply), .. } => {
                    let _ = reply.send(());
                }
                _ => {}
            }
        }
        // Newest first, so pushing each to the front keeps the original order.
        lost.sort_by_key(|(reference, _, _)| std::cmp::Reverse(*reference));
        for (_, topic, out) in lost {
            requeue_or_fail(self.channels.get_mut(&topic).map(|c| &mut **c), &topic, out);
        }
        for channel in self.channels.values_mut() {
            channel.joined = false;
            channel.join_ref = None;
            channel.rejoin_at = None;
        }
    }

    /// Answers every join still waiting for its first reply with `error` (the channel is dropped).
    pub(crate) fn fail_waiters(&mut self, error: &RealtimeError) {
        let waiting: Vec<String> = self
            .channels
            .iter()
            .filter(|(_, c)| c.waiter.is_some())
            .map(|(t, _)| t.clone())
            .collect();
        for topic in waiting {
            if let Some(channel) = self.channels.remove(&topic) {
                close(*channel, &topic, Some(same_error(error, &topic)), &error.to_string());
            }
        }
    }

    fn send_join(&mut self, topic: &str) {
        let reference = self.reference();
        let Some(channel) = self.channels.get_mut(topic) else {
            return;
        };
        if channel.waiter.as_ref().is_some_and(|w| !w.claim_send()) {
            return; // its caller gave up before it went out; the handle's leave removes it
        }
        channel.join_ref = Some(reference.clone());
        channel.joined = false;
        channel.rejoin_at = None;
        let frame = Frame::new(
            Some(reference.clone()),
            Some(reference.clone()),
            topic,
            "phx_join",
            channel.payload.clone(),
        );
        self.pending.insert(
            reference,
            (
                Pending::Join {
                    topic: topic.to_owned(),
                },
                Instant::now(),
            ),
        );
        self.outbox.push(frame);
    }

    fn send_push(&mut self, topic: &str, out: Outgoing) {
        if !out.waiter.claim_send() {
            return; // its caller gave up: never send it late
        }
        let join_ref = self.channels.get(topic).and_then(|c| c.join_ref.clone());
        let reference = self.reference();
        let frame = Frame::new(
            join_ref,
            Some(reference.clone()),
            topic,
            &out.event,
            out.payload.clone(),
        );
        tracing::debug!(target: "agentapis::realtime", topic, event = %out.event, "push");
        let pending = Pending::Push {
            topic: topic.to_owned(),
            join_ref: frame.join_ref.clone(),
            out,
        };
        self.pending.insert(reference, (pending, Instant::now()));
        self.outbox.push(frame);
    }

    /// A heartbeat is due: `Err` when the previous one is still unanswered. Also forgets
    /// requests nobody waits for any more and redoes joins left unanswered past the timeout.
    pub(crate) fn heartbeat(&mut self) -> Result<(), Dead> {
        if self.heartbeat.is_some() {
            return Err(Dead);
        }
        let now = Instant::now();
        let timeout = self.config.timeout;
        let mut stale_joins = Vec::new();
        self.pending.retain(|_, (pending, sent)| {
            let expired = now.saturating_duration_since(*sent) > timeout;
            match pending {
                Pending::Push { out, .. } => !out.waiter.gave_up(),
                Pending::Join { topic } if expired => {
                    stale_joins.push(topic.clone());
                    false
                }
                Pending::Leave { .. } => !expired,
                _ => true,
            }
        });
        for topic in stale_joins {
            tracing::warn!(target: "agentapis::realtime", %topic, "join unanswered: joining again");
            self.send_join(&topic);
        }
        let reference = self.reference();
        self.heartbeat = Some(reference.clone());
        self.pending.insert(reference.clone(), (Pending::Heartbeat, now));
        self.outbox
            .push(Frame::new(None, Some(reference), "phoenix", "heartbeat", json!({})));
        Ok(())
    }

    /// The earliest rejoin of a crashed channel.
    pub(crate) fn next_rejoin(&self) -> Option<Instant> {
        self.channels.values().filter_map(|c| c.rejoin_at).min()
    }

    /// Rejoins the crashed channels whose wait is over.
    pub(crate) fn rejoin_due(&mut self) {
        let now = Instant::now();
        let due: Vec<String> = self
            .channels
            .iter()
            .filter(|(_, c)| c.rejoin_at.is_some_and(|at| at <= now))
            .map(|(t, _)| t.clone())
            .collect();
        for topic in due {
            self.send_join(&topic);
        }
    }
}

/// Ends a channel: its first-join waiter gets `error` (or `Closed`), its queue fails, its
/// handle can read `reason`, and its push stream ends (the sender is dropped).
fn close(mut channel: ChannelState, topic: &str, error: Option<RealtimeError>, reason: &str) {
    channel.inbox.set_reason(reason);
    if let Some(waiter) = channel.waiter.take() {
        let error = error.unwrap_or_else(|| RealtimeError::Closed {
            topic: topic.to_owned(),
        });
        waiter.answer(Err(error));
    }
    for out in channel.queued.drain(..) {
        out.waiter.answer(Err(RealtimeError::Closed {
            topic: topic.to_owned(),
        }));
    }
}

fn requeue_or_fail(channel: Option<&mut ChannelState>, topic: &str, out: Outgoing) {
    match channel {
        Some(channel) if out.resend.is_safe() && !out.waiter.gave_up() => channel.queued.push_front(out),
        _ => {
            out.waiter.answer(Err(RealtimeError::Disconnected {
                topic: topic.to_owned(),
                event: out.event,
            }));
        }
    }
}

/// `error` for another topic's waiter (errors are not `Clone`: they may hold responses).
fn same_error(error: &RealtimeError, topic: &str) -> RealtimeError {
    match error {
        RealtimeError::Unauthorized { status } => RealtimeError::Unauthorized { status: *status },
        RealtimeError::NoToken => RealtimeError::NoToken,
        RealtimeError::Connect(message) => RealtimeError::Connect(message.clone()),
        _ => RealtimeError::Closed {
            topic: topic.to_owned(),
        },
    }
}

/// `config` values that would panic or spin, made safe.
pub(crate) fn sane(mut config: SocketConfig) -> SocketConfig {
    let at_least = |d: Duration, min: u64| d.max(Duration::from_millis(min));
    let at_most = |d: Duration| d.min(Duration::from_secs(24 * 3600));
    config.heartbeat = at_most(at_least(config.heartbeat, 10));
    config.timeout = at_most(at_least(config.timeout, 1));
    config.connect_timeout = at_most(at_least(config.connect_timeout, 1));
    config.push_buffer = config.push_buffer.max(1);
    config
}
