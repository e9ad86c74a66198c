//! Secrets never reach `Debug`, `Display`, errors or traces. In its own test binary: tracing's
//! callsite cache is process-wide, so a subscriber scoped to one test must not race other tests.

mod common;
mod testserver;

use std::sync::{Arc, Mutex};

use agentapis::archastro;
use common::{client, fast, get_agent};
use testserver::{ok, Act, Server};

/// Collects everything a tracing subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("capture").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn secrets_never_reach_debug_display_errors_or_traces() {
    const KEY: &str = "sk_live_SUPERSECRET123";
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = Server::acts(vec![
        ok(),
        // A server that quotes the key it was sent, as some do in 401s: the error must not.
        Act::Reply(
            401,
            vec![],
            format!(r#"{{"error":"unauthorized","message":"bad key {KEY}","details":{{"key":"{KEY}"}}}}"#),
        ),
        Act::Reset,
    ])
    .await;
    let client = client(&server.base);
    let mut shown = vec![format!("{client:?}")];
    get_agent(&client).await.expect("ok");
    for i in 0..2 {
        let err = get_agent(&client).await.expect_err("401, then a reset");
        shown.push(format!("{err:?}"));
        shown.push(format!("{err}"));
        match &err {
            agentapis::Error::Api(api) => {
                shown.push(String::from_utf8_lossy(&api.body).into_owned());
                shown.push(format!("{:?} {}", api.details, api.message));
                assert!(api.message.contains("bad key <redacted>"), "{}", api.message);
            }
            other => assert!(i > 0, "the 401 is an API error: {other:?}"),
        }
    }
    let refused = archastro::Client::builder()
        .secret_key(KEY)
        .base_url("http://127.0.0.1:9")
        .retry(fast())
        .build()
        .expect("client");
    let err = get_agent(&refused).await.expect_err("refused");
    shown.push(format!("{err:?} {err}"));
    let bad = archastro::Client::builder()
        .secret_key("pk_SUPERSECRET123")
        .build()
        .expect_err("wrong kind");
    shown.push(format!("{bad:?} {bad}"));

    // Realtime: the socket's token sits in its URL's query; refused and failed connects, the
    // socket's and its config's Debug, and the errors must not show it.
    let standin = agentapis_standin::Standin::builder(agentapis::Api::ArchAstro)
        .rotating_sessions()
        .start()
        .await
        .expect("stand-in");
    for base in [standin.base_url(), "http://127.0.0.1:9"] {
        let user = archastro::Client::builder()
            .token("tok_SUPERSECRET123")
            .base_url(base)
            .build()
            .expect("client");
        let rt = user.realtime_with(|c| c.timeout(std::time::Duration::from_millis(500)));
        shown.push(format!("{rt:?} {:?}", rt.socket().config()));
        let params = archastro::generated::types::ObjectJoinByIdParams::builder()
            .object_id("obj_1")
            .try_into()
            .expect("valid");
        let err = rt.join_by_id(params).await.expect_err("refused or unreachable");
        shown.push(format!("{err:?} {err}"));
    }
    #[cfg(feature = "invent")]
    {
        let invent = agentapis::invent::Client::builder()
            .api_key("inv_SUPERSECRET123")
            .base_url("http://127.0.0.1:9")
            .build()
            .expect("client");
        let feed = invent.chat_events().expect("opens");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        shown.push(format!("{feed:?}"));
        drop(feed);
    }

    let traces = String::from_utf8_lossy(&captured.0.lock().expect("capture")).to_string();
    assert!(
        traces.contains("agentapis::realtime"),
        "realtime traces are captured: {traces}"
    );
    assert!(
        traces.contains("operation=\"get_agent\"") || traces.contains("operation=get_agent"),
        "traces are captured: {traces}"
    );
    for text in shown.iter().chain(std::iter::once(&traces)) {
        assert!(!text.contains("SUPERSECRET"), "secret leaked: {text}");
    }
    let heads = server.heads.lock().expect("heads");
    assert!(heads.iter().all(|h| h.contains(KEY)), "the key did reach the server");
}
