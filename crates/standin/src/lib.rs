//! A local stand-in for the Invent, Agentiv and ArchAstro APIs, serving the bundled specs on
//! `127.0.0.1:<free port>`: for the README's tour, for this workspace's tests, and for users who
//! want to exercise their integration without keys or network.
//!
//! Which APIs it serves comes from the workspace's API table (`xtask/src/apis.rs`):
//! `cargo xtask regen` writes the one [`Api`] enum (into the runtime, re-exported here) and
//! `src/apis.rs`, each entry's embedded spec.
//!
//! What it does, for every operation of a spec:
//! - routes by the spec's path templates and methods (literal segments win); unknown route →
//!   404, known path with another method → 405, in the vendor's error shape;
//! - checks auth as the operation's `security` says, each scheme as the spec declares it (a
//!   bearer token; a key header with the scheme's `x-key-prefix`, e.g. ArchAstro's
//!   `x-archastro-api-key` with `sk_`/`pk_`) → 401;
//! - checks path and query parameters and JSON bodies against the spec's schemas (with the
//!   `jsonschema` crate; OpenAPI 3.0 `nullable` translated) → 400 for parameters, and 400
//!   (Agentiv `INVALID_INPUT`) or 422 for bodies;
//! - answers with deterministic values generated from the success schema, so they decode into
//!   the generated types, echoing path ids into `id`;
//! - pages over `collection_size` entries in each API's style (ArchAstro cursors both ways,
//!   `page`+`page_size`, `page`+`per_page`; Invent `page`+`take` with `pagination-*` headers);
//! - optionally rate-limits with `X-RateLimit-*` headers and 429 + `Retry-After`;
//! - plays scripted faults per operation ([`Fault`]);
//! - Agentiv: runs move `queued` → `running` → `success` (or `failed`) over time; agents can be
//!   marked as needing an unconnected integration.
//!
//! - keeps light state: items created under a collection (`POST /api/v1/agents`,
//!   `POST /orgs/c/assistants`) can be read, updated, listed and deleted (then 404).
//!
//! Realtime, over WebSockets:
//! - ArchAstro: the Phoenix socket at `/socket/api/websocket?vsn=2.0.0&token=…` (401 without a
//!   token, or with one that is not current when sessions rotate) speaks the v2 serializer for
//!   the spec's `x-channels`: joins are matched against the join patterns and their params
//!   checked; each client event is checked against its `params` schema and answered with a value
//!   generated from its `returns` schema; heartbeats are answered; the chat channel stores posted
//!   messages (one per `idempotency_key`) and pushes `message_added` to the topic's members.
//!   Pushes, restarts (closing sockets, refusing upgrades), heartbeat behaviour and per-event
//!   faults are scripted from the [`Running`] handle ([`Heartbeats`], [`ChannelFault`]);
//! - Invent: the chat and inbox feeds (`/orgs/{org_id}/chats/ws`, `/orgs/{org_id}/inbox/ws`)
//!   stay open after the upgrade and carry the JSON frames a test sends with
//!   [`Running::feed_push`] or [`Running::feed_example`].
//!
//! What it does not model: header parameters and formats (not asserted), webhook delivery, and
//! the vendors' business rules, over HTTP and realtime alike: replies other than posted chat
//! messages are generated, not derived from stored state (an edit, reaction or object update
//! changes nothing and pushes nothing on its own); joins are not authorized per topic; there is
//! no presence, no realtime rate limit unless scripted, no `phx_error` (channel crash) unless a
//! test pushes one, and no server-initiated feed events unless a test sends them.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use agentapis_standin::{Api, Fault, Standin};
//! let server = Standin::builder(Api::ArchAstro).collection_size(12).start().await?;
//! server.fault("GET /api/v1/agents", Fault::Status { status: 503, times: 1 });
//! println!("ArchAstro stand-in at {}", server.base_url());
//! # Ok(()) }
//! ```

mod data;

mod server;
#[rustfmt::skip]
mod apis;
mod profile;
mod spec;
mod store;
mod validate;

pub use apis::Api;
pub use server::realtime::{ChannelFault, Heartbeats};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Agentiv: the id of a finished run every stand-in starts with.
pub const SEEDED_EXECUTION: &str = "exec_example";

/// A scripted misbehaviour of one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer `status` (vendor error shape) the next `times` requests.
    Status {
        /// The status to answer.
        status: u16,
        /// How many requests.
        times: u32,
    },
    /// Answer 429 with `Retry-After: retry_after_secs` the next `times` requests.
    RateLimited {
        /// Seconds in `Retry-After`.
        retry_after_secs: u64,
        /// How many requests.
        times: u32,
    },
    /// Wait this long before answering (every request until cleared).
    Delay(Duration),
    /// Close the connection without answering the next `times` requests.
    Drop {
        /// How many requests.
        times: u32,
    },
}

