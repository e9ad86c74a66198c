//! The realtime client against servers that misbehave on purpose, each a few lines of raw
//! WebSocket on loopback: one that drops every connection right after the join, one that crashes
//! every channel it joined, one whose replies carry the right `ref` for the wrong topic or join,
//! one whose refusal quotes the token, one that never answers a message or never finishes the
//! upgrade (the call's deadline ends the wait, saying whether the message went out). Timings are only ever lower bounds (a slow machine makes
//! gaps longer, never shorter).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentapis_runtime::realtime::{RealtimeError, Reconnect, Resend, Socket, SocketAuth, SocketConfig};
use agentapis_runtime::Secret;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

const TOKEN: &str = "tok_HOSTILE_SECRET_42";

/// 20, 40, 80, ... ms: with the backoff working, the n-th gap is at least the n-th step.
fn schedule() -> Vec<Duration> {
    [20, 40, 80, 160, 320, 640, 1280]
        .into_iter()
        .map(Duration::from_millis)
        .collect()
}

#[derive(Clone, Copy)]
enum Hostile {
    /// Answers the join ok, then closes the connection.
    DropAfterJoin,
    /// Answers every join ok, then crashes the channel (`phx_error`).
    CrashAfterJoin,
    /// Answers the join first with an error reply carrying its `ref` but another topic, then one
    /// with a stale `join_ref`, then the real ok.
    StrayRepliesFirst,
    /// Refuses the join with a reason that quotes the token.
    RefuseQuotingToken,
    /// Answers joins and heartbeats, never a message.
    NeverReplies,
    /// Like `NeverReplies`, but closes its first connection right after the join.
    DropFirstConnection,
}

type Times = Arc<Mutex<Vec<Instant>>>;

/// A server acting `how`; returns its base URL, when each connection and each join arrived,
/// and the other events it received.
async fn server(how: Hostile) -> (String, Times, Times) {
    let (base, connections, joins, _) = server_with_events(how).await;
    (base, connections, joins)
}

async fn server_with_events(how: Hostile) -> (String, Times, Times, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let connections = Arc::new(Mutex::new(Vec::new()));
    let joins = Arc::new(Mutex::new(Vec::new()));
    let events = Arc::new(Mutex::new(Vec::new()));
    let (c, j, e) = (Arc::clone(&connections), Arc::clone(&joins), Arc::clone(&events));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let first = {
                let mut connections = c.lock().expect("lock");
                connections.push(Instant::now());
                connections.len() == 1
            };
            let joins = Arc::clone(&j);
            let events = Arc::clone(&e);
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
                    let reply = |join_ref: &Value, topic: &Value, status: &str, response: Value| {
                        let frame =
                            json!([join_ref, reference, topic, "phx_reply", {"status": status, "response": response}]);
                        Message::Text(frame.to_string().into())
                    };
                    match event.as_str() {
                        Some("heartbeat") => {
                            let _ = ws.send(reply(&Value::Null, topic, "ok", json!({}))).await;
                        }
                        Some("phx_join") => {
                            joins.lock().expect("lock").push(Instant::now());
                            match how {
                                Hostile::DropAfterJoin => {
                                    let _ = ws.send(reply(join_ref, topic, "ok", json!({}))).await;
                                    let _ = ws.close(None).await;
                                    return;
                                }
                                Hostile::CrashAfterJoin => {
                                    let _ = ws.send(reply(join_ref, topic, "ok", json!({}))).await;
                                    let crash = json!([join_ref, null, topic, "phx_error", {}]);
                                    let _ = ws.send(Message::Text(crash.to_string().into())).await;
                                }
                                Hostile::StrayRepliesFirst => {
                                    let wrong = json!("room:other");
                                    let refused = json!({"reason": "not yours"});
                                    let _ = ws.send(reply(join_ref, &wrong, "error", refused.clone())).await;
                                    let _ = ws.send(reply(&json!("999"), topic, "error", refused)).await;
                                    let _ = ws.send(reply(join_ref, topic, "ok", json!({"joined": true}))).await;
                                }
                                Hostile::RefuseQuotingToken => {
                                    let reason = json!({"reason": format!("token {TOKEN} is not valid")});
                                    let _ = ws.send(reply(join_ref, topic, "error", reason)).await;
                                }
                                Hostile::NeverReplies => {
                                    let _ = ws.send(reply(join_ref, topic, "ok", json!({}))).await;
                                }
                                Hostile::DropFirstConnection => {
                                    let _ = ws.send(reply(join_ref, topic, "ok", json!({}))).await;
                                    if first {
                                        let _ = ws.close(None).await;
                                        return;
                                    }
                                }
                            }
                        }
                        Some(other) => events.lock().expect("lock").push(other.to_owned()),
                        None => {}
                    }
                }
            });
        }
    });
    (base, connections, joins, events)
}

