//! The stand-in's WebSockets, driven by a real client: ArchAstro's Phoenix channels (joins,
//! replies generated from the spec, chat message storage and pushes, heartbeats, scripted faults,
//! restarts) and Invent's feeds.

use std::time::{Duration, Instant};

use agentapis_standin::{Api, ChannelFault, Heartbeats, Running, Standin};
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

const WAIT: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(300);
const THREAD: &str = "api:chat:user:thread:thr_1";

async fn archastro() -> Running {
    Standin::builder(Api::ArchAstro).start().await.expect("stand-in")
}

fn socket_url(server: &Running, query: &str) -> String {
    format!(
        "{}/socket/api/websocket{query}",
        server.base_url().replacen("http", "ws", 1)
    )
}

async fn connect(server: &Running) -> Ws {
    let url = socket_url(server, "?vsn=2.0.0&token=at_test");
    connect_async(url.as_str()).await.expect("socket").0
}

/// The HTTP status an upgrade was refused with.
async fn refused(url: &str) -> (u16, Value) {
    match connect_async(url).await {
        Err(WsError::Http(response)) => {
            let body = response
                .body()
                .as_deref()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or(Value::Null);
            (response.status().as_u16(), body)
        }
        Ok(_) => panic!("upgrade accepted: {url}"),
        Err(e) => panic!("not an HTTP refusal: {e}"),
    }
}

async fn send(ws: &mut Ws, frame: Value) {
    ws.send(Message::text(frame.to_string())).await.expect("send");
}

/// The next JSON text frame; `None` if none comes within `within` or the socket closed.
async fn next_within(ws: &mut Ws, within: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return serde_json::from_str(text.as_str()).ok(),
            Ok(Some(Ok(Message::Close(_)))) | Ok(Some(Err(_))) | Ok(None) | Err(_) => return None,
            Ok(Some(Ok(_))) => {}
        }
    }
}

async fn next(ws: &mut Ws) -> Value {
    next_within(ws, WAIT).await.expect("a frame")
}

/// Sends `[join_ref, ref, topic, event, payload]` and returns the reply's payload.
async fn call(ws: &mut Ws, join_ref: &str, reference: &str, topic: &str, event: &str, payload: Value) -> Value {
    send(ws, json!([join_ref, reference, topic, event, payload])).await;
    let reply = next(ws).await;
    assert_eq!(
        (&reply[1], &reply[2], &reply[3]),
        (&json!(reference), &json!(topic), &json!("phx_reply")),
        "{reply}"
    );
    reply[4].clone()
}

async fn join(ws: &mut Ws, join_ref: &str, topic: &str) -> Value {
    call(ws, join_ref, join_ref, topic, "phx_join", json!({})).await
}

#[tokio::test]
async fn joins_are_matched_against_the_channel_patterns() {
    let server = archastro().await;
    let mut ws = connect(&server).await;
    let ok = join(&mut ws, "1", THREAD).await;
    assert_eq!(ok["status"], "ok", "{ok}");
    assert!(ok["response"].is_object());
    assert_eq!(server.joined(), vec![THREAD.to_owned()]);

    let unknown = join(&mut ws, "2", "api:nowhere:x").await;
    assert_eq!(
        unknown,
        json!({"status": "error", "response": {"reason": "unmatched topic"}})
    );
    let empty_param = join(&mut ws, "3", "api:object:").await;
    assert_eq!(empty_param["response"]["reason"], "unmatched topic");

    let bad = call(&mut ws, "4", "4", "api:object:o1", "phx_join", json!({"object_id": 7})).await;
    assert_eq!(bad["response"]["reason"], "invalid params", "{bad}");
    assert!(!bad["response"]["errors"].as_array().expect("errors").is_empty());

    let left = call(&mut ws, "1", "5", THREAD, "phx_leave", json!({})).await;
    assert_eq!(left["status"], "ok");
    let close = next(&mut ws).await;
    assert_eq!(close, json!(["1", null, THREAD, "phx_close", {}]));
    assert!(server.joined().is_empty());
}

