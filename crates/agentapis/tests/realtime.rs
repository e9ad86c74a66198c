//! Realtime through the facade, against the stand-in: typed ArchAstro channels (join, message,
//! push, unknown push, refused credentials refreshed before the reconnect) and Invent's feeds.
#![cfg(all(feature = "archastro", feature = "invent"))]

use std::time::{Duration, Instant};

use agentapis::archastro::generated::types::{ChatJoinTeamThreadParams, ChatPostMessageParams, ObjectJoinByIdParams};
use agentapis::archastro::realtime::{ChatPush, ObjectPush, RealtimeError, Reconnect};
use agentapis::invent::events::{ChatEvent, OrgFeed};
use agentapis::{archastro, invent, Error};
use agentapis_standin::{Api, Standin};
use futures::StreamExt as _;
use serde_json::json;

async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn thread(team: &str, thread: &str) -> ChatJoinTeamThreadParams {
    ChatJoinTeamThreadParams::builder()
        .team_id(team)
        .thread_id(thread)
        .try_into()
        .expect("valid params")
}

#[tokio::test]
async fn post_a_message_and_receive_its_push() {
    let server = Standin::builder(Api::ArchAstro).start().await.expect("stand-in");
    let client = archastro::Client::builder()
        .token("user-token")
        .base_url(server.base_url())
        .build()
        .expect("client");
    let rt = client.realtime();
    let mut chat = rt.join_team_thread(thread("team_1", "thr_1")).await.expect("joins");
    assert_eq!(chat.topic(), "api:chat:team:team_1:thread:thr_1");
    let params: ChatPostMessageParams = ChatPostMessageParams::builder()
        .content("hello from the tour")
        .try_into()
        .expect("valid");
    let reply = chat.post_message(params).await.expect("posted");
    let push = tokio::time::timeout(Duration::from_secs(5), chat.next())
        .await
        .expect("a push arrives")
        .expect("open");
    let ChatPush::MessageAdded(added) = push else {
        panic!("expected message_added, got {push:?}");
    };
    let stored = server.stored_messages();
    assert_eq!(stored.len(), 1);
    let key = stored[0]["idempotency_key"].as_str().expect("a key was added");
    assert_eq!(key.len(), 32, "the generated method filled in an idempotency key");
    assert_eq!(
        serde_json::to_value(&added).expect("encodes")["message"]["content"],
        "hello from the tour"
    );
    assert!(serde_json::to_value(&reply).is_ok());
    // The same client's second realtime() shares the socket.
    let again = client.realtime();
    let _object = again
        .join_by_id(
            ObjectJoinByIdParams::builder()
                .object_id("obj_1")
                .try_into()
                .expect("valid"),
        )
        .await
        .expect("joins");
    assert_eq!(server.socket_connects().len(), 1, "one socket per client");
}

#[tokio::test]
async fn an_event_the_spec_does_not_describe_arrives_as_unknown() {
    let server = Standin::builder(Api::ArchAstro).start().await.expect("stand-in");
    let client = archastro::Client::builder()
        .token("t")
        .base_url(server.base_url())
        .build()
        .expect("client");
    let mut object = client
        .realtime()
        .join_by_id(
            ObjectJoinByIdParams::builder()
                .object_id("obj_9")
                .try_into()
                .expect("valid"),
        )
        .await
        .expect("joins");
    server.push("api:object:obj_9", "object_archived", json!({"id": "obj_9"}));
    let push = tokio::time::timeout(Duration::from_secs(5), object.next())
        .await
        .expect("arrives")
        .expect("open");
    match push {
        ObjectPush::Unknown { event, payload } => {
            assert_eq!(event, "object_archived");
            assert_eq!(payload["id"], "obj_9");
        }
        other => panic!("expected Unknown, got {other:?}"),
    }
}

