//! ArchAstro sign-in and token refresh against the raw test server: concurrent 401s cause exactly
//! one refresh, every caller retries once with the new token, and the rotated refresh token is
//! kept for the next time.

mod testserver;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use agentapis::{archastro, Error};
use serde_json::json;
use testserver::{Req, Server};

fn tokens(access: &str, refresh: &str) -> serde_json::Value {
    json!({"token": access, "refresh_token": refresh, "expires_in": 3600, "token_type": "Bearer", "user": {"id": "usr_1"}})
}

/// Accepts only `Bearer <valid>`; refresh turns `rt<n>` into access `at<n+1>` / `rt<n+1>`.
async fn server(refreshes: Arc<AtomicUsize>, valid: Arc<Mutex<String>>) -> Server {
    Server::script(move |req: &Req| {
        let auth = req.headers.get("authorization").cloned().unwrap_or_default();
        match (req.method.as_str(), req.path.as_str()) {
            ("POST", "/api/v1/auth/refresh") => {
                assert_eq!(
                    req.headers.get("x-archastro-api-key").map(String::as_str),
                    Some("pk_app")
                );
                assert!(auth.is_empty(), "a refresh must not carry the expired token");
                let n = refreshes.fetch_add(1, Ordering::SeqCst) + 1;
                let given = req.json()["refresh_token"].as_str().unwrap_or_default().to_owned();
                if given != format!("rt{n}") {
                    return (401, vec![], json!({"error": "invalid_refresh_token"}));
                }
                let access = format!("at{}", n + 1);
                *valid.lock().expect("valid") = access.clone();
                (200, vec![], tokens(&access, &format!("rt{}", n + 1)))
            }
            ("POST", "/api/v1/auth/login") => {
                *valid.lock().expect("valid") = "at1".into();
                (200, vec![], tokens("at1", "rt1"))
            }
            ("GET", "/api/v1/users/me") => {
                if auth == format!("Bearer {}", valid.lock().expect("valid")) {
                    (200, vec![], json!({"id": "usr_1", "email": "a@example.com"}))
                } else {
                    (
                        401,
                        vec![],
                        json!({"error": {"code": "unauthorized", "message": "token expired"}}),
                    )
                }
            }
            _ => (404, vec![], json!({"error": "not_found"})),
        }
    })
    .await
}

#[tokio::test]
async fn concurrent_401s_refresh_once_and_every_call_succeeds() {
    let refreshes = Arc::new(AtomicUsize::new(0));
    let valid = Arc::new(Mutex::new("at-never".to_owned()));
    let server = server(Arc::clone(&refreshes), Arc::clone(&valid)).await;
    let client = archastro::Client::builder()
        .publishable_key("pk_app")
        .token("at-expired")
        .refresh_token("rt1")
        .base_url(&server.base)
        .build()
        .expect("client");

    let calls = (0..6).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.me().await.map(|me| me.id.clone()) })
    });
    for call in calls {
        assert_eq!(call.await.expect("task").expect("me").as_str(), "usr_1");
    }
    assert_eq!(refreshes.load(Ordering::SeqCst), 1, "{:?}", server.requests());

    // The token expires again: the rotated refresh token (rt2) is the one used.
    *valid.lock().expect("valid") = "at-rotated-away".into();
    client.me().await.expect("second refresh works");
    assert_eq!(refreshes.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_failed_refresh_surfaces_the_original_401() {
    let refreshes = Arc::new(AtomicUsize::new(0));
    let valid = Arc::new(Mutex::new("at-never".to_owned()));
    let server = server(Arc::clone(&refreshes), valid).await;
    let client = archastro::Client::builder()
        .publishable_key("pk_app")
        .token("at-expired")
        .refresh_token("rt-wrong")
        .base_url(&server.base)
        .build()
        .expect("client");
    let err = client.me().await.expect_err("unauthorized");
    assert!(matches!(err, Error::Api(ref e) if e.status == 401), "{err:?}");
    assert_eq!(refreshes.load(Ordering::SeqCst), 1);
    assert!(!format!("{err:?} {err} {client:?}").contains("rt-wrong"));
}

#[tokio::test]
async fn login_stores_the_tokens_for_later_calls() {
    let refreshes = Arc::new(AtomicUsize::new(0));
    let valid = Arc::new(Mutex::new(String::new()));
    let server = server(Arc::clone(&refreshes), valid).await;
    let client = archastro::Client::builder()
        .publishable_key("pk_app")
        .base_url(&server.base)
        .build()
        .expect("client");
    let signed_in = client.login("a@example.com", "hunter2").await.expect("login");
    assert_eq!(signed_in.user.id, "usr_1");
    assert_eq!(client.me().await.expect("me").id, "usr_1");
    assert_eq!(refreshes.load(Ordering::SeqCst), 0);
    assert!(!format!("{client:?}").contains("at1"));
}

#[tokio::test]
async fn agents_by_id_or_lookup_key() {
    let server = Server::script(|req: &Req| {
        let id = req.path.rsplit('/').next().unwrap_or_default().to_owned();
        (
            200,
            vec![],
            json!({"id": if id.starts_with("agt_") { id } else { "agt_9".into() }, "lookup_key": "support-bot"}),
        )
    })
    .await;
    let client = archastro::Client::builder()
        .secret_key("sk_x")
        .base_url(&server.base)
        .build()
        .expect("client");
    let by_id = client.agent(archastro::AgentRef::Id("agt_9")).await.expect("by id");
    let by_key = client
        .agent(archastro::AgentRef::LookupKey("support-bot"))
        .await
        .expect("by key");
    assert_eq!((by_id.id.as_str(), by_key.id.as_str()), ("agt_9", "agt_9"));
    assert_eq!(
        server.requests(),
        ["GET /api/v1/agents/agt_9", "GET /api/v1/agents/support-bot"]
    );
    assert!(matches!(
        client.agent(archastro::AgentRef::LookupKey("a/b")).await,
        Err(Error::InvalidArgument(agentapis::ArgumentError::NotASegment { .. }))
    ));
}
