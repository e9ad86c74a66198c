//! Realtime over WebSockets. [`upgrade`] answers the handshakes and runs every socket; ArchAstro's
//! Phoenix channels are in [`phoenix`] (topics and schemas from the spec's `x-channels`, read by
//! [`catalog`]); Invent's event feeds in [`feeds`]; the test-facing controls on
//! [`crate::Running`] in [`control`]. This file holds the shared state: open sockets, their joins,
//! the scripted behaviour and what was observed.

mod catalog;
mod control;
pub(crate) mod feeds;
mod log;
pub(crate) mod phoenix;
pub(crate) mod upgrade;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

pub(crate) use catalog::Catalog;
use log::{json_size, Log};

/// Frames waiting to be written to one socket. A client that stops reading fills this, and is
/// then dropped rather than buffered without end.
const QUEUE: usize = 1024;
/// Largest client message accepted; a bigger one closes the socket with a policy error.
pub(crate) const MAX_MESSAGE: usize = 1 << 20;

/// How the ArchAstro stand-in answers Phoenix `heartbeat` frames (set with
/// [`crate::Running::heartbeats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Heartbeats {
    /// Reply `ok` at once (the default).
    #[default]
    Answer,
    /// Reply `ok` after this long, as a slow or congested server would.
    Delay(Duration),
    /// Never reply, so a client's liveness check sees a dead connection that is still open.
    Ignore,
}

/// A scripted misbehaviour of one Phoenix client event (`phx_join`, `heartbeat`,
/// `api:chat:post_message`, ...), set with [`crate::Running::channel_fault`]. Each applies to the
/// next `times` frames with that event, then the event is served normally again; `times: 0`
/// clears the fault.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChannelFault {
    /// Reply `error` with `{"reason": "rate_limited"}`, as the vendor's realtime limit does.
    RateLimited {
        /// How many frames.
        times: u32,
    },
    /// Reply `error` with `{"reason": reason}`.
    Error {
        /// The `reason` in the reply.
        reason: String,
        /// How many frames.
        times: u32,
    },
    /// Do not reply at all (the client's push times out).
    NoReply {
        /// How many frames.
        times: u32,
    },
    /// Act on the message (store it, push what it causes) but never send its reply, as when
    /// the connection drops after the server acted: a resend must not act twice.
    LoseReply {
        /// How many frames.
        times: u32,
    },
    /// Close the connection without replying or a close frame, as a network drop would.
    Drop {
        /// How many frames.
        times: u32,
    },
}

impl ChannelFault {
    fn times_mut(&mut self) -> &mut u32 {
        match self {
            Self::RateLimited { times }
            | Self::Error { times, .. }
            | Self::NoReply { times }
            | Self::LoseReply { times }
            | Self::Drop { times } => times,
        }
    }
}

pub(crate) type SocketId = u64;

/// What a socket speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// ArchAstro's Phoenix v2 channels.
    Phoenix,
    /// One of Invent's JSON feeds, by name (`chats`, `inbox`).
    Feed(String),
}

/// How a socket's task ends when the stand-in (not the client) ends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// A close frame with this code and reason.
    Close(CloseCode, &'static str),
    /// The TCP connection dropped, no close frame.
    Abort,
}

/// A topic joined on one socket.
#[derive(Debug, Clone)]
pub(crate) struct Joined {
    /// As the client sent it (a string, a number or null): Phoenix echoes refs unchanged.
    pub(crate) join_ref: Value,
    pub(crate) topic: String,
    /// Index into the catalog's channels.
    pub(crate) channel: usize,
}

struct Conn {
    kind: Kind,
    tx: mpsc::Sender<String>,
    end: Option<oneshot::Sender<Ending>>,
    joins: Vec<Joined>,
}

/// What a socket's task receives when it is registered.
pub(crate) struct Registered {
    pub(crate) id: SocketId,
    pub(crate) frames: mpsc::Receiver<String>,
    pub(crate) end: oneshot::Receiver<Ending>,
}

/// The realtime half of the stand-in's state.
pub(crate) struct Realtime {
    pub(crate) catalog: Catalog,
    sockets: Mutex<HashMap<SocketId, Conn>>,
    next_id: AtomicU64,
    /// Messages stored so far, to vary the generated ids.
    stored: AtomicU64,
    connects: Mutex<Log<Instant>>,
    /// Replies not to send: (socket, ref) of frames under [`ChannelFault::LoseReply`].
    muted: Mutex<std::collections::HashSet<(SocketId, Option<String>)>>,
    /// When each TCP connection was accepted (any kind): a herd shows here before the server's
    /// own handling of it spreads it out.
    accepts: Mutex<Log<Instant>>,
    refuse_until: Mutex<Option<Instant>>,
    heartbeats: Mutex<Heartbeats>,
    faults: Mutex<HashMap<String, ChannelFault>>,
    frames: Mutex<Log<(String, String, Value)>>,
    messages: Mutex<Log<Value>>,
}

