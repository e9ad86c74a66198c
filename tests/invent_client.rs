//! The generated Invent client against a local mock server: what goes on the wire (query, path
//! encoding, bearer auth, JSON and multipart bodies, no `api-version` header) and how replies
//! decode (typed resources, untyped error bodies).
//!
//! Invent declares no array query parameters and no 204, so the query test uses scalar filters
//! and paging, and the bodyless test uses an operation whose reply body is undocumented.

use agentapis_runtime::multipart::Form;
use agentapis_runtime::{Auth, Runtime, Secret};
use httpmock::prelude::*;
use invent_client::mock::MockServerExt as _;
use invent_client::types::{
    ContactChannelInput, ContactChannelType, CreateContactBody, ListContactsStatus, SegmentColor,
};
use invent_client::{Client, Error};
use serde_json::{json, Value};

const TOKEN: &str = "invent_test_token";

fn client(server: &MockServer) -> Client {
    let runtime = Runtime::new(
        invent_client::API,
        Auth::Bearer(Secret::new(TOKEN)),
        invent_client::OPERATIONS,
    );
    Client::new_with_client(&server.base_url(), reqwest::Client::new(), runtime)
}

fn contact_json() -> Value {
    json!({
        "id": "ct_1",
        "name": "Ada Lovelace",
        "blocked": false,
        "blocked_at": null,
        "is_admin": false,
        "unsubscribed": false,
        "channels": [{
            "id": "ch_1",
            "type": "gmail",
            "user_id": "ada@example.com",
            "avatar": null,
            "email": "ada@example.com",
            "name": "Ada",
            "platform_data": {}
        }],
        "segments": [{
            "id": "seg_1",
            "name": "VIP",
            "color": "violet",
            "contacts_count": 12,
            "created_at": "2025-01-01T00:00:00.000Z",
            "updated_at": "2025-01-02T00:00:00.000Z"
        }],
        "created_at": "2025-01-03T10:00:00.000Z",
        "updated_at": "2025-01-04T10:00:00.000Z"
    })
}

#[tokio::test]
async fn list_contacts_sends_exactly_the_scalar_query_params_set() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/orgs/c/contacts")
                .header_missing("api-version")
                .query_param("search", "ada lovelace")
                .query_param("exclude_admins", "true")
                .query_param("unsubscribed", "false")
                .query_param("status", "SUBSCRIBED")
                .query_param("page", "2")
                .query_param("take", "50")
                .is_true(|req| {
                    req.uri().query()
                        == Some(
                            "exclude_admins=true&page=2&search=ada+lovelace&status=SUBSCRIBED\
                             &take=50&unsubscribed=false",
                        )
                });
            then.status(200)
                .header("pagination-count", "51")
                .header("pagination-page", "2")
                .header("pagination-take", "50")
                .json_body(json!([contact_json()]));
        })
        .await;

    let result = client(&server)
        .list_contacts()
        .org_id("c")
        .search("ada lovelace")
        .exclude_admins(true)
        .unsubscribed(false)
        .status(ListContactsStatus::Subscribed)
        .page(std::num::NonZeroU64::new(2).expect("nonzero"))
        .take(std::num::NonZeroU64::new(50).expect("nonzero"))
        .send()
        .await;
    mock.assert_async().await;
    let response = result.expect("list_contacts succeeds");

    assert_eq!(response.headers()["pagination-count"], "51");
    let contacts = response.into_inner();
    assert_eq!(contacts.len(), 1);
    let contact = &contacts[0];
    assert_eq!(contact.id, "ct_1");
    assert_eq!(contact.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(contact.unsubscribed, Some(false));
    assert_eq!(contact.blocked_at, None);
    assert_eq!(contact.channels[0].type_, ContactChannelType::Gmail);
    assert_eq!(contact.channels[0].user_id, "ada@example.com");
    assert_eq!(contact.channels[0].avatar, None);
    assert_eq!(contact.segments[0].color, SegmentColor::Violet);
    assert_eq!(contact.segments[0].contacts_count, 12.0);
}

#[tokio::test]
async fn create_contact_posts_exact_json_and_decodes_the_contact() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/orgs/c/contacts")
                .header("content-type", "application/json")
                .header_missing("api-version")
                .json_body(json!({
                    "channel": {"email": "ada@example.com", "name": "Ada"},
                    "segment_ids": ["seg_1"]
                }));
            then.status(200).json_body(contact_json());
        })
        .await;

    let result = client(&server)
        .create_contact()
        .org_id("c")
        .body(CreateContactBody {
            channel: Some(ContactChannelInput {
                email: Some("ada@example.com".to_owned()),
                name: Some("Ada".to_owned()),
                ..Default::default()
            }),
            segment_ids: vec!["seg_1".to_owned()],
        })
        .send()
        .await;
    mock.assert_async().await;
    let contact = result.expect("create_contact succeeds").into_inner();

    assert_eq!(contact.id, "ct_1");
    assert!(!contact.blocked);
    assert!(!contact.is_admin);
    assert_eq!(contact.channels[0].email.as_deref(), Some("ada@example.com"));
    assert_eq!(contact.segments[0].id, "seg_1");
    assert_eq!(
        serde_json::to_value(contact.created_at).expect("timestamp serializes"),
        json!("2025-01-03T10:00:00Z")
    );
}

