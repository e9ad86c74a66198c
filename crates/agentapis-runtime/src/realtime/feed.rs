//! A plain JSON event feed over a WebSocket (Invent's org chat and inbox feeds): every text
//! frame is one JSON value; the feed reconnects with the same policy as a Phoenix socket.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::connect::{self, ConnectFailure};
use super::frame::MAX_FRAME_BYTES;
use super::{RealtimeError, Reconnect, SocketAuth};

/// How a [`Feed`] connects.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FeedConfig {
    /// `http(s)://host`: the API base URL.
    pub base_url: String,
    /// The feed's path, e.g. `/orgs/c/chats/ws`.
    pub path: String,
    /// The bearer credential, sent as `Authorization`.
    pub auth: SocketAuth,
    /// How long opening the connection may take (default 10 s).
    pub connect_timeout: Duration,
    /// When to reconnect (default: exponential backoff with full jitter).
    pub reconnect: Reconnect,
    /// Frames held for a consumer that has not read them (default 256); newer ones are dropped
    /// and counted by [`Feed::missed`].
    pub buffer: usize,
    /// How often a quiet connection is pinged (default 30 s); one silent for two periods is
    /// replaced.
    pub keepalive: Duration,
}

impl FeedConfig {
    /// Defaults for the feed at `path` of the API at `base_url`.
    pub fn new(base_url: &str, path: &str, auth: SocketAuth) -> Self {
        Self {
            base_url: base_url.to_owned(),
            path: path.to_owned(),
            auth,
            connect_timeout: Duration::from_secs(10),
            reconnect: Reconnect::default(),
            buffer: 256,
            keepalive: Duration::from_secs(30),
        }
    }

    /// Sets [`FeedConfig::reconnect`].
    pub fn reconnect(mut self, reconnect: Reconnect) -> Self {
        self.reconnect = reconnect;
        self
    }

    /// Sets [`FeedConfig::keepalive`] (at least 10 ms).
    pub fn keepalive(mut self, period: Duration) -> Self {
        self.keepalive = period.max(Duration::from_millis(10));
        self
    }

    /// Sets [`FeedConfig::buffer`] (at least 1).
    pub fn buffer(mut self, frames: usize) -> Self {
        self.buffer = frames.max(1);
        self
    }
}

/// An open feed: a [`futures_core::Stream`] of JSON frames. It ends after an error that
/// reconnecting cannot fix (refused credentials with no refresh, a bad URL), which it yields
/// first. Dropping it closes the connection.
pub struct Feed {
    frames: mpsc::Receiver<Result<Value, RealtimeError>>,
    missed: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed")
            .field("missed", &self.missed())
            .finish_non_exhaustive()
    }
}

impl Feed {
    /// Starts the feed (needs a Tokio runtime); it connects in the background.
    pub fn open(config: FeedConfig) -> Self {
        let (sender, frames) = mpsc::channel(config.buffer.max(1));
        let missed = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(run(config, sender, Arc::clone(&missed)));
        Self { frames, missed, task }
    }

    /// The next frame; `None` once the feed has ended.
    pub async fn next_frame(&mut self) -> Option<Result<Value, RealtimeError>> {
        self.frames.recv().await
    }

    /// Frames dropped because the consumer fell [`FeedConfig::buffer`] behind.
    pub fn missed(&self) -> u64 {
        self.missed.load(Ordering::Relaxed)
    }
}

impl futures_core::Stream for Feed {
    type Item = Result<Value, RealtimeError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.frames.poll_recv(cx)
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(config: FeedConfig, frames: mpsc::Sender<Result<Value, RealtimeError>>, missed: Arc<AtomicU64>) {
    let url = match connect::ws_url(&config.base_url, &config.path) {
        Ok(url) => url,
        Err(error) => {
            let _ = frames.send(Err(error)).await;
            return;
        }
    };
    let mut attempt: u32 = 0;
    let mut refreshed = false;
    while !frames.is_closed() {
        let Some((generation, token)) = config.auth.current() else {
            let _ = frames.send(Err(RealtimeError::NoToken)).await;
            return;
        };
        let secrets = [token.expose().to_owned()];
        match connect::open(&url, Some(&token), &secrets, config.connect_timeout).await {
            Ok(ws) => {
                attempt = 0;
                refreshed = false;
                tracing::debug!(target: "agentapis::realtime", path = %config.path, "feed connected");
                if read(ws, &frames, &missed, config.keepalive).await.is_err() {
                    return; // the consumer is gone
                }
            }
            Err(ConnectFailure::Unauthorized(status)) => {
                // Once in a row: a refusal a new token does not fix ends the feed.
                if !refreshed && config.auth.refresh(generation, config.connect_timeout).await {
                    refreshed = true;
                    continue;
                }
                let _ = frames.send(Err(RealtimeError::Unauthorized { status })).await;
                return;
            }
            Err(ConnectFailure::Other(message)) => {
                tracing::warn!(target: "agentapis::realtime", %message, "feed connect failed");
            }
        }
        let delay = config.reconnect.delay(attempt);
        attempt = attempt.saturating_add(1);
        tokio::time::sleep(delay).await;
    }
}

/// Reads one connection until it ends (`Ok`) or the consumer is gone (`Err`). A ping goes out
/// every `keepalive`; a connection silent for two of them is taken for dead.
async fn read(
    ws: connect::Ws,
    frames: &mpsc::Sender<Result<Value, RealtimeError>>,
    missed: &AtomicU64,
    keepalive: Duration,
) -> Result<(), ()> {
    let (mut sink, mut stream) = ws.split();
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + keepalive, keepalive);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut heard = Instant::now();
    loop {
        tokio::select! {
            message = stream.next() => {
                heard = Instant::now();
                match message {
                    Some(Ok(Message::Text(text))) => deliver(text.as_str(), frames, missed),
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return Ok(()),
                    Some(Ok(_)) => {}
                }
            }
            _ = ping.tick() => {
                if heard.elapsed() > keepalive.saturating_mul(2) {
                    tracing::warn!(target: "agentapis::realtime", "feed silent: reconnecting");
                    return Ok(());
                }
                let sent = tokio::time::timeout(keepalive, sink.send(Message::Ping(Vec::new().into()))).await;
                if !matches!(sent, Ok(Ok(()))) {
                    return Ok(());
                }
            }
            () = frames.closed() => return Err(()),
        }
    }
}

fn deliver(text: &str, frames: &mpsc::Sender<Result<Value, RealtimeError>>, missed: &AtomicU64) {
    if text.len() > MAX_FRAME_BYTES {
        tracing::warn!(target: "agentapis::realtime", bytes = text.len(), "feed frame over the size limit dropped");
        return;
    }
    // A frame that is not JSON is kept as its text, so nothing the server says is lost.
    let value = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()));
    if let Err(mpsc::error::TrySendError::Full(_)) = frames.try_send(Ok(value)) {
        missed.fetch_add(1, Ordering::Relaxed);
    }
}
