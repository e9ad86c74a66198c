//! The socket and channel handles users hold; the connection itself lives in [`super::driver`].

use std::pin::Pin;
use std::sync::atomic::AtomicU64 as JoinIds;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::driver::{Driver, Stop};
use super::inbox::Inbox;
use super::table::{sane, Command};
use super::waiter::{self, deadline_in, NoAnswer};
use super::{Push, RealtimeError, Reconnect, Resend, SocketAuth};

/// How a [`Socket`] connects and behaves. Defaults follow the vendor's documented timings,
/// except the reconnect schedule, which is jittered.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SocketConfig {
    /// `http(s)://host`: the API base URL (the socket URL is derived from it).
    pub base_url: String,
    /// The path of the socket endpoint (ArchAstro: `/socket/api/websocket`).
    pub path: String,
    /// The bearer credential.
    pub auth: SocketAuth,
    /// Each call's deadline (default 10 s): a join, message or leave ends by then, whatever it
    /// waits for (the connection, a token refresh, the reconnect backoff, the rejoin, the
    /// reply), with [`RealtimeError::Timeout`] saying whether the message went out. A message
    /// still waiting for a reconnect when it passes is dropped, never sent later.
    /// [`Socket::join_within`] and [`Channel::push_within`] set it per call.
    pub timeout: Duration,
    /// Heartbeat period (default 30 s); a heartbeat still unanswered at the next one means the
    /// connection is dead and is replaced.
    pub heartbeat: Duration,
    /// How long opening the connection may take (default 10 s).
    pub connect_timeout: Duration,
    /// When to reconnect (default: exponential backoff with full jitter).
    pub reconnect: Reconnect,
    /// Messages per channel held while it reconnects (default 32).
    pub resend_buffer: usize,
    /// Pushes per channel held for a consumer that has not read them (default 256); newer ones
    /// are dropped and counted by [`Channel::missed`], so a slow consumer never stalls the socket
    /// or grows memory.
    pub push_buffer: usize,
}

impl SocketConfig {
    /// Defaults for the API at `base_url`.
    pub fn new(base_url: &str, auth: SocketAuth) -> Self {
        Self {
            base_url: base_url.to_owned(),
            path: "/socket/api/websocket".to_owned(),
            auth,
            timeout: Duration::from_secs(10),
            heartbeat: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            reconnect: Reconnect::default(),
            resend_buffer: 32,
            push_buffer: 256,
        }
    }

    /// Sets [`SocketConfig::timeout`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets [`SocketConfig::heartbeat`].
    pub fn heartbeat(mut self, period: Duration) -> Self {
        self.heartbeat = period;
        self
    }

    /// Sets [`SocketConfig::reconnect`].
    pub fn reconnect(mut self, reconnect: Reconnect) -> Self {
        self.reconnect = reconnect;
        self
    }

    /// Sets [`SocketConfig::push_buffer`] (at least 1).
    pub fn push_buffer(mut self, pushes: usize) -> Self {
        self.push_buffer = pushes.max(1);
        self
    }

    /// Sets [`SocketConfig::resend_buffer`].
    pub fn resend_buffer(mut self, messages: usize) -> Self {
        self.resend_buffer = messages;
        self
    }
}

/// One Phoenix socket multiplexing any number of channels. Clones share the connection.
///
/// It connects on the first join and stays connected while a [`Socket`] or a [`Channel`] of it
/// is alive; after a lost connection it reconnects (see [`Reconnect`]) and rejoins every channel
/// still held.
#[derive(Clone)]
pub struct Socket {
    inner: Arc<Inner>,
}

struct Inner {
    config: Arc<SocketConfig>,
    commands: OnceLock<mpsc::Sender<Command>>,
    stop: Arc<Stop>,
    /// Names each join, so a stale handle cannot act on a later join of its topic.
    joins: JoinIds,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("base_url", &self.inner.config.base_url)
            .field("started", &self.inner.commands.get().is_some())
            .finish_non_exhaustive()
    }
}

impl Socket {
    /// A socket that connects on its first join. Needs a Tokio runtime from then on.
    pub fn new(config: SocketConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                config: Arc::new(sane(config)),
                commands: OnceLock::new(),
                stop: Arc::default(),
                joins: JoinIds::new(0),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SocketConfig {
        &self.inner.config
    }

    fn commands(&self) -> &mpsc::Sender<Command> {
        self.inner.commands.get_or_init(|| {
            // Bounded: a burst of callers waits for the connection task instead of growing a queue.
            let (sender, receiver) = mpsc::channel(1024);
            let stop = Arc::clone(&self.inner.stop);
            tokio::spawn(Driver::new(Arc::clone(&self.inner.config), receiver, stop).run());
            sender
        })
    }

    /// Joins `topic` with `payload` as the join params; waits for the server's answer (at most
    /// [`SocketConfig::timeout`]).
    pub async fn join(&self, topic: String, payload: Value) -> Result<Channel, RealtimeError> {
        self.join_within(topic, payload, self.inner.config.timeout).await
    }

    /// [`Socket::join`], ending by `limit` from now instead of [`SocketConfig::timeout`]
    /// (`Duration::MAX`: no limit).
    pub async fn join_within(&self, topic: String, payload: Value, limit: Duration) -> Result<Channel, RealtimeError> {
        let deadline = deadline_in(limit);
        let config = &self.inner.config;
        if self.inner.stop.is_stopped() {
            return Err(RealtimeError::Closed { topic });
        }
        let (inbox, sender) = Inbox::new(config.push_buffer);
        let id = self.inner.joins.fetch_add(1, Ordering::Relaxed);
        let (waiter, answer) = waiter::pair();
        let commands = self.commands().clone();
        let command = Command::Join {
            topic: topic.clone(),
            id,
            payload,
            inbox: sender,
            waiter,
        };
        let mut channel = Channel {
            topic,
            id,
            commands: commands.clone(),
            inbox,
            timeout: config.timeout,
            open: false,
        };
        let asked = async { commands.send(command).await.map_err(|_| ()) };
        match answer.wait(deadline, asked).await {
            Ok(Ok(_)) => {
                channel.open = true;
                Ok(channel)
            }
            Ok(Err(e)) => Err(e),
            Err(NoAnswer::Closed) => Err(RealtimeError::Closed {
                topic: channel.topic.clone(),
            }),
            Err(NoAnswer::TimedOut { sent }) => {
                // Leave in case the join is answered later, so it does not linger.
                channel.open = true;
                Err(channel.timed_out("phx_join", limit, sent))
            }
        }
    }

    /// Closes the connection and every channel, even while it is connecting; later joins fail
    /// with [`RealtimeError::Closed`].
    pub fn shutdown(&self) {
        self.inner.stop.stop();
        if let Some(commands) = self.inner.commands.get() {
            let _ = commands.try_send(Command::Shutdown);
        }
    }
}

/// A joined channel: send messages with [`Channel::push`], read server pushes as a
/// [`futures_core::Stream`] (or [`Channel::next_push`]). Dropping it leaves the topic.
pub struct Channel {
    topic: String,
    id: u64,
    commands: mpsc::Sender<Command>,
    inbox: Arc<Inbox>,
    timeout: Duration,
    /// Whether dropping it must leave (it holds a join the server may know).
    open: bool,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("topic", &self.topic)
            .field("missed", &self.missed())
            .finish_non_exhaustive()
    }
}