impl Realtime {
    pub(crate) fn new(doc: &Value) -> Self {
        Self {
            catalog: Catalog::read(doc),
            sockets: Mutex::default(),
            next_id: AtomicU64::new(1),
            stored: AtomicU64::new(0),
            connects: Mutex::default(),
            muted: Mutex::default(),
            accepts: Mutex::default(),
            refuse_until: Mutex::default(),
            heartbeats: Mutex::default(),
            faults: Mutex::default(),
            frames: Mutex::default(),
            messages: Mutex::default(),
        }
    }

    /// Records an accepted TCP connection.
    pub(crate) fn accepted(&self) {
        if let Ok(mut accepts) = self.accepts.lock() {
            accepts.push(Instant::now(), 0);
        }
    }

    pub(crate) fn accepts(&self) -> Vec<Instant> {
        Log::snapshot(&self.accepts)
    }

    /// Records an upgrade attempt; `Some(remaining)` while upgrades are refused.
    pub(crate) fn attempt(&self) -> Option<Duration> {
        let now = Instant::now();
        if let Ok(mut connects) = self.connects.lock() {
            connects.push(now, 0);
        }
        let until = (*self.refuse_until.lock().ok()?)?;
        until.checked_duration_since(now).filter(|d| !d.is_zero())
    }