#[tokio::test]
async fn sockets_need_vsn_and_a_current_token() {
    // 403, as a Phoenix endpoint answers a refused `connect` (not 401).
    let server = archastro().await;
    let (status, body) = refused(&socket_url(&server, "?vsn=2.0.0")).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "forbidden", "vendor error shape: {body}");
    assert_eq!(refused(&socket_url(&server, "?vsn=2.0.0&token=")).await.0, 403);
    assert_eq!(refused(&socket_url(&server, "?token=t")).await.0, 403);
    assert_eq!(refused(&socket_url(&server, "?vsn=1.0.0&token=t")).await.0, 403);

    let rotating = Standin::builder(Api::ArchAstro)
        .rotating_sessions()
        .start()
        .await
        .expect("stand-in");
    assert_eq!(refused(&socket_url(&rotating, "?vsn=2.0.0&token=made_up")).await.0, 403);
    let (access, _) = rotating.issue_session();
    let url = socket_url(&rotating, &format!("?vsn=2.0.0&token={access}"));
    assert!(connect_async(url.as_str()).await.is_ok());
    assert_eq!(rotating.socket_connects().len(), 2);
}

#[tokio::test]
async fn messages_are_validated_and_answered_from_their_returns_schema() {
    let server = archastro().await;
    let mut ws = connect(&server).await;
    let topic = "api:object:obj_9";
    join(&mut ws, "1", topic).await;
    let fields = json!({"fields": {"title": "x"}});
    let updated = call(&mut ws, "1", "2", topic, "update_fields", fields.clone()).await;
    assert_eq!(updated["status"], "ok", "{updated}");
    assert!(updated["response"]["fields"].is_object() && updated["response"]["id"].is_string());

    let bad = call(&mut ws, "1", "3", topic, "update_fields", json!({})).await;
    assert_eq!(bad["response"]["reason"], "invalid params");
    let unknown = call(&mut ws, "1", "4", topic, "api:chat:post_message", json!({})).await;
    assert_eq!(unknown["response"], json!({"reason": "unknown event"}));
    let not_joined = call(&mut ws, "9", "5", "api:object:other", "update_fields", fields.clone()).await;
    assert_eq!(not_joined["response"], json!({"reason": "unmatched topic"}));

    join(&mut ws, "6", THREAD).await;
    let read = call(
        &mut ws,
        "6",
        "7",
        THREAD,
        "api:chat:mark_thread_read",
        json!({"message_id": "m"}),
    )
    .await;
    assert_eq!(read, json!({"status": "ok", "response": {"success": true}}));
    let frames = server.channel_frames();
    assert!(frames.contains(&(topic.to_owned(), "update_fields".to_owned(), fields)));
}

#[tokio::test]
async fn a_resent_post_is_stored_and_pushed_once() {
    let server = archastro().await;
    let (mut poster, mut reader) = (connect(&server).await, connect(&server).await);
    join(&mut poster, "1", THREAD).await;
    join(&mut reader, "7", THREAD).await;
    let post = json!({"content": "hello", "idempotency_key": "key-1"});
    let first = call(&mut poster, "1", "2", THREAD, "api:chat:post_message", post.clone()).await;
    assert_eq!(first["status"], "ok", "{first}");
    let message = first["response"]["message"].clone();
    assert_eq!(
        (&message["content"], &message["idempotency_key"]),
        (&json!("hello"), &json!("key-1"))
    );

    // The poster, a member of the topic, gets the push after its reply.
    let own_push = next(&mut poster).await;
    assert_eq!(own_push[3], "message_added");
    let second = call(&mut poster, "1", "3", THREAD, "api:chat:post_message", post).await;
    assert_eq!(second["response"]["message"], message, "the stored message again");
    assert_eq!(server.stored_messages(), vec![message.clone()]);

    let pushed = next(&mut reader).await;
    assert_eq!(
        (&pushed[0], &pushed[1], &pushed[2], &pushed[3]),
        (&json!("7"), &Value::Null, &json!(THREAD), &json!("message_added"))
    );
    assert_eq!(pushed[4]["message"], message);
    assert_eq!(pushed[4]["thread_id"], "thr_1", "topic params fill the push");
    assert_eq!(next_within(&mut reader, QUIET).await, None, "pushed once");

    let simple = call(
        &mut poster,
        "1",
        "4",
        THREAD,
        "api:chat:post_simple_message",
        json!({"content": "again"}),
    )
    .await;
    assert_eq!(simple["response"]["message"]["content"], "again");
    assert!(simple["response"]["message"].get("idempotency_key").is_none());
    assert_eq!(server.stored_messages().len(), 2);
}

