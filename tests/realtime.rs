//! The Phoenix socket of the runtime against the stand-in's realtime side: joins, replies,
//! heartbeats, reconnects, resends, buffers and many channels, untyped (the typed channels are
//! tested in the facade and by the generated channel contract test).

use std::time::{Duration, Instant};

use agentapis_runtime::realtime::{RealtimeError, Reconnect, Resend, Socket, SocketAuth, SocketConfig};
use agentapis_runtime::Secret;
use agentapis_standin::{Api, ChannelFault, Heartbeats, Running, Standin};
use serde_json::{json, Value};

const CHAT: &str = "api:chat:user:key:support";

async fn standin() -> Running {
    Standin::builder(Api::ArchAstro).start().await.expect("stand-in starts")
}

fn config(server: &Running) -> SocketConfig {
    SocketConfig::new(server.base_url(), SocketAuth::Static(Secret::new("test-token")))
        .timeout(Duration::from_secs(5))
        .reconnect(Reconnect::Jittered {
            initial: Duration::from_millis(50),
            max: Duration::from_millis(200),
            floor: Duration::from_millis(5),
        })
}

/// Waits until `done` holds, up to 10 s (a test that hangs is worse than one that fails).
async fn eventually(what: &str, done: impl FnMut() -> bool) {
    eventually_within(Duration::from_secs(10), what, done).await;
}