impl Channel {
    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Sends `event` with `payload` and waits for its reply: the reply's `response` when it is
    /// `ok`, a typed error otherwise. While the socket reconnects the message waits (up to the
    /// resend buffer). With [`Resend::Safe`], a message whose reply was lost with the connection
    /// is sent again after the rejoin; otherwise that ends in [`RealtimeError::Disconnected`].
    /// Ends by [`SocketConfig::timeout`].
    pub async fn push(&self, event: &str, payload: Value, resend: Resend) -> Result<Value, RealtimeError> {
        self.push_within(event, payload, resend, self.timeout).await
    }

    /// [`Channel::push`], ending by `limit` from now (`Duration::MAX`: no limit). A
    /// [`RealtimeError::Timeout`] with `sent: false` was never sent and never will be, so
    /// sending it again cannot apply it twice.
    pub async fn push_within(
        &self,
        event: &str,
        payload: Value,
        resend: Resend,
        limit: Duration,
    ) -> Result<Value, RealtimeError> {
        let deadline = deadline_in(limit);
        let (waiter, answer) = waiter::pair();
        let command = Command::Push {
            topic: self.topic.clone(),
            id: self.id,
            event: event.to_owned(),
            payload,
            resend,
            waiter,
        };
        let asked = async { self.commands.send(command).await.map_err(|_| ()) };
        match answer.wait(deadline, asked).await {
            Ok(result) => result,
            Err(NoAnswer::Closed) => Err(RealtimeError::Closed {
                topic: self.topic.clone(),
            }),
            Err(NoAnswer::TimedOut { sent }) => Err(self.timed_out(event, limit, sent)),
        }
    }

    fn timed_out(&self, event: &str, after: Duration, sent: bool) -> RealtimeError {
        RealtimeError::Timeout {
            topic: self.topic.clone(),
            event: event.to_owned(),
            after,
            sent,
        }
    }

    /// The next server push; `None` once the channel is closed.
    pub async fn next_push(&mut self) -> Option<Push> {
        std::future::poll_fn(|cx| self.inbox.poll_next(cx)).await
    }

    /// Pushes dropped because this channel's consumer fell [`SocketConfig::push_buffer`] behind.
    pub fn missed(&self) -> u64 {
        self.inbox.missed()
    }

    /// Why the channel ended (refused at a rejoin, closed by the server, left), once it has;
    /// its push stream has ended then.
    pub fn closed_reason(&self) -> Option<&str> {
        self.inbox.closed_reason()
    }

    /// Leaves the topic and waits for the server to confirm, both by [`SocketConfig::timeout`].
    pub async fn leave(mut self) -> Result<(), RealtimeError> {
        let deadline = deadline_in(self.timeout);
        let (reply, answer) = oneshot::channel();
        let command = Command::Leave {
            topic: self.topic.clone(),
            id: self.id,
            reply: Some(reply),
        };
        let sent = tokio::time::timeout_at(deadline, self.commands.send(command)).await;
        match sent {
            Ok(Ok(())) => self.open = false,
            Ok(Err(_)) => {
                self.open = false;
                return Ok(()); // the socket is gone, and the channel with it
            }
            // Still open: dropping `self` tries again.
            Err(_) => return Err(self.timed_out("phx_leave", self.timeout, false)),
        }
        match tokio::time::timeout_at(deadline, answer).await {
            Ok(_) => Ok(()),
            Err(_) => Err(self.timed_out("phx_leave", self.timeout, true)),
        }
    }
}

impl futures_core::Stream for Channel {
    type Item = Push;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Push>> {
        self.inbox.poll_next(cx)
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        let leave = Command::Leave {
            topic: self.topic.clone(),
            id: self.id,
            reply: None,
        };
        if let Err(mpsc::error::TrySendError::Full(leave)) = self.commands.try_send(leave) {
            // A full queue must not lose the leave (the topic would be rejoined forever).
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let commands = self.commands.clone();
                runtime.spawn(async move {
                    let _ = commands.send(leave).await;
                });
            }
        }
    }
}

impl super::Resend {
    pub(crate) fn is_safe(self) -> bool {
        self == Resend::Safe
    }
}
