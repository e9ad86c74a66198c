//! The channel table of one socket: which channels are held, which requests wait for a reply
//! (matched by `ref`), which messages wait for a (re)join. It reads commands and frames and
//! writes the frames to send into an outbox; the connection itself is [`super::driver`]'s.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

use super::frame::Frame;
use super::{Push, RealtimeError, Resend, SocketConfig};

pub(crate) type Reply = oneshot::Sender<Result<Value, RealtimeError>>;

/// What the handles ask of the connection task. `id` names one join of a topic, so a stale
/// handle (an earlier join of the same topic) cannot act on a newer one.
pub(crate) enum Command {
    Join {
        topic: String,
        id: u64,
        payload: Value,
        pushes: mpsc::Sender<Push>,
        missed: Arc<AtomicU64>,
        closed: Arc<OnceLock<String>>,
        reply: Reply,
    },
    Push {
        topic: String,
        id: u64,
        event: String,
        payload: Value,
        resend: Resend,
        reply: Reply,
    },
    Leave {
        topic: String,
        id: u64,
        reply: Option<oneshot::Sender<()>>,
    },
    Shutdown,
}

/// A message waiting to be sent or answered.
struct Outgoing {
    event: String,
    payload: Value,
    resend: Resend,
    reply: Reply,
}

struct ChannelState {
    id: u64,
    payload: Value,
    /// The ref of the current join (sent or answered); `None` while not joined or joining.
    join_ref: Option<String>,
    joined: bool,
    /// The caller of the first join, answered once.
    waiter: Option<Reply>,
    pushes: mpsc::Sender<Push>,
    missed: Arc<AtomicU64>,
    /// Why the channel ended, for its handle.
    closed: Arc<OnceLock<String>>,
    /// Messages waiting for the (re)join, oldest first.
    queued: VecDeque<Outgoing>,
    /// After the server-side channel crashed: when to rejoin, and how many crashes in a row.
    rejoin_at: Option<Instant>,
    crashes: u32,
}

enum Pending {
    Join { topic: String },
    Push { topic: String, out: Outgoing },
    Leave { reply: Option<oneshot::Sender<()>> },
    Heartbeat,
}

/// The heartbeat found the connection dead.
pub(crate) struct Dead;

