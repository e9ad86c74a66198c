//! The task that owns a socket's connection: connects (refreshing a refused token once),
//! feeds commands and frames to the [`Table`], sends what it writes, beats the heart, and after
//! a loss waits per the reconnect policy. Every send has a deadline, so a peer that stops
//! reading cannot stall the task.

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{SplitSink, StreamExt as _};
use futures_util::SinkExt as _;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::connect::{self, ConnectFailure, Ws};
use super::frame::Frame;
use super::table::{Command, Table};
use super::{RealtimeError, SocketConfig};

type Sink = SplitSink<Ws, Message>;

/// How a connected or waiting phase ended.
enum Exit {
    Shutdown,
    Lost,
    /// Nothing is held any more: the connection was closed until the next join.
    Idle,
}

pub(crate) struct Driver {
    config: Arc<SocketConfig>,
    commands: mpsc::Receiver<Command>,
    stop: Arc<Stop>,
    table: Table,
}

/// A socket's shutdown switch: seen by the task even while it connects.
#[derive(Default)]
pub(crate) struct Stop {
    flag: std::sync::atomic::AtomicBool,
    notify: tokio::sync::Notify,
}

impl Stop {
    pub(crate) fn stop(&self) {
        self.flag.store(true, std::sync::atomic::Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.flag.load(std::sync::atomic::Ordering::SeqCst)
    }

    async fn stopped(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_stopped() {
                return;
            }
            notified.await;
        }
    }
}

impl Driver {
    pub(crate) fn new(config: Arc<SocketConfig>, commands: mpsc::Receiver<Command>, stop: Arc<Stop>) -> Self {
        Self {
            table: Table::new(Arc::clone(&config)),
            config,
            commands,
            stop,
        }
    }

    pub(crate) async fn run(mut self) {
        let mut attempt: u32 = 0;
        loop {
            // Connect only while a channel is held.
            while !self.table.has_channels() {
                match self.commands.recv().await {
                    None | Some(Command::Shutdown) => return,
                    Some(command) => self.table.command(command),
                }
            }
            // A shutdown is not kept waiting behind a slow connect.
            let connected = tokio::select! {
                connected = self.connect() => Some(connected),
                () = self.shutdown_requested() => None,
            };
            let exit = match connected {
                None => Exit::Shutdown,
                Some(Ok(ws)) => {
                    tracing::debug!(target: "agentapis::realtime", url = %self.config.base_url, "socket connected");
                    let since = std::time::Instant::now();
                    let exit = self.connected(ws).await;
                    self.table.disconnected();
                    // The backoff starts over only after a connection that joined and then
                    // stayed up for a heartbeat period: a server that accepts and drops at once
                    // is otherwise reconnected to at the first step forever.
                    if self.table.settled && since.elapsed() >= self.config.heartbeat {
                        attempt = 0;
                    }
                    exit
                }
                Some(Err(error)) => {
                    if let Some(error) = error {
                        self.table.fail_waiters(&error);
                    }
                    Exit::Lost
                }
            };
            match exit {
                Exit::Shutdown => return,
                Exit::Idle => continue,
                Exit::Lost => {}
            }
            let delay = self.config.reconnect.delay(attempt);
            attempt = attempt.saturating_add(1);
            tracing::debug!(target: "agentapis::realtime", ?delay, attempt, "reconnecting after");
            if let Exit::Shutdown = self.wait(delay).await {
                return;
            }
        }
    }

    /// Resolves once [`super::Socket::shutdown`] was called.
    async fn shutdown_requested(&self) {
        self.stop.stopped().await;
    }

    /// Opens the connection, refreshing a refused token once; `Err(Some)` is an error the
    /// joins waiting should get now.
    async fn connect(&self) -> Result<Ws, Option<RealtimeError>> {
        let base = connect::ws_url(&self.config.base_url, &self.config.path).map_err(Some)?;
        let mut refreshed = false;
        loop {
            let Some((generation, token)) = self.config.auth.current() else {
                return Err(Some(RealtimeError::NoToken));
            };
            let encoded = connect::url_encoded(&token);
            let url = format!("{base}?vsn=2.0.0&token={encoded}");
            let secrets = [token.expose().to_owned(), encoded];
            match connect::open(&url, None, &secrets, self.config.connect_timeout).await {
                Ok(ws) => return Ok(ws),
                Err(ConnectFailure::Unauthorized(status)) => {
                    // Once per attempt: a refusal a new token does not fix goes through the backoff.
                    if !refreshed && self.config.auth.refresh(generation, self.config.timeout).await {
                        refreshed = true;
                        continue;
                    }
                    tracing::warn!(target: "agentapis::realtime", status, "socket refused the credentials");
                    return Err(Some(RealtimeError::Unauthorized { status }));
                }
                Err(ConnectFailure::Other(message)) => {
                    tracing::warn!(target: "agentapis::realtime", %message, "socket connect failed");
                    return Err(None);
                }
            }
        }
    }

    /// Serves commands while disconnected, for `delay`.
    async fn wait(&mut self, delay: Duration) -> Exit {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => return Exit::Lost,
                () = self.stop.stopped() => return Exit::Shutdown,
                command = self.commands.recv() => match command {
                    None | Some(Command::Shutdown) => return Exit::Shutdown,
                    Some(command) => self.table.command(command),
                },
            }
        }
    }

    async fn connected(&mut self, ws: Ws) -> Exit {
        let (mut sink, mut stream) = ws.split();
        self.table.connected();
        let period = self.config.heartbeat;
        let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if self.flush(&mut sink).await.is_err() {
                return Exit::Lost;
            }
            if self.table.idle() {
                let _ = tokio::time::timeout(self.config.timeout, sink.close()).await;
                return Exit::Idle;
            }
            let rejoin = self.table.next_rejoin();
            let rejoin_sleep = async {
                match rejoin {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                message = stream.next() => match message {
                    Some(Ok(Message::Text(text))) => match Frame::decode(text.as_str()) {
                        Ok(frame) => self.table.frame(frame),
                        Err(error) => tracing::warn!(target: "agentapis::realtime", %error, "ignored a frame"),
                    },
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return Exit::Lost,
                    Some(Ok(_)) => {} // pings are answered by tungstenite
                },
                command = self.commands.recv() => match command {
                    None | Some(Command::Shutdown) => {
                        let _ = tokio::time::timeout(self.config.timeout, sink.close()).await;
                        return Exit::Shutdown;
                    }
                    Some(command) => self.table.command(command),
                },
                _ = beat.tick() => {
                    if self.table.heartbeat().is_err() {
                        tracing::warn!(target: "agentapis::realtime", "heartbeat unanswered: replacing the connection");
                        return Exit::Lost;
                    }
                }
                () = rejoin_sleep => self.table.rejoin_due(),
                () = self.stop.stopped() => {
                    let _ = tokio::time::timeout(self.config.timeout, sink.close()).await;
                    return Exit::Shutdown;
                }
            }
        }
    }

    /// Sends what the table wrote, each frame within the timeout.
    async fn flush(&mut self, sink: &mut Sink) -> Result<(), ()> {
        for frame in self.table.take_outbox() {
            let sending = sink.send(Message::Text(frame.encode().into()));
            match tokio::time::timeout(self.config.timeout, sending).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::debug!(target: "agentapis::realtime", %error, "send failed");
                    return Err(());
                }
                Err(_) => {
                    tracing::warn!(target: "agentapis::realtime", "send blocked past the timeout: replacing the connection");
                    return Err(());
                }
            }
        }
        Ok(())
    }
}
