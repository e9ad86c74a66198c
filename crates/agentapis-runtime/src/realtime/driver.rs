//! The task that owns a socket's connection: connects, joins, matches replies to requests by
//! `ref`, beats the heart, and after a loss reconnects, rejoins and resends what is safe to.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use futures_util::stream::{SplitSink, StreamExt as _};
use futures_util::SinkExt as _;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

use super::connect::{self, ConnectFailure, Ws};
use super::frame::Frame;
use super::{Push, RealtimeError, Resend, SocketConfig};

type Reply = oneshot::Sender<Result<Value, RealtimeError>>;
type Sink = SplitSink<Ws, Message>;

/// What the handles ask of the connection task.
pub(crate) enum Command {
    Join {
        topic: String,
        payload: Value,
        pushes: mpsc::Sender<Push>,
        missed: Arc<AtomicU64>,
        reply: Reply,
    },
    Push {
        topic: String,
        event: String,
        payload: Value,
        resend: Resend,
        reply: Reply,
    },
    Leave {
        topic: String,
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
    payload: Value,
    /// The ref of the current join (sent or answered); `None` while disconnected.
    join_ref: Option<String>,
    joined: bool,
    /// The caller of the first join, answered once.
    waiter: Option<Reply>,
    pushes: mpsc::Sender<Push>,
    missed: Arc<AtomicU64>,
    /// Messages waiting for the (re)join, oldest first.
    queued: VecDeque<Outgoing>,
}

enum Pending {
    Join { topic: String },
    Push { topic: String, out: Outgoing },
    Leave { reply: Option<oneshot::Sender<()>> },
    Heartbeat,
}

/// How a connected or waiting phase ended.
enum Exit {
    Shutdown,
    Lost,
}

pub(crate) struct Driver {
    config: Arc<SocketConfig>,
    commands: mpsc::Receiver<Command>,
    channels: HashMap<String, ChannelState>,
    pending: HashMap<String, Pending>,
    next_ref: u64,
    heartbeat: Option<String>,
}

impl Driver {
    pub(crate) fn new(config: Arc<SocketConfig>, commands: mpsc::Receiver<Command>) -> Self {
        Self {
            config,
            commands,
            channels: HashMap::new(),
            pending: HashMap::new(),
            next_ref: 0,
            heartbeat: None,
        }
    }

    pub(crate) async fn run(mut self) {
        let mut attempt: u32 = 0;
        loop {
            // Connect only while a channel is held.
            while self.channels.is_empty() {
                match self.commands.recv().await {
                    None | Some(Command::Shutdown) => return,
                    Some(command) => {
                        let _ = self.command(command, None).await;
                    }
                }
            }
            match self.connect().await {
                Ok(ws) => {
                    attempt = 0;
                    tracing::debug!(target: "agentapis::realtime", url = %self.config.base_url, "socket connected");
                    let exit = self.connected(ws).await;
                    self.disconnected();
                    if let Exit::Shutdown = exit {
                        return;
                    }
                }
                Err(Some(error)) => self.fail_waiters(&error),
                Err(None) => {}
            }
            let delay = self.config.reconnect.delay(attempt);
            attempt = attempt.saturating_add(1);
            tracing::debug!(target: "agentapis::realtime", ?delay, attempt, "reconnecting after");
            if let Exit::Shutdown = self.wait(delay).await {
                return;
            }
        }
    }