async fn eventually_within(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn frames_of(server: &Running, event: &str) -> Vec<Value> {
    server
        .channel_frames()
        .into_iter()
        .filter(|(_, e, _)| e == event)
        .map(|(_, _, payload)| payload)
        .collect()
}

#[tokio::test]
async fn join_ok_and_join_refused() {
    let server = standin().await;
    let socket = Socket::new(config(&server));
    let chat = socket.join(CHAT.into(), json!({"limit": 5})).await.expect("joins");
    assert_eq!(chat.topic(), CHAT);
    assert_eq!(server.joined(), vec![CHAT.to_owned()]);
    let refused = socket.join("api:nowhere:1".into(), json!({})).await;
    assert!(
        matches!(&refused, Err(RealtimeError::Refused { reason, .. }) if reason == "unmatched topic"),
        "{refused:?}"
    );
    let twice = socket.join(CHAT.into(), json!({})).await;
    assert!(matches!(twice, Err(RealtimeError::AlreadyJoined { .. })), "{twice:?}");
}

#[tokio::test]
async fn replies_are_matched_by_ref_while_pushes_interleave() {
    let server = standin().await;
    let socket = Socket::new(config(&server));
    let mut chat = socket.join(CHAT.into(), json!({})).await.expect("joins");
    let pushing = async {
        for _ in 0..50 {
            server.push(CHAT, "thread_event", json!({"type": "typing"}));
            tokio::task::yield_now().await;
        }
    };
    let asking = async {
        let mut replies = Vec::new();
        for i in 0..20 {
            let params = json!({"message_id": format!("msg_{i}")});
            replies.push(chat.push("api:chat:mark_thread_read", params, Resend::Never).await);
        }
        replies
    };
    let ((), replies) = tokio::join!(pushing, asking);
    for reply in replies {
        let reply = reply.expect("every message gets its own reply");
        assert!(reply.get("success").and_then(Value::as_bool).is_some(), "{reply}");
    }
    let mut seen = 0;
    while seen < 50 {
        let push = tokio::time::timeout(Duration::from_secs(5), chat.next_push())
            .await
            .expect("pushes arrive")
            .expect("open");
        assert_eq!(push.event, "thread_event");
        seen += 1;
    }
}

#[tokio::test]
async fn an_unanswered_message_times_out_and_rate_limits_are_typed() {
    let server = standin().await;
    let socket = Socket::new(config(&server).timeout(Duration::from_millis(300)));
    let chat = socket.join(CHAT.into(), json!({})).await.expect("joins");
    server.channel_fault("api:chat:delete_message", ChannelFault::NoReply { times: 1 });
    let lost = chat
        .push("api:chat:delete_message", json!({"message_id": "m"}), Resend::Never)
        .await;
    assert!(matches!(lost, Err(RealtimeError::Timeout { .. })), "{lost:?}");
    server.channel_fault("api:chat:delete_message", ChannelFault::RateLimited { times: 1 });
    let limited = chat
        .push("api:chat:delete_message", json!({"message_id": "m"}), Resend::Never)
        .await;
    match limited {
        Err(e @ RealtimeError::RateLimited { .. }) => {
            assert!(e.is_retryable());
            assert_eq!(e.reason(), Some("rate_limited"));
        }
        other => panic!("expected a typed rate limit, got {other:?}"),
    }
    let fine = chat
        .push("api:chat:delete_message", json!({"message_id": "m"}), Resend::Never)
        .await;
    assert!(fine.is_ok(), "the socket survives error replies: {fine:?}");
}

#[tokio::test]
async fn a_dead_heartbeat_reconnects_and_rejoins_every_channel() {
    let server = standin().await;
    let socket = Socket::new(config(&server).heartbeat(Duration::from_millis(100)));
    let topics = [CHAT, "api:object:obj_1", "api:activity_feed:org:org_1"];
    let mut held = Vec::new();
    for topic in topics {
        held.push(socket.join(topic.into(), json!({})).await.expect("joins"));
    }
    server.heartbeats(Heartbeats::Ignore);
    eventually("a reconnect after unanswered heartbeats", || {
        server.socket_connects().len() >= 2
    })
    .await;
    server.heartbeats(Heartbeats::Answer);
    eventually("every channel rejoined", || {
        let mut joined = server.joined();
        joined.sort();
        let mut expected: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
        expected.sort();
        joined == expected
    })
    .await;
    let reply = held[0]
        .push("api:chat:mark_thread_read", json!({"message_id": "m"}), Resend::Never)
        .await;
    assert!(reply.is_ok(), "the rejoined channel works: {reply:?}");
}

#[tokio::test]
async fn messages_sent_while_disconnected_go_out_once_after_the_rejoin() {
    let server = standin().await;
    let socket = Socket::new(config(&server));
    let chat = socket.join(CHAT.into(), json!({})).await.expect("joins");
    // Closed for a while, so the messages below are made while the socket is down.
    let connects = server.socket_connects().len();
    server.refuse_sockets(Duration::from_millis(400));
    server.disconnect_sockets();
    // Once the socket has tried to come back, it knows it is down.
    eventually("a refused reconnect", || server.socket_connects().len() > connects).await;
    let sends = (0..5).map(|i| {
        chat.push(
            "api:chat:edit_message",
            json!({"message_id": format!("m{i}"), "content": "x"}),
            Resend::Never,
        )
    });
    let replies = futures::future::join_all(sends).await;
    assert!(replies.iter().all(Result::is_ok), "{replies:?}");
    let edits = frames_of(&server, "api:chat:edit_message");
    let mut ids: Vec<&str> = edits.iter().filter_map(|p| p.get("message_id")?.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["m0", "m1", "m2", "m3", "m4"], "each delivered exactly once");
}

#[tokio::test]
async fn a_safe_message_is_resent_with_its_key_and_stored_once() {
    let server = standin().await;
    let socket = Socket::new(config(&server));
    let chat = socket.join(CHAT.into(), json!({})).await.expect("joins");
    // The first post is stored but its reply never comes; the connection then drops.
    server.channel_fault("api:chat:post_message", ChannelFault::LoseReply { times: 1 });
    let params = json!({"content": "hello", "idempotency_key": "key-1"});
    let post = chat.push("api:chat:post_message", params, Resend::Safe);
    let drop_connection = async {
        eventually("the first post", || {
            !frames_of(&server, "api:chat:post_message").is_empty()
        })
        .await;
        server.disconnect_sockets();
    };
    let (reply, ()) = tokio::join!(post, drop_connection);
    assert!(reply.is_ok(), "resent after the rejoin and answered: {reply:?}");
    let posts = frames_of(&server, "api:chat:post_message");
    assert_eq!(posts.len(), 2, "sent, then resent once");
    assert!(posts.iter().all(|p| p["idempotency_key"] == "key-1"), "{posts:?}");
    let stored = server.stored_messages();
    assert_eq!(stored.len(), 1, "stored once: {stored:?}");
}

#[tokio::test]
async fn an_unsafe_message_lost_with_the_connection_is_not_resent() {
    let server = standin().await;
    let socket = Socket::new(config(&server));
    let chat = socket.join(CHAT.into(), json!({})).await.expect("joins");
    server.channel_fault("api:chat:delete_message", ChannelFault::NoReply { times: 1 });
    let delete = chat.push("api:chat:delete_message", json!({"message_id": "m"}), Resend::Never);
    let drop_connection = async {
        eventually("the delete", || {
            !frames_of(&server, "api:chat:delete_message").is_empty()
        })
        .await;
        server.disconnect_sockets();
    };
    let (reply, ()) = tokio::join!(delete, drop_connection);
    assert!(matches!(reply, Err(RealtimeError::Disconnected { .. })), "{reply:?}");
    eventually("the rejoin", || server.joined().len() == 1).await;
    assert_eq!(
        frames_of(&server, "api:chat:delete_message").len(),
        1,
        "never sent twice"
    );
}

#[tokio::test]
async fn a_hundred_channels_share_one_socket() {
    let server = standin().await;
    let socket = Socket::new(config(&server));
    let joins = (0..100).map(|i| socket.join(format!("api:object:obj_{i}"), json!({})));
    let mut channels: Vec<_> = futures::future::join_all(joins)
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("all join");
    assert_eq!(server.socket_connects().len(), 1, "one connection");
    assert_eq!(server.joined().len(), 100);
    for i in [0, 42, 99] {
        server.push(&format!("api:object:obj_{i}"), "object_updated", json!({"id": i}));
    }
    for i in [0, 42, 99] {
        let push = tokio::time::timeout(Duration::from_secs(5), channels[i].next_push())
            .await
            .expect("arrives")
            .expect("open");
        assert_eq!(push.payload["id"], i, "each push reaches its own channel only");
    }
    drop(channels.split_off(50));
    eventually("the dropped channels left", || server.joined().len() == 50).await;
}

#[tokio::test]
async fn a_consumer_that_never_reads_holds_a_bounded_buffer() {
    let server = standin().await;
    let socket = Socket::new(config(&server).push_buffer(64));
    let chat = socket.join(CHAT.into(), json!({})).await.expect("joins");
    // In batches the stand-in's own send queue (1024 frames) holds.
    for batch in 0..10u64 {
        for i in 0..500 {
            server.push(CHAT, "thread_event", json!({"type": "typing", "payload": {"i": i}}));
        }
        let sent = (batch + 1) * 500;
        eventually("the batch seen", || chat.missed() >= sent - 64).await;
    }
    assert_eq!(chat.missed(), 5_000 - 64, "64 kept, the rest dropped and counted");
    let reply = chat
        .push("api:chat:mark_thread_read", json!({"message_id": "m"}), Resend::Never)
        .await;
    assert!(reply.is_ok(), "a full push buffer does not stall replies: {reply:?}");
}

#[tokio::test]
async fn refused_credentials_are_an_error_not_a_hang() {
    let server = Standin::builder(Api::ArchAstro)
        .rotating_sessions()
        .start()
        .await
        .expect("starts");
    let socket = Socket::new(
        SocketConfig::new(server.base_url(), SocketAuth::Static(Secret::new("not-a-session")))
            .timeout(Duration::from_secs(3)),
    );
    let refused = socket.join(CHAT.into(), json!({})).await;
    assert!(
        matches!(refused, Err(RealtimeError::Unauthorized { status: 403 })),
        "{refused:?}"
    );
    assert!(!format!("{refused:?}").contains("not-a-session"));
}

/// The reconnect herd: `clients` sockets lose their connection together and the stand-in
/// refuses upgrades for `outage` (a restart). Returns when each connection attempt reached the
/// stand-in (TCP accept, from the outage's start), refused or not, until all are rejoined.
async fn reconnect_attempts(reconnect: Reconnect, clients: usize, outage: Duration) -> Vec<Duration> {
    let server = standin().await;
    let mut held = Vec::new();
    for i in 0..clients {
        let socket = Socket::new(config(&server).reconnect(reconnect.clone()));
        held.push(socket.join(format!("api:object:o{i}"), json!({})).await.expect("joins"));
    }
    let start = Instant::now();
    server.refuse_sockets(outage);
    server.disconnect_sockets();
    // The default policy's longest wait is 10 s.
    eventually_within(Duration::from_secs(40), "every client rejoined", || {
        server.joined().len() == clients
    })
    .await;
    let mut times: Vec<Duration> = server
        .accepted_connections()
        .into_iter()
        .filter(|t| *t >= start)
        .map(|t| t.duration_since(start))
        .collect();
    times.sort();
    times
}

/// The most attempts that reached the server within any 50 ms window.
fn peak(times: &[Duration]) -> usize {
    let window = Duration::from_millis(50);
    (0..times.len())
        .map(|i| times[i..].iter().take_while(|t| **t - times[i] < window).count())
        .max()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_clients_come_back_spread_out() {
    let outage = Duration::from_secs(2);
    let jittered = reconnect_attempts(Reconnect::default(), 1_000, outage).await;
    let fixed = reconnect_attempts(Reconnect::vendor_fixed(), 1_000, outage).await;
    // The herd that matters is the one meeting the restarted server.
    let back = |t: &[Duration]| t.iter().copied().filter(|t| *t >= outage).collect::<Vec<_>>();
    let (pj, pf) = (peak(&back(&jittered)), peak(&back(&fixed)));
    let (dj, df) = (peak(&jittered), peak(&fixed));
    println!(
        "1000 clients, {outage:?} outage: jittered backoff: {} attempts, peak {dj} per 50 ms while down, \
         {pj} per 50 ms once back; fixed schedule: {} attempts, peak {df} while down, {pf} once back",
        jittered.len(),
        fixed.len()
    );
    // Loose bounds (the measured ratios are in the closing note and vary with the machine's
    // load): the spread shows as a lower peak and fewer attempts at a server that is down.
    assert!(pj < pf, "jitter spreads the herd: peak {pj} vs {pf} per 50 ms");
    assert!(
        jittered.len() < fixed.len(),
        "fewer attempts: {} vs {}",
        jittered.len(),
        fixed.len()
    );
}

#[tokio::test]
async fn a_stale_handle_cannot_leave_a_newer_join_of_its_topic() {
    let server = standin().await;
    // A zero heartbeat would panic a timer: it is raised to a floor.
    let socket = Socket::new(config(&server).heartbeat(Duration::ZERO));
    let mut first = socket.join(CHAT.into(), json!({})).await.expect("joins");
    let twice = socket.join(CHAT.into(), json!({})).await;
    assert!(matches!(twice, Err(RealtimeError::AlreadyJoined { .. })), "{twice:?}");
    assert_eq!(server.joined().len(), 1, "the refused second join left nothing");
    // The server closes the channel; the first handle sees its stream end, with the reason.
    server.push(CHAT, "phx_close", json!({}));
    let ended = tokio::time::timeout(Duration::from_secs(5), first.next_push())
        .await
        .expect("ends");
    assert!(ended.is_none());
    assert_eq!(first.closed_reason(), Some("closed by the server"));
    let second = socket.join(CHAT.into(), json!({})).await.expect("joins again");
    drop(first); // an earlier join's handle: its leave must not touch the new one
    let reply = second
        .push("api:chat:mark_thread_read", json!({"message_id": "m"}), Resend::Never)
        .await;
    assert!(reply.is_ok(), "{reply:?}");
    assert_eq!(server.joined(), vec![CHAT.to_owned()]);
}

#[tokio::test]
async fn shutdown_ends_the_socket_even_while_it_reconnects() {
    let server = standin().await;
    let socket = Socket::new(config(&server));
    let chat = socket.join(CHAT.into(), json!({})).await.expect("joins");
    server.refuse_sockets(Duration::from_secs(30));
    server.disconnect_sockets();
    let connects = server.socket_connects().len();
    eventually("a refused reconnect", || server.socket_connects().len() > connects).await;
    socket.shutdown();
    let after = socket.join("api:object:o".into(), json!({})).await;
    assert!(matches!(after, Err(RealtimeError::Closed { .. })), "{after:?}");
    let push = chat
        .push("api:chat:mark_thread_read", json!({"message_id": "m"}), Resend::Never)
        .await;
    assert!(matches!(push, Err(RealtimeError::Closed { .. })), "{push:?}");
}
