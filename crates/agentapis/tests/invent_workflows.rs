//! Invent workflows against the stand-in (org views that fill in `org_id`, sending text) and,
//! for a vendor-specific error body, the raw test server (the assistant-creation limit as a
//! typed rate-limit error).

mod testserver;

use agentapis::invent::{self, chats};
use agentapis::{Api, ArgumentError, Error, PageOptions, RetryPolicy};
use agentapis_standin as standin;
use futures::TryStreamExt as _;
use serde_json::json;
use testserver::{Req, Server};

fn client(base: &str) -> invent::Client {
    invent::Client::builder()
        .api_key("inv_test")
        .base_url(base)
        .retry(RetryPolicy::none())
        .build()
        .expect("client")
}

async fn standin() -> standin::Running {
    standin::Standin::builder(Api::Invent)
        .collection_size(3)
        .start()
        .await
        .expect("stand-in")
}

#[tokio::test]
async fn org_views_remember_their_org() {
    let server = standin().await;
    let parent = client(server.base_url());
    let sub = parent.org("org_child").expect("sub-org view");
    // Neither call passes `org_id`: the client's org (`c`) and the view's are filled in.
    let own = parent.call(|api| api.list_assistants().send()).await.expect("own org");
    let theirs: Vec<_> = sub
        .items(|api| api.list_assistants(), PageOptions::new())
        .try_collect()
        .await
        .expect("sub-org");
    assert_eq!((own.len(), theirs.len()), (3, 3));
    // An operation without `org_id` in its path is reached through the view all the same.
    sub.call(|api| api.list_chat_messages().chat_id("chat_1").send())
        .await
        .expect("a chat's messages");
    let requests = server.requests();
    assert!(requests[0].starts_with("GET /orgs/c/assistants"), "{requests:?}");
    assert!(
        requests[1].starts_with("GET /orgs/org_child/assistants"),
        "{requests:?}"
    );
    assert!(requests[2].starts_with("GET /chats/chat_1/messages"), "{requests:?}");
    assert_eq!((parent.org_id(), sub.org_id()), ("c", "org_child"));
}

#[tokio::test]
async fn send_text_posts_one_text_part_once() {
    let server = standin().await;
    server.fault("createChatMessage", standin::Fault::Status { status: 500, times: 1 });
    let client = invent::Client::builder()
        .api_key("inv_test")
        .base_url(server.base_url())
        .build()
        .expect("client with default retries");
    let err = client.send_text("chat_1", "Where is my order?").await.expect_err("500");
    assert!(matches!(err, Error::Api(ref e) if e.status == 500), "{err:?}");
    assert_eq!(
        server.requests(),
        ["POST /chats/chat_1/messages"],
        "a POST without key is sent once"
    );
    // The stand-in checks the body against the spec: one text part is what it documents.
    client.send_text("chat_1", "hi").await.expect("sent");
    assert_eq!(server.requests().len(), 2);
    assert!(matches!(
        client.send_text("chat_1", "  ").await,
        Err(Error::InvalidArgument(ArgumentError::EmptyText))
    ));
    assert_eq!(server.requests().len(), 2, "an empty message is refused before sending");
}

#[tokio::test]
async fn send_text_sends_exactly_one_text_part() {
    let server = Server::script(|req: &Req| {
        assert_eq!(
            req.json(),
            json!({"message": [{"type": "text", "text": "Where is my order?"}]})
        );
        (
            200,
            vec![],
            json!({"id": "msg_1", "messages": [{"role": "user", "parts": [{"type": "text", "text": "hi"}]}]}),
        )
    })
    .await;
    let message = client(&server.base)
        .send_text("chat_1", "Where is my order?")
        .await
        .expect("sent");
    assert_eq!(chats::text(&message), "hi");
    assert_eq!(server.requests(), ["POST /chats/chat_1/messages"]);
}

#[tokio::test]
async fn the_eleventh_assistant_in_an_hour_is_a_typed_rate_limit() {
    let server = Server::script(|_: &Req| {
        (
            429,
            vec![("retry-after", "3600".into())],
            json!({"message": "Assistant creation limit reached (10 per hour)"}),
        )
    })
    .await;
    let client = client(&server.base);
    let err = client
        .call(|api| {
            api.create_assistant()
                .org_id("c")
                .body_map(|b| b.name("Support bot".to_owned()))
                .send()
        })
        .await
        .expect_err("limited");
    let Error::RateLimited(limit) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(limit.retry_after, Some(std::time::Duration::from_secs(3600)));
    assert!(limit.message.contains("10 per hour"));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_segment_added_to_a_contact_is_listed_as_a_segment() {
    let server = standin().await;
    let client = client(server.base_url());
    let contact = client
        .call(|api| {
            api.add_segment_to_contact()
                .contact_id("ct_1")
                .segment_id("seg_9")
                .send()
        })
        .await
        .expect("added: the answer is the contact");
    assert!(!contact.id.is_empty());
    // Before: the stand-in kept the contact it answered in the segments list, which then did
    // not decode as segments (`missing field color`).
    let segments = client
        .call(|api| api.list_contact_segments().contact_id("ct_1").send())
        .await
        .expect("the list decodes as segments");
    assert!(segments.iter().any(|s| s.id == "seg_9"), "{:?}", *segments);
}

#[tokio::test]
async fn a_binary_answer_is_bytes_of_the_declared_type() {
    // ArchAstro's file avatar is `*/*` binary: bytes, not `{}` as JSON.
    let server = standin::Standin::builder(Api::ArchAstro)
        .start()
        .await
        .expect("stand-in");
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/files/file_1/avatar?token=t_1", server.base_url()))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 200);
    let media = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    assert_eq!(media.as_deref(), Some("application/octet-stream"));
    let body = response.bytes().await.expect("body");
    assert!(
        serde_json::from_slice::<serde_json::Value>(&body).is_err(),
        "not JSON: {body:?}"
    );
}