pub(crate) struct Table {
    config: Arc<SocketConfig>,
    channels: HashMap<String, ChannelState>,
    /// Requests waiting for a reply, with when they were sent.
    pending: HashMap<String, (Pending, Instant)>,
    next_ref: u64,
    heartbeat: Option<String>,
    connected: bool,
    outbox: Vec<Frame>,
    /// A join was answered `ok` since the last connect (the reconnect backoff starts over).
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
                Pending::Push { topic, out } => lost.push((reference.parse().unwrap_or(u64::MAX), topic, out)),
                Pending::Leave { reply: Some(reply) } => {
                    let _ = reply.send(());
                }
                _ => {}
            }
        }
        // Newest first, so pushing each to the front keeps the original order.
        lost.sort_by_key(|(reference, _, _)| std::cmp::Reverse(*reference));
        for (_, topic, out) in lost {
            requeue_or_fail(self.channels.get_mut(&topic), &topic, out);
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
                close(channel, &topic, Some(same_error(error, &topic)), &error.to_string());
            }
        }
    }

    fn send_join(&mut self, topic: &str) {
        let reference = self.reference();
        let Some(channel) = self.channels.get_mut(topic) else {
            return;
        };
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
        if out.reply.is_closed() {
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
            out,
        };
        self.pending.insert(reference, (pending, Instant::now()));
        self.outbox.push(frame);
    }

    pub(crate) fn command(&mut self, command: Command) {
        match command {
            Command::Join {
                topic,
                id,
                payload,
                pushes,
                missed,
                closed,
                reply,
            } => {
                if self.channels.contains_key(&topic) {
                    let _ = reply.send(Err(RealtimeError::AlreadyJoined { topic }));
                    return;
                }
                let state = ChannelState {
                    id,
                    payload,
                    join_ref: None,
                    joined: false,
                    waiter: Some(reply),
                    pushes,
                    missed,
                    closed,
                    queued: VecDeque::new(),
                    rejoin_at: None,
                    crashes: 0,
                };
                self.channels.insert(topic.clone(), state);
                if self.connected {
                    self.send_join(&topic);
                }
            }
            Command::Push {
                topic,
                id,
                event,
                payload,
                resend,
                reply,
            } => {
                let out = Outgoing {
                    event,
                    payload,
                    resend,
                    reply,
                };
                let connected = self.connected;
                let capacity = self.config.resend_buffer;
                let Some(channel) = self.channels.get_mut(&topic).filter(|c| c.id == id) else {
                    let _ = out.reply.send(Err(RealtimeError::Closed { topic }));
                    return;
                };
                if connected && channel.joined {
                    self.send_push(&topic, out);
                    return;
                }
                // Callers that gave up free their place.
                channel.queued.retain(|o| !o.reply.is_closed());
                if channel.queued.len() >= capacity {
                    let _ = out.reply.send(Err(RealtimeError::BufferFull { topic, capacity }));
                } else {
                    channel.queued.push_back(out);
                }
            }
            Command::Leave { topic, id, reply } => {
                let held = self.channels.get(&topic).is_some_and(|c| c.id == id);
                let Some(channel) = held.then(|| self.channels.remove(&topic)).flatten() else {
                    if let Some(reply) = reply {
                        let _ = reply.send(());
                    }
                    return;
                };
                let join_ref = channel.join_ref.clone();
                close(channel, &topic, None, "left");
                self.fail_in_flight(&topic);
                match join_ref.filter(|_| self.connected) {
                    Some(join_ref) => {
                        let reference = self.reference();
                        self.pending
                            .insert(reference.clone(), (Pending::Leave { reply }, Instant::now()));
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
            Command::Shutdown => {}
        }
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
                Pending::Push { out, .. } => !out.reply.is_closed(),
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

    pub(crate) fn frame(&mut self, frame: Frame) {
        match frame.event.as_str() {
            "phx_reply" => self.reply(frame),
            "phx_error" => {
                // The server-side channel crashed: rejoin it after a backoff, as a reconnect would.
                if !self.is_current(&frame) {
                    return;
                }
                self.requeue_in_flight(&frame.topic);
                if let Some(channel) = self.channels.get_mut(&frame.topic) {
                    tracing::warn!(target: "agentapis::realtime", topic = %frame.topic, "channel crashed: rejoining");
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
                        close(channel, &frame.topic, None, "closed by the server");
                    }
                    self.fail_in_flight(&frame.topic);
                }
            }
            _ => self.deliver(frame),
        }
    }

    /// Whether `frame` belongs to the current join of its topic (not to an earlier one).
    fn is_current(&self, frame: &Frame) -> bool {
        self.channels
            .get(&frame.topic)
            .is_some_and(|c| c.join_ref.is_some() && (frame.join_ref.is_none() || frame.join_ref == c.join_ref))
    }

    fn take_in_flight(&mut self, topic: &str) -> Vec<(u64, Outgoing)> {
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

    fn requeue_in_flight(&mut self, topic: &str) {
        for (_, out) in self.take_in_flight(topic) {
            requeue_or_fail(self.channels.get_mut(topic), topic, out);
        }
    }

    fn fail_in_flight(&mut self, topic: &str) {
        for (_, out) in self.take_in_flight(topic) {
            let _ = out.reply.send(Err(RealtimeError::Closed {
                topic: topic.to_owned(),
            }));
        }
    }

    fn deliver(&mut self, frame: Frame) {
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
        if let Err(mpsc::error::TrySendError::Full(push)) = channel.pushes.try_send(push) {
            // The documented policy: a consumer that does not keep up loses the newest pushes,
            // counted, rather than stalling every channel of the socket.
            channel.missed.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(target: "agentapis::realtime", topic = %frame.topic, event = %push.event, "push dropped: consumer behind");
        }
    }

    fn reply(&mut self, frame: Frame) {
        let Some(reference) = frame.reference.as_ref() else {
            return;
        };
        let Some((pending, _)) = self.pending.remove(reference) else {
            return;
        };
        let (ok, response) = frame.reply();
        match pending {
            Pending::Heartbeat => {
                if self.heartbeat.as_ref() == Some(reference) {
                    self.heartbeat = None;
                }
            }
            Pending::Leave { reply } => {
                if let Some(reply) = reply {
                    let _ = reply.send(());
                }
            }
            Pending::Push { topic, out } => {
                let result = if ok {
                    Ok(response)
                } else {
                    Err(RealtimeError::from_reply(&topic, &out.event, response))
                };
                let _ = out.reply.send(result);
            }
            Pending::Join { topic } => self.joined(&topic, reference, ok, response),
        }
    }

    fn joined(&mut self, topic: &str, reference: &str, ok: bool, response: Value) {
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
                close(channel, topic, Some(error), &reason);
            }
            return;
        }
        self.settled = true;
        channel.joined = true;
        channel.crashes = 0;
        if let Some(waiter) = channel.waiter.take() {
            let _ = waiter.send(Ok(response));
        }
        let queued = std::mem::take(&mut channel.queued);
        for out in queued {
            self.send_push(topic, out);
        }
    }
}

/// Ends a channel: its first-join waiter gets `error` (or `Closed`), its queue fails, its
/// handle can read `reason`, and its push stream ends (the sender is dropped).
fn close(mut channel: ChannelState, topic: &str, error: Option<RealtimeError>, reason: &str) {
    let _ = channel.closed.set(reason.to_owned());
    if let Some(waiter) = channel.waiter.take() {
        let error = error.unwrap_or_else(|| RealtimeError::Closed {
            topic: topic.to_owned(),
        });
        let _ = waiter.send(Err(error));
    }
    for out in channel.queued.drain(..) {
        let _ = out.reply.send(Err(RealtimeError::Closed {
            topic: topic.to_owned(),
        }));
    }
}

fn requeue_or_fail(channel: Option<&mut ChannelState>, topic: &str, out: Outgoing) {
    match channel {
        Some(channel) if out.resend.is_safe() && !out.reply.is_closed() => channel.queued.push_front(out),
        _ => {
            let _ = out.reply.send(Err(RealtimeError::Disconnected {
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