fn socket(base: &str) -> Socket {
    let config = SocketConfig::new(base, SocketAuth::Static(Secret::new(TOKEN)))
        .reconnect(Reconnect::Fixed(schedule()))
        .timeout(Duration::from_secs(5));
    Socket::new(config)
}

/// The gaps between successive arrivals.
fn gaps(times: &Mutex<Vec<Instant>>) -> Vec<Duration> {
    let times = times.lock().expect("lock").clone();
    times.windows(2).map(|w| w[1].saturating_duration_since(w[0])).collect()
}

/// Waits until `times` holds `n` arrivals (or 10 s pass), then their gaps.
async fn after(times: &Mutex<Vec<Instant>>, n: usize) -> Vec<Duration> {
    let limit = Instant::now() + Duration::from_secs(10);
    while times.lock().expect("lock").len() < n && Instant::now() < limit {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    gaps(times)
}

fn assert_backs_off(what: &str, gaps: &[Duration]) {
    assert!(gaps.len() >= 5, "{what}: only {} gaps", gaps.len());
    for (i, (gap, step)) in gaps.iter().zip(schedule()).enumerate().take(5) {
        assert!(
            *gap >= step,
            "{what}: gap {i} was {gap:?}, shorter than step {step:?}: {gaps:?}"
        );
    }
}

#[tokio::test]
async fn a_server_that_drops_every_connection_after_the_join_is_backed_off_from() {
    let (base, connections, _) = server(Hostile::DropAfterJoin).await;
    let socket = socket(&base);
    let _channel = socket
        .join("room:1".into(), json!({}))
        .await
        .expect("the first join is answered ok");
    // Before: the successful join reset the backoff, so every gap was the first step (20 ms).
    let gaps = after(&connections, 6).await;
    assert_backs_off("reconnects", &gaps);
    socket.shutdown();
}

#[tokio::test]
async fn a_server_that_crashes_every_channel_it_joins_is_backed_off_from() {
    let (base, _, joins) = server(Hostile::CrashAfterJoin).await;
    let socket = socket(&base);
    let _channel = socket.join("room:1".into(), json!({})).await.expect("joined");
    let gaps = after(&joins, 6).await;
    assert_backs_off("rejoins", &gaps);
    socket.shutdown();
}

#[tokio::test]
async fn a_reply_for_another_topic_or_an_old_join_is_not_the_answer() {
    let (base, _, _) = server(Hostile::StrayRepliesFirst).await;
    let socket = socket(&base);
    // Before: the first reply with the join's ref (another topic, an error) was taken as the answer.
    let channel = socket.join("room:1".into(), json!({})).await;
    assert!(channel.is_ok(), "{:?}", channel.err());
    socket.shutdown();
}

#[tokio::test]
async fn a_refusal_that_quotes_the_token_does_not_show_it() {
    let (base, _, _) = server(Hostile::RefuseQuotingToken).await;
    let socket = socket(&base);
    let err = socket.join("room:1".into(), json!({})).await.expect_err("refused");
    assert!(matches!(err, RealtimeError::Refused { .. }), "{err:?}");
    let shown = format!("{err} {err:?} {:?}", err.reason());
    assert!(!shown.contains("HOSTILE_SECRET"), "{shown}");
    assert!(shown.contains("<redacted> is not valid"), "{shown}");
    socket.shutdown();
}

/// A server that refuses every upgrade with `status` (a raw HTTP answer).
async fn refusing(status: u16) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut head = vec![0u8; 4096];
            let _ = stream.read(&mut head).await;
            let answer = format!("HTTP/1.1 {status} Refused\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    base
}

#[tokio::test]
async fn an_upgrade_refused_with_401_or_403_is_unauthorized_not_a_retry_loop() {
    // Phoenix answers a refused `connect` 403; proxies and other servers say 401. Both end the
    // join with the same typed error.
    for status in [401, 403] {
        let socket = socket(&refusing(status).await);
        let err = socket.join("room:1".into(), json!({})).await.expect_err("refused");
        assert!(
            matches!(err, RealtimeError::Unauthorized { status: s } if s == status),
            "{status}: {err:?}"
        );
        socket.shutdown();
    }
}

/// A server that accepts connections and never answers the upgrade.
async fn stalling() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    base
}