    /// Opens the connection; `Err(Some)` is an error the joins waiting should get now.
    async fn connect(&mut self) -> Result<Ws, Option<RealtimeError>> {
        let Some((generation, token)) = self.config.auth.current() else {
            return Err(Some(RealtimeError::NoToken));
        };
        let base = connect::ws_url(&self.config.base_url, &self.config.path).map_err(Some)?;
        let encoded = percent_encoding::utf8_percent_encode(token.expose(), percent_encoding::NON_ALPHANUMERIC);
        let url = format!("{base}?vsn=2.0.0&token={encoded}");
        match connect::open(&url, None, Some(&token), self.config.connect_timeout).await {
            Ok(ws) => Ok(ws),
            Err(ConnectFailure::Unauthorized(status)) => {
                let deadline = Instant::now() + self.config.timeout;
                if self.config.auth.refresh(generation, deadline).await {
                    // A new token: connect again at once rather than after a backoff.
                    return Box::pin(self.connect()).await;
                }
                tracing::warn!(target: "agentapis::realtime", status, "socket refused the credentials");
                Err(Some(RealtimeError::Unauthorized { status }))
            }
            Err(ConnectFailure::Other(message)) => {
                tracing::warn!(target: "agentapis::realtime", %message, "socket connect failed");
                Err(None)
            }
        }
    }