/// Builds a stand-in.
#[derive(Debug, Clone)]
pub struct StandinBuilder {
    api: Api,
    seed: u64,
    collection_size: u64,
    rate_limit: Option<(u64, Duration)>,
    run_step: Duration,
    failing_agents: Vec<String>,
    unconnected_agents: Vec<(String, String)>,
    rotating_sessions: bool,
    check_answers: bool,
}

/// Entry point.
pub struct Standin;

impl Standin {
    /// A builder for a stand-in of `api`.
    pub fn builder(api: Api) -> StandinBuilder {
        StandinBuilder {
            api,
            seed: 1,
            collection_size: 25,
            rate_limit: None,
            run_step: Duration::from_millis(150),
            failing_agents: Vec::new(),
            unconnected_agents: Vec::new(),
            rotating_sessions: false,
            check_answers: false,
        }
    }
}

impl StandinBuilder {
    /// Seed for generated values (default 1).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Entries in every paginated collection (default 25).
    pub fn collection_size(mut self, size: u64) -> Self {
        self.collection_size = size;
        self
    }

    /// Allow `requests` per `window`; then 429 with `Retry-After` until the window ends.
    pub fn rate_limit(mut self, requests: u64, window: Duration) -> Self {
        self.rate_limit = Some((requests, window));
        self
    }

    /// Agentiv: how long a run stays in each of `queued` and `running` (default 150 ms).
    pub fn run_step(mut self, step: Duration) -> Self {
        self.run_step = step;
        self
    }

    /// Agentiv: runs of this agent end `failed`.
    pub fn failing_agent(mut self, slug: &str) -> Self {
        self.failing_agents.push(slug.to_owned());
        self
    }

    /// Agentiv: runs of this agent are refused with `INTEGRATION_NOT_CONNECTED` naming
    /// `integration`.
    pub fn unconnected_agent(mut self, slug: &str, integration: &str) -> Self {
        self.unconnected_agents.push((slug.to_owned(), integration.to_owned()));
        self
    }

    /// Validates every JSON success answer against its operation's response schema with the
    /// `jsonschema` crate, and records what does not conform ([`Running::answer_violations`]): a
    /// check of the stand-in that does not go through our own client's decoding.
    pub fn check_answers(mut self) -> Self {
        self.check_answers = true;
        self
    }

    /// ArchAstro: sign-in and refresh issue token pairs; a refresh token works once (a second
    /// use gets a 401, as the vendor answers) and only current access tokens are accepted (see
    /// [`Running::issue_session`], [`Running::expire_sessions`], [`Running::refreshes`]).
    /// Without it, any bearer token is accepted.
    pub fn rotating_sessions(mut self) -> Self {
        self.rotating_sessions = true;
        self
    }

    /// Binds `127.0.0.1:0` and serves until the returned [`Running`] is dropped.
    pub async fn start(self) -> std::io::Result<Running> {
        self.start_on(0).await
    }

    /// Binds `127.0.0.1:port` (0: any free port).
    pub async fn start_on(self, port: u16) -> std::io::Result<Running> {
        let spec = spec::Spec::load(self.api).map_err(std::io::Error::other)?;
        let state = Arc::new(server::State::new(self, spec));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(server::serve(listener, Arc::clone(&state)));
        Ok(Running {
            base_url: format!("http://{addr}"),
            state,
            task,
        })
    }
}

/// A running stand-in. Dropping it stops the server.
pub struct Running {
    base_url: String,
    state: Arc<server::State>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Scripts `fault` for an operation: `"METHOD /path/template"`, or its `operationId` as the
    /// spec writes it (case and separators ignored). A name the generator gave the operation
    /// (e.g. ArchAstro's REST-style `list_agents`) is not its spec id: use the method and path.
    pub fn fault(&self, operation: &str, fault: Fault) {
        if let Ok(mut faults) = self.state.faults.lock() {
            faults.insert(normalize(operation), fault);
        }
    }

    /// Removes the fault of `operation`.
    pub fn clear_fault(&self, operation: &str) {
        if let Ok(mut faults) = self.state.faults.lock() {
            faults.remove(&normalize(operation));
        }
    }

    /// With [`StandinBuilder::rotating_sessions`]: a new current (access, refresh) token pair, as
    /// a sign-in would give (empty strings without it).
    pub fn issue_session(&self) -> (String, String) {
        self.state
            .sessions
            .as_ref()
            .and_then(|s| s.lock().ok().map(|mut s| s.issue()))
            .unwrap_or_default()
    }