#[tokio::test]
async fn a_message_never_answered_ends_at_its_deadline_as_sent() {
    let (base, _, _, events) = server_with_events(Hostile::NeverReplies).await;
    let socket = socket(&base);
    let channel = socket.join("room:1".into(), json!({})).await.expect("joined");
    let started = Instant::now();
    let err = channel
        .push_within("shout", json!({}), Resend::Never, Duration::from_millis(200))
        .await
        .expect_err("no reply");
    let took = started.elapsed();
    assert!(
        matches!(err, RealtimeError::Timeout { sent: true, after, .. } if after == Duration::from_millis(200)),
        "{err:?}"
    );
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert!(err.to_string().contains("no reply"), "{err}");
    assert_eq!(*events.lock().expect("lock"), ["shout"]);
    socket.shutdown();
}

#[tokio::test]
async fn a_join_waiting_for_an_upgrade_that_never_comes_ends_at_its_deadline_unsent() {
    let socket = socket(&stalling().await);
    let started = Instant::now();
    // The socket's own connect timeout is 10 s and its reply timeout 5 s: the call's 300 ms end it.
    let err = socket
        .join_within("room:1".into(), json!({}), Duration::from_millis(300))
        .await
        .expect_err("never connected");
    let took = started.elapsed();
    assert!(matches!(err, RealtimeError::Timeout { sent: false, .. }), "{err:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(err.to_string().contains("not sent"), "{err}");
    socket.shutdown();
}

#[tokio::test]
async fn a_message_whose_deadline_passes_during_a_reconnect_is_never_sent() {
    let (base, connections, joins, events) = server_with_events(Hostile::DropFirstConnection).await;
    // A long backoff: the message waits for the reconnect past its deadline.
    let config = SocketConfig::new(&base, SocketAuth::Static(Secret::new(TOKEN)))
        .reconnect(Reconnect::Fixed(vec![Duration::from_millis(600)]))
        .timeout(Duration::from_secs(5));
    let socket = Socket::new(config);
    let channel = socket.join("room:1".into(), json!({})).await.expect("joined");
    // The server has closed the connection; the socket is waiting 600 ms before reconnecting.
    after(&connections, 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let err = channel
        .push_within("late", json!({}), Resend::Safe, Duration::from_millis(150))
        .await
        .expect_err("not connected in time");
    assert!(matches!(err, RealtimeError::Timeout { sent: false, .. }), "{err:?}");
    // The reconnect and rejoin come; the abandoned message does not go with them, and a message
    // sent now does.
    after(&joins, 2).await;
    assert_eq!(
        joins.lock().expect("lock").len(),
        2,
        "rejoined on the second connection"
    );
    let err = channel
        .push_within("now", json!({}), Resend::Never, Duration::from_millis(200))
        .await
        .expect_err("this server never replies");
    assert!(matches!(err, RealtimeError::Timeout { sent: true, .. }), "{err:?}");
    assert_eq!(*events.lock().expect("lock"), ["now"]);
    socket.shutdown();
}