    /// Serves commands while disconnected, for `delay`.
    async fn wait(&mut self, delay: std::time::Duration) -> Exit {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => return Exit::Lost,
                command = self.commands.recv() => match command {
                    None | Some(Command::Shutdown) => return Exit::Shutdown,
                    Some(command) => { let _ = self.command(command, None).await; }
                },
            }
        }
    }

    async fn connected(&mut self, ws: Ws) -> Exit {
        let (mut sink, mut stream) = ws.split();
        let topics: Vec<String> = self.channels.keys().cloned().collect();
        for topic in topics {
            if self.send_join(&topic, &mut sink).await.is_err() {
                return Exit::Lost;
            }
        }
        let period = self.config.heartbeat;
        let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        loop {
            tokio::select! {
                message = stream.next() => match message {
                    Some(Ok(Message::Text(text))) => {
                        if self.frame(text.as_str(), &mut sink).await.is_err() {
                            return Exit::Lost;
                        }
                    }
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return Exit::Lost,
                    Some(Ok(_)) => {} // pings are answered by tungstenite
                },
                command = self.commands.recv() => match command {
                    None | Some(Command::Shutdown) => {
                        let _ = sink.close().await;
                        return Exit::Shutdown;
                    }
                    Some(command) => {
                        if self.command(command, Some(&mut sink)).await.is_err() {
                            return Exit::Lost;
                        }
                    }
                },
                _ = beat.tick() => {
                    if self.heartbeat.is_some() {
                        tracing::warn!(target: "agentapis::realtime", "heartbeat unanswered: replacing the connection");
                        return Exit::Lost;
                    }
                    // Callers that gave up no longer need their reply kept.
                    self.pending.retain(|_, p| !matches!(p, Pending::Push { out, .. } if out.reply.is_closed()));
                    let reference = self.reference();
                    self.heartbeat = Some(reference.clone());
                    self.pending.insert(reference.clone(), Pending::Heartbeat);
                    let frame = Frame::new(None, Some(reference), "phoenix", "heartbeat", json!({}));
                    if send(&mut sink, &frame).await.is_err() {
                        return Exit::Lost;
                    }
                }
            }
        }
    }

    fn reference(&mut self) -> String {
        self.next_ref = self.next_ref.wrapping_add(1);
        self.next_ref.to_string()
    }

    /// Everything in flight is lost with the connection: joins are redone on the next one,
    /// messages safe to resend go back to the front of their queue, the others fail.
    fn disconnected(&mut self) {
        self.heartbeat = None;
        let mut lost: Vec<(u64, String, Outgoing)> = Vec::new();
        for (reference, pending) in self.pending.drain() {
            match pending {
                Pending::Push { topic, out } => {
                    lost.push((reference.parse().unwrap_or(u64::MAX), topic, out));
                }
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
        }
    }

    /// Answers every join still waiting for its first reply with `error` (the channel is dropped).
    fn fail_waiters(&mut self, error: &RealtimeError) {
        let waiting: Vec<String> = self
            .channels
            .iter()
            .filter(|(_, c)| c.waiter.is_some())
            .map(|(t, _)| t.clone())
            .collect();
        for topic in waiting {
            if let Some(mut channel) = self.channels.remove(&topic) {
                if let Some(waiter) = channel.waiter.take() {
                    let _ = waiter.send(Err(same_error(error, &topic)));
                }
                fail_queue(&mut channel.queued, &topic);
            }
        }
    }

    async fn send_join(&mut self, topic: &str, sink: &mut Sink) -> Result<(), ()> {
        let reference = self.reference();
        let Some(channel) = self.channels.get_mut(topic) else {
            return Ok(());
        };
        channel.join_ref = Some(reference.clone());
        channel.joined = false;
        let frame = Frame::new(
            Some(reference.clone()),
            Some(reference.clone()),
            topic,
            "phx_join",
            channel.payload.clone(),
        );
        self.pending.insert(
            reference,
            Pending::Join {
                topic: topic.to_owned(),
            },
        );
        send(sink, &frame).await
    }

    async fn send_push(&mut self, topic: &str, out: Outgoing, sink: &mut Sink) -> Result<(), ()> {
        if out.reply.is_closed() {
            return Ok(()); // its caller gave up: never send it late
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
        self.pending.insert(
            reference,
            Pending::Push {
                topic: topic.to_owned(),
                out,
            },
        );
        send(sink, &frame).await
    }

    async fn command(&mut self, command: Command, sink: Option<&mut Sink>) -> Result<(), ()> {
        match command {
            Command::Join {
                topic,
                payload,
                pushes,
                missed,
                reply,
            } => {
                if self.channels.contains_key(&topic) {
                    let _ = reply.send(Err(RealtimeError::AlreadyJoined { topic }));
                    return Ok(());
                }
                let state = ChannelState {
                    payload,
                    join_ref: None,
                    joined: false,
                    waiter: Some(reply),
                    pushes,
                    missed,
                    queued: VecDeque::new(),
                };
                self.channels.insert(topic.clone(), state);
                match sink {
                    Some(sink) => self.send_join(&topic, sink).await,
                    None => Ok(()),
                }
            }
            Command::Push {
                topic,
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
                let Some(channel) = self.channels.get_mut(&topic) else {
                    let _ = out.reply.send(Err(RealtimeError::Closed { topic }));
                    return Ok(());
                };
                match sink {
                    Some(sink) if channel.joined => self.send_push(&topic, out, sink).await,
                    _ if channel.queued.len() >= self.config.resend_buffer => {
                        let capacity = self.config.resend_buffer;
                        let _ = out.reply.send(Err(RealtimeError::BufferFull { topic, capacity }));
                        Ok(())
                    }
                    _ => {
                        channel.queued.push_back(out);
                        Ok(())
                    }
                }
            }
            Command::Leave { topic, reply } => {
                let Some(mut channel) = self.channels.remove(&topic) else {
                    if let Some(reply) = reply {
                        let _ = reply.send(());
                    }
                    return Ok(());
                };
                fail_queue(&mut channel.queued, &topic);
                match (sink, channel.join_ref) {
                    (Some(sink), Some(join_ref)) => {
                        let reference = self.reference();
                        self.pending.insert(reference.clone(), Pending::Leave { reply });
                        let frame = Frame::new(Some(join_ref), Some(reference), &topic, "phx_leave", json!({}));
                        send(sink, &frame).await
                    }
                    _ => {
                        if let Some(reply) = reply {
                            let _ = reply.send(());
                        }
                        Ok(())
                    }
                }
            }
            Command::Shutdown => Ok(()),
        }
    }

    async fn frame(&mut self, text: &str, sink: &mut Sink) -> Result<(), ()> {
        let frame = match Frame::decode(text) {
            Ok(frame) => frame,
            Err(error) => {
                tracing::warn!(target: "agentapis::realtime", %error, "ignored a frame");
                return Ok(());
            }
        };
        match frame.event.as_str() {
            "phx_reply" => self.reply(frame, sink).await,
            "phx_error" => {
                // The server-side channel crashed: rejoin it on this connection.
                if self.is_current(&frame) {
                    tracing::warn!(target: "agentapis::realtime", topic = %frame.topic, "channel crashed: rejoining");
                    self.requeue_in_flight(&frame.topic);
                    return self.send_join(&frame.topic, sink).await;
                }
                Ok(())
            }
            "phx_close" => {
                if self.is_current(&frame) {
                    if let Some(mut channel) = self.channels.remove(&frame.topic) {
                        fail_queue(&mut channel.queued, &frame.topic);
                    }
                }
                Ok(())
            }
            _ => {
                self.deliver(frame);
                Ok(())
            }
        }
    }

    /// Whether `frame` belongs to the current join of its topic (not to an earlier one).
    fn is_current(&self, frame: &Frame) -> bool {
        self.channels
            .get(&frame.topic)
            .is_some_and(|c| frame.join_ref.is_none() || frame.join_ref == c.join_ref)
    }

    fn requeue_in_flight(&mut self, topic: &str) {
        let references: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| matches!(p, Pending::Push { topic: t, .. } if t == topic))
            .map(|(r, _)| r.clone())
            .collect();
        let mut lost: Vec<(u64, Outgoing)> = references
            .into_iter()
            .filter_map(|r| match self.pending.remove(&r) {
                Some(Pending::Push { out, .. }) => Some((r.parse().unwrap_or(u64::MAX), out)),
                _ => None,
            })
            .collect();
        lost.sort_by_key(|(r, _)| std::cmp::Reverse(*r));
        for (_, out) in lost {
            requeue_or_fail(self.channels.get_mut(topic), topic, out);
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

    async fn reply(&mut self, frame: Frame, sink: &mut Sink) -> Result<(), ()> {
        let Some(reference) = frame.reference.as_ref() else {
            return Ok(());
        };
        let Some(pending) = self.pending.remove(reference) else {
            return Ok(());
        };
        let (ok, response) = frame.reply();
        match pending {
            Pending::Heartbeat => {
                if self.heartbeat.as_ref() == Some(reference) {
                    self.heartbeat = None;
                }
                Ok(())
            }
            Pending::Leave { reply } => {
                if let Some(reply) = reply {
                    let _ = reply.send(());
                }
                Ok(())
            }
            Pending::Push { topic, out } => {
                let result = if ok {
                    Ok(response)
                } else {
                    Err(RealtimeError::from_reply(&topic, &out.event, response))
                };
                let _ = out.reply.send(result);
                Ok(())
            }
            Pending::Join { topic } => {
                let Some(channel) = self.channels.get_mut(&topic) else {
                    return Ok(());
                };
                if channel.join_ref.as_ref() != Some(reference) {
                    return Ok(()); // an answer to an earlier join
                }
                if !ok {
                    tracing::warn!(target: "agentapis::realtime", %topic, "join refused");
                    if let Some(mut channel) = self.channels.remove(&topic) {
                        if let Some(waiter) = channel.waiter.take() {
                            let _ = waiter.send(Err(RealtimeError::refused(&topic, response)));
                        }
                        fail_queue(&mut channel.queued, &topic);
                    }
                    return Ok(());
                }
                channel.joined = true;
                if let Some(waiter) = channel.waiter.take() {
                    let _ = waiter.send(Ok(response));
                }
                let queued = std::mem::take(&mut channel.queued);
                for out in queued {
                    self.send_push(&topic, out, sink).await?;
                }
                Ok(())
            }
        }
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

fn fail_queue(queue: &mut VecDeque<Outgoing>, topic: &str) {
    for out in queue.drain(..) {
        let _ = out.reply.send(Err(RealtimeError::Closed {
            topic: topic.to_owned(),
        }));
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

async fn send(sink: &mut Sink, frame: &Frame) -> Result<(), ()> {
    sink.send(Message::Text(frame.encode().into())).await.map_err(|error| {
        tracing::debug!(target: "agentapis::realtime", %error, "send failed");
    })
}