    /// With rotating sessions: every access token issued so far stops working (refresh tokens
    /// keep working once), as when they all expire at the same moment.
    pub fn expire_sessions(&self) {
        if let Some(Ok(mut sessions)) = self.state.sessions.as_ref().map(|s| s.lock()) {
            sessions.expire_access();
        }
    }

    /// With rotating sessions: how many refreshes were answered with a new pair.
    pub fn refreshes(&self) -> u64 {
        self.state
            .sessions
            .as_ref()
            .and_then(|s| s.lock().ok().map(|s| s.refreshes))
            .unwrap_or(0)
    }

    /// How many requests the rate limit answered with 429.
    pub fn rate_limited(&self) -> u64 {
        self.state.rate_limited.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// With [`StandinBuilder::check_answers`]: every success answer so far that does not
    /// conform to its operation's response schema, one line each (operation and errors).
    pub fn answer_violations(&self) -> Vec<String> {
        self.state.violations.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// `"METHOD /path?query"` of every request so far.
    pub fn requests(&self) -> Vec<String> {
        self.state.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Operation names compare without case and separators (`listAgents` = `list_agents`).
pub(crate) fn normalize(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

pub(crate) type Faults = Mutex<HashMap<String, Fault>>;

fn cached(api: Api) -> Option<&'static spec::Spec> {
    use std::sync::OnceLock;
    static SPECS: [OnceLock<Option<spec::Spec>>; Api::ALL.len()] = [const { OnceLock::new() }; Api::ALL.len()];
    SPECS
        .get(api.index())?
        .get_or_init(|| spec::Spec::load(api).ok())
        .as_ref()
}

fn find_operation(spec: &spec::Spec, operation: &str) -> Option<serde_json::Value> {
    let (method, template) = operation.split_once(' ')?;
    spec.doc
        .pointer(&format!(
            "/paths/{}/{}",
            template.replace('~', "~0").replace('/', "~1"),
            method.to_lowercase()
        ))
        .cloned()
}

/// An example value for parameter `name` of `operation` (`"GET /api/v1/agents/{agent}"`),
/// generated from its schema the way the stand-in generates answers.
pub fn example_param(api: Api, operation: &str, name: &str) -> Option<serde_json::Value> {
    let spec = cached(api)?;
    let op = find_operation(spec, operation)?;
    let (_, template) = operation.split_once(' ')?;
    let shared = spec
        .doc
        .pointer(&format!(
            "/paths/{}/parameters",
            template.replace('~', "~0").replace('/', "~1")
        ))
        .and_then(serde_json::Value::as_array)
        .cloned()
        .unwrap_or_default();
    let param = op
        .get("parameters")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .chain(shared.iter())
        .map(|p| spec::resolve(&spec.doc, p))
        .find(|p| p.get("name").and_then(serde_json::Value::as_str) == Some(name));
    let Some(param) = param else {
        // A path parameter the spec uses in the template but never declares.
        return template
            .contains(&format!("{{{name}}}"))
            .then(|| serde_json::Value::from(format!("{name}_1")));
    };
    if apis::profile(api).run_parameter == Some(name) {
        return Some(serde_json::Value::from(SEEDED_EXECUTION));
    }
    let schema = param
        .get("schema")
        .cloned()
        .unwrap_or(serde_json::json!({"type": "string"}));
    let generator = data::Generator {
        doc: &spec.doc,
        seed: 1,
    };
    Some(generator.value_named(&schema, name))
}

/// An example JSON request body for `operation`, generated from its schema.
pub fn example_body(api: Api, operation: &str) -> Option<serde_json::Value> {
    let spec = cached(api)?;
    let op = find_operation(spec, operation)?;
    let body = spec::resolve(&spec.doc, op.get("requestBody")?);
    let schema = body.pointer("/content/application~1json/schema")?;
    Some(
        data::Generator {
            doc: &spec.doc,
            seed: 1,
        }
        .value(schema, 0),
    )
}

#[cfg(test)]
mod tests {
    use crate::apis::profile;
    use crate::profile::ErrorShape;
    use crate::Api;

    #[test]
    fn each_api_has_the_profile_its_table_entry_gives() {
        let agentiv = profile(Api::Agentiv);
        assert_eq!((agentiv.errors, agentiv.invalid_body), (ErrorShape::Envelope, 400));
        assert!(agentiv.runs && agentiv.run_parameter == Some("executionId"));
        let archastro = profile(Api::ArchAstro);
        assert_eq!(archastro.phoenix_path, Some("/socket/api/websocket"));
        assert!(archastro.sessions && !archastro.runs);
        let invent = profile(Api::Invent);
        assert_eq!(
            (invent.errors, invent.invalid_body, invent.phoenix_path),
            (ErrorShape::Nested, 422, None)
        );
    }
}
