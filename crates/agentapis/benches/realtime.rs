//! The realtime socket's costs that do not show in a latency figure (`cargo bench -p agentapis
//! --bench realtime`; `cargo xtask bench all` runs it with the others): the heap an idle joined
//! channel holds, and how often one client reconnects to a server that accepts and then drops
//! every connection, or crashes every channel it joined. The server is a few lines of raw
//! WebSocket in this process that keeps nothing per join, so the heap counted is the client's.
//! Nothing is asserted; each figure is printed beside its target.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use agentapis_runtime::realtime::{Socket, SocketAuth, SocketConfig};
use agentapis_runtime::Secret;
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

#[global_allocator]
static GLOBAL: &stats_alloc::StatsAlloc<std::alloc::System> = &stats_alloc::INSTRUMENTED_SYSTEM;

/// The vendor's Phoenix client, measured in issue 27 by a harness that is not ours: heap per
/// idle joined channel.
const VENDOR_BYTES_PER_CHANNEL: u64 = 571;
const CHANNELS: usize = 1000;
const FLAP_WINDOW: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, PartialEq)]
enum Server {
    /// Answers every join and heartbeat ok and keeps the connection.
    Steady,
    /// Answers the join ok, then closes the connection.
    DropAfterJoin,
    /// Answers every join ok, then crashes the channel (`phx_error`).
    CrashAfterJoin,
}

/// A server acting `how`; its base URL and how many connections and joins it saw.
async fn server(how: Server) -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let connections = Arc::new(AtomicUsize::new(0));
    let joins = Arc::new(AtomicUsize::new(0));
    let (c, j) = (Arc::clone(&connections), Arc::clone(&joins));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            c.fetch_add(1, Ordering::Relaxed);
            let joins = Arc::clone(&j);
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                while let Some(Ok(Message::Text(text))) = ws.next().await {
                    let Ok(Value::Array(frame)) = serde_json::from_str::<Value>(text.as_str()) else {
                        continue;
                    };
                    let [join_ref, reference, topic, event, _] = frame.as_slice() else {
                        continue;
                    };
                    let ok = json!([join_ref, reference, topic, "phx_reply", {"status": "ok", "response": {}}]);
                    let ok = Message::Text(ok.to_string().into());
                    match event.as_str() {
                        Some("heartbeat") => {
                            let _ = ws.send(ok).await;
                        }
                        Some("phx_join") => {
                            joins.fetch_add(1, Ordering::Relaxed);
                            let _ = ws.send(ok).await;
                            match how {
                                Server::Steady => {}
                                Server::DropAfterJoin => {
                                    let _ = ws.close(None).await;
                                    return;
                                }
                                Server::CrashAfterJoin => {
                                    let crash = json!([join_ref, null, topic, "phx_error", {}]);
                                    let _ = ws.send(Message::Text(crash.to_string().into())).await;
                                }
                            }
                        }
                        _ => {}
                    }
                }
            });
        }
    });
    (base, connections, joins)
}

fn socket(base: &str) -> Socket {
    Socket::new(SocketConfig::new(base, SocketAuth::Static(Secret::new("bench-token"))))
}

/// Heap held now: bytes allocated minus bytes freed since the process started (stats_alloc
/// counts a reallocation's growth or shrinkage in those two already).
fn heap() -> i128 {
    let stats = GLOBAL.stats();
    i128::try_from(stats.bytes_allocated).unwrap_or(i128::MAX) - i128::try_from(stats.bytes_deallocated).unwrap_or(0)
}

/// Heap per idle joined channel: `CHANNELS` joined on one connected socket and held, measured
/// once everything settled, minus what the socket held with one channel (and minus the bench's
/// own `Vec` of handles: where a user keeps a handle is theirs to choose).
async fn heap_per_channel() -> f64 {
    let (base, _, _) = server(Server::Steady).await;
    let socket = socket(&base);
    let first = socket.join("room:first".into(), json!({})).await.expect("join");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = heap();
    let mut held = Vec::with_capacity(CHANNELS);
    let handles_vec = heap() - before; // the bench's own Vec of handles, left out below
    for i in 0..CHANNELS {
        held.push(socket.join(format!("room:{i}"), json!({})).await.expect("join"));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = heap();
    let per_channel = (after - before - handles_vec) as f64 / CHANNELS as f64;
    drop(held);
    drop(first);
    socket.shutdown();
    per_channel
}

/// Connections (or joins) one client makes in `FLAP_WINDOW` to a server acting `how`, with the
/// default reconnect policy.
async fn flapping(how: Server) -> usize {
    let (base, connections, joins) = server(how).await;
    let socket = socket(&base);
    let channel = socket.join("room:1".into(), json!({})).await.expect("the first join");
    tokio::time::sleep(FLAP_WINDOW).await;
    let seen = match how {
        Server::CrashAfterJoin => joins.load(Ordering::Relaxed),
        _ => connections.load(Ordering::Relaxed),
    };
    drop(channel);
    socket.shutdown();
    seen
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let bytes = heap_per_channel().await;
    let connections = flapping(Server::DropAfterJoin).await;
    let rejoins = flapping(Server::CrashAfterJoin).await;
    let verdict = |met: bool| if met { "met" } else { "not met" };
    println!("| figure | target | measured | verdict |");
    println!("|---|---|---|---|");
    println!(
        "| heap per idle joined channel ({CHANNELS} channels on one socket) | ≤ {VENDOR_BYTES_PER_CHANNEL} B (the vendor's client, issue 27; before the fix, this bench at 8090525: 2809 B) | {bytes:.0} B | {} |",
        verdict(bytes <= VENDOR_BYTES_PER_CHANNEL as f64)
    );
    println!(
        "| connections in {} s to a server that drops each one after the join (default `Reconnect`) | ≤ 10 (before the fix, this bench at 8090525: 39; issue 26: 31–36) | {connections} | {} |",
        FLAP_WINDOW.as_secs(),
        verdict(connections <= 10)
    );
    println!(
        "| joins in {} s to a server that crashes each channel after its join | ≤ 10 (before the fix, this bench at 8090525: 38; issue 26: 40–46) | {rejoins} | {} |",
        FLAP_WINDOW.as_secs(),
        verdict(rejoins <= 10)
    );
}
