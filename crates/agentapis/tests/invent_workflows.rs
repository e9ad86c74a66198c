//! Invent workflows against a scripted server: sub-organization scoping in paths, sending text,
//! and the assistant-creation limit as a typed rate-limit error.

mod scripted;

use agentapis::invent::{self, chats};
use agentapis::{Error, PageOptions, RetryPolicy};
use futures::TryStreamExt as _;
use scripted::{Req, Script};
use serde_json::json;

fn client(base: &str) -> invent::Client {
    invent::Client::builder()
        .api_key("inv_test")
        .base_url(base)
        .retry(RetryPolicy::none())
        .build()
        .expect("client")
}

#[tokio::test]
async fn sub_org_views_address_their_own_org() {
    let server = Script::start(|req: &Req| {
        let org = req.path.split('/').nth(2).unwrap_or_default().to_owned();
        (
            200,
            vec![("pagination-count", "1".into())],
            json!([{"id": format!("as_{org}"), "name": "A"}]),
        )
    })
    .await;
    let parent = client(&server.base);
    let sub = parent.org("org_child").expect("sub-org view");
    let own = parent
        .call(|api| api.list_assistants().org_id(parent.org_id()).send())
        .await
        .expect("own org");
    let theirs: Vec<_> = sub
        .items(|api| api.list_assistants().org_id(sub.org_id()), PageOptions::new())
        .try_collect()
        .await
        .expect("sub-org");
    assert_eq!(own[0].id, "as_c");
    assert_eq!(theirs[0].id, "as_org_child");
    let requests = server.requests();
    assert!(requests[0].starts_with("GET /orgs/c/assistants"), "{requests:?}");
    assert!(
        requests[1].starts_with("GET /orgs/org_child/assistants"),
        "{requests:?}"
    );
}

#[tokio::test]
async fn send_text_posts_one_text_part_once() {
    let server = Script::start(|req: &Req| {
        let body = req.json();
        assert_eq!(
            body,
            json!({"message": [{"type": "text", "text": "Where is my order?"}]})
        );
        (500, vec![], json!({"error": "boom"}))
    })
    .await;
    let client = invent::Client::builder()
        .api_key("inv_test")
        .base_url(&server.base)
        .build()
        .expect("client with default retries");
    let err = client.send_text("chat_1", "Where is my order?").await.expect_err("500");
    assert!(matches!(err, Error::Api(ref e) if e.status == 500), "{err:?}");
    assert_eq!(
        server.requests(),
        ["POST /chats/chat_1/messages"],
        "a POST without key is sent once"
    );

    let ok = Script::start(|_: &Req| {
        (
            200,
            vec![],
            json!({"id": "msg_1", "messages": [{"role": "user", "parts": [{"type": "text", "text": "hi"}]}]}),
        )
    })
    .await;
    let message = invent::Client::builder()
        .api_key("k")
        .base_url(&ok.base)
        .build()
        .expect("client")
        .send_text("chat_1", "hi")
        .await
        .expect("sent");
    assert_eq!(chats::text(&message), "hi");
}

#[tokio::test]
async fn the_eleventh_assistant_in_an_hour_is_a_typed_rate_limit() {
    let server = Script::start(|_: &Req| {
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