#[tokio::test]
async fn channel_faults_are_played_then_cleared() {
    let server = archastro().await;
    let mut ws = connect(&server).await;
    join(&mut ws, "1", THREAD).await;
    server.channel_fault("api:chat:post_message", ChannelFault::RateLimited { times: 1 });
    let post = json!({"content": "hi"});
    let limited = call(&mut ws, "1", "2", THREAD, "api:chat:post_message", post.clone()).await;
    assert_eq!(
        limited,
        json!({"status": "error", "response": {"reason": "rate_limited"}})
    );
    assert_eq!(
        call(&mut ws, "1", "3", THREAD, "api:chat:post_message", post.clone()).await["status"],
        "ok"
    );
    next(&mut ws).await; // the message_added push

    server.channel_fault(
        "api:chat:mark_thread_read",
        ChannelFault::Error {
            reason: "boom".into(),
            times: 1,
        },
    );
    let failed = call(
        &mut ws,
        "1",
        "4",
        THREAD,
        "api:chat:mark_thread_read",
        json!({"message_id": "m"}),
    )
    .await;
    assert_eq!(failed["response"]["reason"], "boom");

    server.channel_fault("api:chat:list_messages", ChannelFault::NoReply { times: 1 });
    send(&mut ws, json!(["1", "5", THREAD, "api:chat:list_messages", {}])).await;
    assert_eq!(next_within(&mut ws, QUIET).await, None);

    server.channel_fault("api:chat:list_messages", ChannelFault::Drop { times: 1 });
    send(&mut ws, json!(["1", "6", THREAD, "api:chat:list_messages", {}])).await;
    assert_eq!(next_within(&mut ws, WAIT).await, None, "dropped without a reply");
    assert!(server.joined().is_empty());
}

#[tokio::test]
async fn heartbeats_are_answered_delayed_or_ignored() {
    let server = archastro().await;
    let mut ws = connect(&server).await;
    let beat = call(&mut ws, "", "h1", "phoenix", "heartbeat", json!({})).await;
    assert_eq!(beat, json!({"status": "ok", "response": {}}));

    server.heartbeats(Heartbeats::Ignore);
    send(&mut ws, json!([null, "h2", "phoenix", "heartbeat", {}])).await;
    assert_eq!(next_within(&mut ws, QUIET).await, None);

    server.heartbeats(Heartbeats::Delay(Duration::from_millis(200)));
    let sent = Instant::now();
    send(&mut ws, json!([null, "h3", "phoenix", "heartbeat", {}])).await;
    let late = next(&mut ws).await;
    assert_eq!((&late[1], &late[3]), (&json!("h3"), &json!("phx_reply")));
    assert!(sent.elapsed() >= Duration::from_millis(200));
    assert!(server.channel_frames().is_empty(), "heartbeats are not logged");
}

#[tokio::test]
async fn hostile_frames_are_ignored_and_huge_ones_close_the_socket() {
    let server = archastro().await;
    let mut ws = connect(&server).await;
    for junk in [
        "",
        "{",
        "[]",
        "[1,2,3,4,5]",
        "{\"a\":1}",
        "[null,null,null,null,null]",
        "\u{0}",
    ] {
        ws.send(Message::text(junk)).await.expect("send");
    }
    ws.send(Message::binary(vec![0u8; 16])).await.expect("send");
    let beat = call(&mut ws, "", "h", "phoenix", "heartbeat", json!({})).await;
    assert_eq!(beat["status"], "ok", "still serving");

    ws.send(Message::text("x".repeat(2 << 20))).await.expect("send");
    let code = loop {
        match tokio::time::timeout(WAIT, ws.next()).await.expect("closed in time") {
            Some(Ok(Message::Close(frame))) => break frame.map(|f| f.code),
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("no close frame: {e}"),
            None => panic!("no close frame"),
        }
    };
    assert_eq!(code, Some(CloseCode::Policy));
}

#[tokio::test]
async fn restarts_close_sockets_and_refuse_upgrades() {
    let server = archastro().await;
    let (mut a, mut b) = (connect(&server).await, connect(&server).await);
    join(&mut a, "1", THREAD).await;
    join(&mut b, "1", THREAD).await;
    assert_eq!(server.disconnect_sockets(), 2);
    assert!(server.joined().is_empty());
    for ws in [&mut a, &mut b] {
        let closed = tokio::time::timeout(WAIT, ws.next()).await.expect("closed in time");
        assert!(
            matches!(&closed, Some(Ok(Message::Close(Some(f)))) if f.code == CloseCode::Away),
            "{closed:?}"
        );
    }
    assert_eq!(server.disconnect_sockets(), 0);

    server.refuse_sockets(Duration::from_millis(400));
    let (status, body) = refused(&socket_url(&server, "?vsn=2.0.0&token=t")).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(server.socket_connects().len(), 3, "refused attempts count");
    tokio::time::sleep(Duration::from_millis(450)).await;
    let mut again = connect(&server).await;
    assert_eq!(join(&mut again, "1", THREAD).await["status"], "ok");
    assert_eq!(server.socket_connects().len(), 4);
}

