//! The generated ArchAstro client against a local mock server: what goes on the wire (Plug
//! bracket arrays, bracket-encoded metadata filters, path encoding, the `x-archastro-api-key`
//! header, JSON bodies, no `api-version` header) and how replies decode (typed resources, 204s,
//! JSON error bodies).

use agentapis_runtime::query::encode_deep;
use agentapis_runtime::{Auth, Runtime, Secret};
use archastro_client::mock::MockServerExt as _;
use archastro_client::types::{ActivityFeedEntryAgent, CreateAgentBody};
use archastro_client::{Client, Error};
use httpmock::prelude::*;
use serde_json::{json, Map, Value};

const API_KEY: &str = "sk_test_archastro";

fn client(server: &MockServer) -> Client {
    let runtime = Runtime::new(
        archastro_client::API,
        Auth::Header {
            name: "x-archastro-api-key",
            value: Secret::new(API_KEY),
        },
        archastro_client::OPERATIONS,
    );
    Client::new_with_client(&server.base_url(), reqwest::Client::new(), runtime)
}

/// Every value the server received for `key`, in order (keys decoded, so `kind[]` not `kind%5B%5D`).
fn query_values(req: &HttpMockRequest, key: &str) -> Vec<String> {
    req.query_params()
        .into_iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v)
        .collect()
}

fn object(value: Value) -> Map<String, Value> {
    value.as_object().cloned().expect("test payload is a JSON object")
}

#[tokio::test]
async fn activity_feed_sends_array_params_as_repeated_bracket_keys() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v1/activity_feed")
                .header_missing("api-version")
                .query_param("kind[]", "message")
                .query_param("kind[]", "tool_call")
                .query_param("level[]", "error")
                .query_param("limit", "20")
                .query_param_missing("kind")
                .is_true(|req| query_values(req, "kind[]") == ["message", "tool_call"])
                .is_true(|req| {
                    req.uri().query() == Some("kind%5B%5D=message&kind%5B%5D=tool_call&level%5B%5D=error&limit=20")
                });
            then.status(200).json_body(json!({
                "data": [
                    {
                        "id": "act_1",
                        "kind": "message",
                        "level": "info",
                        "agent": "agt_1",
                        "content": "hello",
                        "created_at": "2025-03-01T12:00:00Z"
                    },
                    {
                        "id": "act_2",
                        "kind": "tool_call",
                        "level": "error",
                        "agent": {"id": "agt_2", "name": "Support"}
                    }
                ],
                "has_more": true,
                "after_cursor": "cur_2",
                "before_cursor": null
            }));
        })
        .await;

    let result = client(&server)
        .get_activity_feed()
        .kind(vec!["message".to_owned(), "tool_call".to_owned()])
        .level(vec!["error".to_owned()])
        .limit(20)
        .send()
        .await;
    mock.assert_async().await;
    let feed = result.expect("get_activity_feed succeeds").into_inner();

    assert!(feed.has_more);
    assert_eq!(feed.after_cursor.as_deref(), Some("cur_2"));
    assert_eq!(feed.before_cursor, None);
    assert_eq!(feed.data.len(), 2);
    assert_eq!(feed.data[0].id, "act_1");
    assert_eq!(feed.data[0].kind.as_deref(), Some("message"));
    assert_eq!(
        feed.data[0].agent,
        Some(ActivityFeedEntryAgent::String("agt_1".to_owned()))
    );
    match &feed.data[1].agent {
        Some(ActivityFeedEntryAgent::Agent(agent)) => {
            assert_eq!(agent.id, "agt_2");
            assert_eq!(agent.name.as_deref(), Some("Support"));
        }
        other => panic!("expected an embedded agent object, got {other:?}"),
    }
}

#[tokio::test]
async fn the_typed_mock_matches_every_item_of_an_array_query_parameter() {
    // The client crate's typed mocks (feature `mock`): `kind` is matched as one `kind[]` pair per
    // item, as the client sends it (progenitor's mock generator wrote `Vec::to_string`, which
    // does not exist; the generator repairs it).
    let server = MockServer::start_async().await;
    let kinds = vec!["message".to_owned(), "tool_call".to_owned()];
    let mock = server.get_activity_feed(|when, then| {
        when.kind(&kinds).limit(20);
        then.into_inner()
            .status(200)
            .json_body(json!({"data": [], "has_more": false, "after_cursor": null, "before_cursor": null}));
    });
    let feed = client(&server)
        .get_activity_feed()
        .kind(kinds.clone())
        .limit(20)
        .send()
        .await;
    assert!(feed.expect("matched").into_inner().data.is_empty());
    // A call that lacks one of the items does not match.
    let partial = client(&server)
        .get_activity_feed()
        .kind(vec!["message".to_owned()])
        .limit(20)
        .send()
        .await;
    assert!(partial.is_err(), "{partial:?}");
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn create_agent_posts_exact_json_and_decodes_the_agent() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/agents")
                .header("content-type", "application/json")
                .header_missing("api-version")
                .json_body(json!({
                    "name": "Support",
                    "lookup_key": "support-bot",
                    "team": "team_1",
                    "metadata": {"tier": "gold"}
                }));
            then.status(200).json_body(json!({
                "id": "agt_1",
                "name": "Support",
                "lookup_key": "support-bot",
                "team": "team_1",
                "metadata": {"tier": "gold"},
                "default_model": "gpt-4.1",
                "created_at": "2025-03-01T12:00:00Z",
                "installed_configs": []
            }));
        })
        .await;

    let result = client(&server)
        .create_agent()
        .body(CreateAgentBody {
            name: Some("Support".to_owned()),
            lookup_key: Some("support-bot".to_owned()),
            team: Some("team_1".to_owned()),
            metadata: object(json!({"tier": "gold"})),
            ..Default::default()
        })
        .send()
        .await;
    mock.assert_async().await;
    let agent = result.expect("create_agent succeeds").into_inner();

    assert_eq!(agent.id, "agt_1");
    assert_eq!(agent.name.as_deref(), Some("Support"));
    assert_eq!(agent.lookup_key.as_deref(), Some("support-bot"));
    assert_eq!(agent.team.as_deref(), Some("team_1"));
    assert_eq!(agent.metadata.get("tier"), Some(&json!("gold")));
    assert_eq!(agent.default_model.as_deref(), Some("gpt-4.1"));
    assert_eq!(
        serde_json::to_value(agent.created_at).expect("timestamp serializes"),
        json!("2025-03-01T12:00:00Z")
    );
}