    pub(crate) fn register(&self, kind: Kind) -> Registered {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, frames) = mpsc::channel(QUEUE);
        let (end_tx, end) = oneshot::channel();
        if let Ok(mut sockets) = self.sockets.lock() {
            sockets.insert(
                id,
                Conn {
                    kind,
                    tx,
                    end: Some(end_tx),
                    joins: Vec::new(),
                },
            );
        }
        Registered { id, frames, end }
    }

    pub(crate) fn unregister(&self, id: SocketId) {
        if let Ok(mut sockets) = self.sockets.lock() {
            sockets.remove(&id);
        }
    }

    /// Ends socket `id` (it is forgotten at once, its task closes it); false if it was not open.
    pub(crate) fn end(&self, id: SocketId, ending: Ending) -> bool {
        let conn = self.sockets.lock().ok().and_then(|mut s| s.remove(&id));
        conn.is_some_and(|mut conn| {
            if let Some(end) = conn.end.take() {
                let _ = end.send(ending);
            }
            true
        })
    }

    pub(crate) fn end_all(&self, ending: Ending) -> usize {
        let ids: Vec<SocketId> = self
            .sockets
            .lock()
            .map(|s| s.keys().copied().collect())
            .unwrap_or_default();
        ids.into_iter().filter(|id| self.end(*id, ending)).count()
    }

    /// Queues `frame` for socket `id`. A full queue drops the socket: the client is not reading.
    pub(crate) fn send(&self, id: SocketId, frame: &Value) -> bool {
        let outcome = {
            let Ok(sockets) = self.sockets.lock() else { return false };
            let Some(conn) = sockets.get(&id) else { return false };
            conn.tx.try_send(frame.to_string())
        };
        match outcome {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::debug!(socket = id, "outgoing queue full; dropping the socket");
                self.end(id, Ending::Abort);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.unregister(id);
                false
            }
        }
    }

    /// Pushes `event` to every socket that joined `topic`; how many were reached.
    pub(crate) fn push(&self, topic: &str, event: &str, payload: &Value) -> usize {
        let targets: Vec<(SocketId, Value)> = self
            .sockets
            .lock()
            .map(|sockets| {
                sockets
                    .iter()
                    .flat_map(|(id, conn)| {
                        conn.joins
                            .iter()
                            .filter(|j| j.topic == topic)
                            .map(move |j| (*id, j.join_ref.clone()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        targets
            .into_iter()
            .filter(|(id, join_ref)| self.send(*id, &json!([join_ref, null, topic, event, payload])))
            .count()
    }

    /// Sends `frame` to every open socket of `feed`; how many were reached.
    pub(crate) fn feed_send(&self, feed: &str, frame: &Value) -> usize {
        let ids: Vec<SocketId> = self
            .sockets
            .lock()
            .map(|sockets| {
                sockets
                    .iter()
                    .filter(|(_, c)| matches!(&c.kind, Kind::Feed(f) if f == feed))
                    .map(|(id, _)| *id)
                    .collect()
            })
            .unwrap_or_default();
        ids.into_iter().filter(|id| self.send(*id, frame)).count()
    }

    /// Joins `joined.topic` on socket `id`; a second join of the same topic replaces the first.
    /// Records a join; returns the earlier join of the same topic on this socket, which Phoenix
    /// closes ("duplicate channel join").
    pub(crate) fn join(&self, id: SocketId, joined: Joined) -> Option<Joined> {
        let mut sockets = self.sockets.lock().ok()?;
        let conn = sockets.get_mut(&id)?;
        let earlier = conn
            .joins
            .iter()
            .position(|j| j.topic == joined.topic)
            .map(|at| conn.joins.remove(at));
        conn.joins.push(joined);
        earlier
    }

    pub(crate) fn leave(&self, id: SocketId, topic: &str) -> Option<Joined> {
        let mut sockets = self.sockets.lock().ok()?;
        let conn = sockets.get_mut(&id)?;
        let at = conn.joins.iter().position(|j| j.topic == topic)?;
        Some(conn.joins.remove(at))
    }

    pub(crate) fn joined_on(&self, id: SocketId, topic: &str) -> Option<Joined> {
        let sockets = self.sockets.lock().ok()?;
        sockets.get(&id)?.joins.iter().find(|j| j.topic == topic).cloned()
    }

    pub(crate) fn joined(&self) -> Vec<String> {
        self.sockets
            .lock()
            .map(|s| {
                s.values()
                    .flat_map(|c| c.joins.iter().map(|j| j.topic.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(crate) fn refuse_for(&self, period: Duration) {
        if let Ok(mut until) = self.refuse_until.lock() {
            *until = Instant::now().checked_add(period);
        }
    }

    pub(crate) fn connects(&self) -> Vec<Instant> {
        Log::snapshot(&self.connects)
    }

    pub(crate) fn set_heartbeats(&self, mode: Heartbeats) {
        if let Ok(mut m) = self.heartbeats.lock() {
            *m = mode;
        }
    }

    pub(crate) fn heartbeats(&self) -> Heartbeats {
        self.heartbeats.lock().map(|m| *m).unwrap_or_default()
    }

    pub(crate) fn set_fault(&self, event: &str, mut fault: ChannelFault) {
        if let Ok(mut faults) = self.faults.lock() {
            if *fault.times_mut() == 0 {
                faults.remove(event);
            } else {
                faults.insert(event.to_owned(), fault);
            }
        }
    }

    /// The fault scripted for `event`, counted down.
    /// The reply to `reference` on socket `id` will not be sent.
    pub(crate) fn mute(&self, id: SocketId, reference: Option<String>) {
        if let Ok(mut muted) = self.muted.lock() {
            muted.insert((id, reference));
        }
    }

    /// Whether the reply to `reference` on socket `id` was muted (it is then forgotten).
    pub(crate) fn unmute(&self, id: SocketId, reference: &Option<String>) -> bool {
        self.muted
            .lock()
            .map(|mut muted| muted.remove(&(id, reference.clone())))
            .unwrap_or(false)
    }

    pub(crate) fn take_fault(&self, event: &str) -> Option<ChannelFault> {
        let mut faults = self.faults.lock().ok()?;
        let fault = faults.get_mut(event)?;
        let played = fault.clone();
        let times = fault.times_mut();
        *times = times.saturating_sub(1);
        if *times == 0 {
            faults.remove(event);
        }
        Some(played)
    }

    pub(crate) fn log_frame(&self, topic: &str, event: &str, payload: &Value) {
        let size = topic.len() + event.len() + json_size(payload);
        if let Ok(mut frames) = self.frames.lock() {
            frames.push((topic.to_owned(), event.to_owned(), payload.clone()), size);
        }
    }

    pub(crate) fn frames(&self) -> Vec<(String, String, Value)> {
        Log::snapshot(&self.frames)
    }

    pub(crate) fn messages(&self) -> Vec<Value> {
        Log::snapshot(&self.messages)
    }

    /// The message stored under a non-empty `key`, or a new one made by `make(count)` and stored.
    /// `true` when it is new.
    pub(crate) fn store_message(&self, key: Option<&str>, make: impl FnOnce(u64) -> Value) -> (Value, bool) {
        let Ok(mut messages) = self.messages.lock() else {
            return (make(0), true);
        };
        let key = key.filter(|k| !k.is_empty());
        if let Some(found) = key.and_then(|k| {
            messages
                .iter()
                .find(|m| m.get("idempotency_key").and_then(Value::as_str) == Some(k))
        }) {
            return (found.clone(), false);
        }
        let message = make(self.stored.fetch_add(1, Ordering::Relaxed) + 1);
        messages.push(message.clone(), json_size(&message));
        (message, true)
    }
}