#[tokio::test]
async fn pushes_reach_the_sockets_that_joined() {
    let server = archastro().await;
    let mut ws = connect(&server).await;
    join(&mut ws, "3", THREAD).await;
    assert_eq!(server.push_example(THREAD, "message_added"), 1);
    let pushed = next(&mut ws).await;
    assert_eq!(
        (&pushed[0], &pushed[1], &pushed[3]),
        (&json!("3"), &Value::Null, &json!("message_added"))
    );
    assert!(pushed[4]["message"]["id"].is_string(), "{pushed}");
    assert_eq!(server.push(THREAD, "thread_event", json!({"type": "typing"})), 1);
    assert_eq!(next(&mut ws).await[4], json!({"type": "typing"}));
    assert_eq!(
        server.push_example("api:object:o1", "object_updated"),
        0,
        "nobody joined"
    );
    assert_eq!(server.push_example(THREAD, "no_such_push"), 0);
}

#[tokio::test]
async fn invent_feeds_send_chat_events() {
    let server = Standin::builder(Api::Invent).start().await.expect("stand-in");
    let url = format!("{}/orgs/c/chats/ws", server.base_url().replacen("http", "ws", 1));
    assert_eq!(refused(&url).await.0, 401, "same bearer auth as REST");
    let mut request = url.as_str().into_client_request().expect("request");
    request
        .headers_mut()
        .insert("authorization", "Bearer k".parse().expect("header"));
    let (mut ws, _) = connect_async(request).await.expect("feed");
    // The server registers the socket just after answering the upgrade.
    let deadline = Instant::now() + WAIT;
    while server.feed_example("chats") == 0 {
        assert!(Instant::now() < deadline, "feed socket never registered");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let frame = next(&mut ws).await;
    assert_eq!(frame["type"], "create");
    assert!(frame["data"].is_object() && frame["data"]["id"].is_string(), "{frame}");
    assert_eq!(server.feed_push("inbox", json!({"data": {}})), 0, "another feed");
    assert_eq!(server.feed_push("chats", json!({"type": "update"})), 1);
    assert_eq!(next(&mut ws).await, json!({"type": "update"}));
    ws.send(Message::Ping(vec![1, 2].into())).await.expect("ping");
    let pong = tokio::time::timeout(WAIT, ws.next()).await.expect("pong in time");
    assert!(matches!(pong, Some(Ok(Message::Pong(_)))), "{pong:?}");
    assert_eq!(server.disconnect_sockets(), 1);
}

#[tokio::test]
async fn refs_are_echoed_as_sent_and_a_second_join_closes_the_first() {
    let server = archastro().await;
    let mut ws = connect(&server).await;
    // Integer refs (some clients count with numbers) come back as integers, as Phoenix does.
    send(&mut ws, json!([1, 2, THREAD, "phx_join", {}])).await;
    let reply = next(&mut ws).await;
    assert_eq!(
        (&reply[0], &reply[1], &reply[3]),
        (&json!(1), &json!(2), &json!("phx_reply")),
        "{reply}"
    );
    send(&mut ws, json!([null, 3, "phoenix", "heartbeat", {}])).await;
    assert_eq!(next(&mut ws).await[1], json!(3));
    // The same topic joined again: the first join's channel is closed, the new one answered.
    send(&mut ws, json!(["7", "8", THREAD, "phx_join", {}])).await;
    let mut frames = vec![next(&mut ws).await, next(&mut ws).await];
    frames.sort_by_key(|f| f[3].as_str().map(str::to_owned));
    assert_eq!(frames[0], json!([1, null, THREAD, "phx_close", {}]), "{frames:?}");
    assert_eq!((&frames[1][0], &frames[1][3]), (&json!("7"), &json!("phx_reply")));
    assert_eq!(server.joined(), vec![THREAD.to_owned()]);
}