#[tokio::test]
async fn get_agent_percent_encodes_the_id_and_sends_the_api_key_header() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .header("x-archastro-api-key", API_KEY)
                .header_missing("authorization")
                .header_missing("api-version")
                .is_true(|req| req.uri().path() == "/api/v1/agents/a%20b%2Fc");
            then.status(200).json_body(json!({
                "id": "a b/c",
                "name": "Support",
                "org": "org_1",
                "org_name": "Acme"
            }));
        })
        .await;

    let result = client(&server).get_agent().agent("a b/c").send().await;
    mock.assert_async().await;
    let agent = result.expect("get_agent succeeds").into_inner();

    assert_eq!(agent.id, "a b/c");
    assert_eq!(agent.name.as_deref(), Some("Support"));
    assert_eq!(agent.org_name.as_deref(), Some("Acme"));
    assert!(agent.metadata.is_empty());
}

#[tokio::test]
async fn delete_agent_204_is_an_empty_success() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(DELETE)
                .path("/api/v1/agents/agt_1")
                .header("x-archastro-api-key", API_KEY)
                .header_missing("api-version");
            then.status(204);
        })
        .await;

    let result = client(&server).delete_agent().agent("agt_1").send().await;
    mock.assert_async().await;
    let response = result.expect("delete_agent succeeds");

    assert_eq!(response.status().as_u16(), 204);
    let () = response.into_inner();
}

#[tokio::test]
async fn get_agent_404_keeps_the_server_error_body() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/agents/agt_missing");
            then.status(404).json_body(json!({
                "error": {"code": "not_found", "message": "Agent not found"}
            }));
        })
        .await;

    let result = client(&server).get_agent().agent("agt_missing").send().await;
    mock.assert_async().await;

    let Err(Error::ErrorResponse(response)) = result else {
        panic!("expected a documented error response, got {result:?}");
    };
    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(response["error"]["code"], json!("not_found"));
    assert_eq!(
        response.into_inner(),
        json!({"error": {"code": "not_found", "message": "Agent not found"}})
    );
}

#[tokio::test]
async fn list_teams_splices_the_metadata_filter_into_bracket_keys() {
    let filter = json!({
        "operator": "and",
        "clauses": [{"path": ["tier"], "operator": "eq", "value": "gold"}]
    });
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v1/teams")
                .header_missing("api-version")
                .query_param("metadata[operator]", "and")
                .query_param("metadata[clauses][][path][]", "tier")
                .query_param("metadata[clauses][][operator]", "eq")
                .query_param("metadata[clauses][][value]", "gold")
                .query_param("page", "2")
                .query_param_missing("metadata")
                .is_true(|req| {
                    req.uri().query()
                        == Some(
                            "metadata%5Bclauses%5D%5B%5D%5Boperator%5D=eq\
                             &metadata%5Bclauses%5D%5B%5D%5Bpath%5D%5B%5D=tier\
                             &metadata%5Bclauses%5D%5B%5D%5Bvalue%5D=gold\
                             &metadata%5Boperator%5D=and&page=2",
                        )
                });
            then.status(200).json_body(json!({
                "data": [{"id": "team_1", "name": "Gold", "metadata": {"tier": "gold"}}],
                "has_next": false,
                "has_prev": true,
                "page": 2,
                "page_size": 20,
                "total_entries": 21,
                "total_pages": 2
            }));
        })
        .await;

    let result = client(&server)
        .list_teams()
        .metadata(encode_deep("metadata", &filter))
        .page(2)
        .send()
        .await;
    mock.assert_async().await;
    let teams = result.expect("list_teams succeeds").into_inner();

    assert_eq!(teams.page, 2);
    assert_eq!(teams.total_entries, 21);
    assert!(teams.has_prev);
    assert!(!teams.has_next);
    assert_eq!(teams.data[0].id, "team_1");
    assert_eq!(teams.data[0].metadata.get("tier"), Some(&json!("gold")));
}