#[tokio::test]
async fn a_typed_mock_answers_with_a_typed_contact() {
    // The client crate's typed mocks (feature `mock`) for the reply direction: the answer is a
    // `types::Contact`, not hand-written JSON. (The request direction stays hand-written above: a
    // typed mock serializes the body with the client's own code, so it cannot catch a wire
    // mistake.)
    let server = MockServer::start_async().await;
    let contact: invent_client::types::Contact = serde_json::from_value(contact_json()).expect("a contact");
    let mock = server.create_contact(|when, then| {
        when.org_id("c");
        then.ok(&contact);
    });
    let got = client(&server)
        .create_contact()
        .org_id("c")
        .body(CreateContactBody::default())
        .send()
        .await
        .expect("answered");
    assert_eq!(got.into_inner(), contact);
    mock.assert_async().await;
}

#[tokio::test]
async fn get_assistant_percent_encodes_path_ids_and_sends_the_bearer_token() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .header("authorization", format!("Bearer {TOKEN}"))
                .header_missing("api-version")
                .is_true(|req| req.uri().path() == "/orgs/org%201/assistants/a%20b%2Fc");
            then.status(200).json_body(json!({
                "id": "a b/c",
                "name": "Support bot",
                "enabled": true,
                "avatar_url": null,
                "created_at": "2025-01-05T08:00:00.000Z"
            }));
        })
        .await;

    let result = client(&server)
        .get_assistant()
        .org_id("org 1")
        .assistant_id("a b/c")
        .send()
        .await;
    mock.assert_async().await;
    let assistant = result.expect("get_assistant succeeds").into_inner();

    assert_eq!(assistant.id, "a b/c");
    assert_eq!(assistant.name, "Support bot");
    assert_eq!(assistant.enabled, Some(true));
    assert_eq!(assistant.avatar_url, None);
    assert!(assistant.actions.is_empty());
}

/// Invent declares no 204. `clearConversationSummaries` is the nearest case: its 200 reply body
/// is undocumented, so the client hands back whatever JSON the server sent.
#[tokio::test]
async fn clear_conversation_summaries_returns_the_undocumented_reply_as_json() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(DELETE)
                .path("/chats/chat_1/memories")
                .header_missing("api-version");
            then.status(200).json_body(json!({"deleted": 3}));
        })
        .await;

    let result = client(&server)
        .clear_conversation_summaries()
        .chat_id("chat_1")
        .send()
        .await;
    mock.assert_async().await;
    let response = result.expect("clear_conversation_summaries succeeds");

    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.into_inner(), json!({"deleted": 3}));
}

#[tokio::test]
async fn get_assistant_404_keeps_the_server_error_body() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path("/orgs/c/assistants/missing");
            then.status(404).json_body(json!({
                "statusCode": 404,
                "message": "Assistant not found",
                "error": "Not Found"
            }));
        })
        .await;

    let result = client(&server)
        .get_assistant()
        .org_id("c")
        .assistant_id("missing")
        .send()
        .await;
    mock.assert_async().await;

    let Err(Error::ErrorResponse(response)) = result else {
        panic!("expected a documented error response, got {result:?}");
    };
    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(
        response.into_inner(),
        json!({"statusCode": 404, "message": "Assistant not found", "error": "Not Found"})
    );
}

#[tokio::test]
async fn import_table_records_sends_multipart_form_data_with_the_body_boundary() {
    let csv = b"name,email\nAda,ada@example.com\n";
    let body = Form::new()
        .file("file", "people.csv", "text/csv", csv)
        .text("mapping", r#"{"name":"name","email":"email"}"#)
        .into_bytes();
    let boundary = String::from_utf8_lossy(&body)
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("--"))
        .expect("form starts with its boundary line")
        .to_owned();

    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/orgs/c/tables/tbl_1/records/import")
                .header("authorization", format!("Bearer {TOKEN}"))
                .header_missing("api-version")
                .header("content-type", format!("multipart/form-data; boundary={boundary}"))
                .body_includes(
                    "Content-Disposition: form-data; name=\"file\"; filename=\"people.csv\"\r\n\
                     Content-Type: text/csv\r\n\r\nname,email\nAda,ada@example.com\n\r\n",
                )
                .body_includes("name=\"mapping\"")
                .body_includes(format!("--{boundary}--\r\n"));
            then.status(200)
                .json_body(json!({"created": 1, "failed": 0, "errors": []}));
        })
        .await;

    let result = client(&server)
        .import_table_records()
        .org_id("c")
        .table_id("tbl_1")
        .body(body)
        .send()
        .await;
    mock.assert_async().await;
    let imported = result.expect("import_table_records succeeds").into_inner();

    assert_eq!(imported.created, 1.0);
    assert_eq!(imported.failed, 0.0);
    assert!(imported.errors.is_empty());
}