#[tokio::test]
async fn a_refused_token_is_refreshed_before_the_reconnect() {
    let server = Standin::builder(Api::ArchAstro)
        .rotating_sessions()
        .start()
        .await
        .expect("stand-in");
    let (access, refresh) = server.issue_session();
    let client = archastro::Client::builder()
        .publishable_key("pk_test_realtime")
        .token(access)
        .refresh_token(refresh)
        .base_url(server.base_url())
        .build()
        .expect("client");
    let rt = client.realtime_with(|c| {
        c.reconnect(Reconnect::Jittered {
            initial: Duration::from_millis(50),
            max: Duration::from_millis(200),
            floor: Duration::from_millis(5),
        })
    });
    let chat = rt.join_team_thread(thread("t", "th")).await.expect("joins");
    // Every access token expires and the connection drops: the reconnect is refused once,
    // the token is refreshed (once), and the channel is rejoined with the new one.
    server.expire_sessions();
    server.disconnect_sockets();
    eventually("a refresh", || server.refreshes() == 1).await;
    eventually("the rejoin", || server.joined().len() == 1).await;
    let params: ChatPostMessageParams = ChatPostMessageParams::builder()
        .content("after")
        .try_into()
        .expect("valid");
    assert!(chat.post_message(params).await.is_ok());
    assert_eq!(server.refreshes(), 1);
}

#[tokio::test]
async fn realtime_without_a_token_says_so() {
    let server = Standin::builder(Api::ArchAstro).start().await.expect("stand-in");
    let client = archastro::Client::builder()
        .secret_key("sk_test_only_a_key")
        .base_url(server.base_url())
        .build()
        .expect("client");
    let joined = client.realtime().join_team_thread(thread("t", "th")).await;
    assert!(matches!(joined, Err(RealtimeError::NoToken)), "{joined:?}");
    let error = Error::from(RealtimeError::NoToken);
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn invent_feeds_are_typed_and_reconnect() {
    let server = Standin::builder(Api::Invent).start().await.expect("stand-in");
    let client = invent::Client::builder()
        .api_key("inv_test_key")
        .base_url(server.base_url())
        .build()
        .expect("client");
    let fast = Reconnect::Jittered {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(200),
        floor: Duration::from_millis(5),
    };
    let mut chats = client.events(OrgFeed::Chats, fast.clone()).expect("opens");
    let mut inbox = client.events(OrgFeed::Inbox, fast).expect("opens");
    eventually("both feeds connected", || {
        server.feed_example("chats") == 1 && server.feed_example("inbox") == 1
    })
    .await;
    for feed in [&mut chats, &mut inbox] {
        let event = tokio::time::timeout(Duration::from_secs(5), feed.next())
            .await
            .expect("a frame")
            .expect("open")
            .expect("not an error");
        assert!(matches!(event, ChatEvent::Chat { .. }), "{event:?}");
    }
    server.feed_push("chats", json!({"type": "typing", "who": "someone"}));
    let raw = chats.next().await.expect("open").expect("ok");
    assert!(matches!(raw, ChatEvent::Raw(_)), "unknown frames are kept raw: {raw:?}");
    server.disconnect_sockets();
    eventually("the feed reconnected", || server.feed_example("chats") == 1).await;
    let event = tokio::time::timeout(Duration::from_secs(5), chats.next())
        .await
        .expect("a frame after the reconnect")
        .expect("open")
        .expect("ok");
    assert!(
        matches!(event, ChatEvent::Chat { kind: Some(ref k), .. } if k == "create"),
        "{event:?}"
    );
}

#[tokio::test]
async fn a_realtime_call_ends_by_the_clients_deadline_as_a_rest_call_does() {
    // A server that accepts connections and never answers the WebSocket upgrade.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let client = archastro::Client::builder()
        .token("user-token")
        .base_url(&base)
        .deadline(Some(Duration::from_millis(300)))
        .build()
        .expect("client");
    let started = Instant::now();
    // Before: the socket's own 10 s reply timeout, whatever the client's deadline.
    let err = client
        .realtime()
        .join_team_thread(thread("team_1", "thr_1"))
        .await
        .expect_err("the upgrade never comes");
    let took = started.elapsed();
    assert!(
        matches!(err, RealtimeError::Timeout { sent: false, after, .. } if after == Duration::from_millis(300)),
        "{err:?}"
    );
    assert!(took < Duration::from_secs(3), "took {took:?}");
}
