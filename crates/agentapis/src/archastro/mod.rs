//! ArchAstro: agent platform (API host `platform.archastro.ai`).
//!
//! Operations accept a secret key (`sk_…`, server side), a publishable key (`pk_…`, identifies
//! the app) in the `x-archastro-api-key` header, and/or a user's bearer token, depending on the
//! operation. A client carries at most one key and at most one token and sends what it has.
//!
//! ```no_run
//! # async fn demo() -> Result<(), agentapis::Error> {
//! let client = agentapis::archastro::Client::builder().secret_key("sk_live_…").build()?;
//! let agents = client.call(|api| api.list_agents().page_size(20).send()).await?;
//! println!("{:?}", agents.rate_limit());
//! # Ok(()) }
//! ```

use std::sync::{Arc, RwLock};

use agentapis_runtime::token::Refresher;
use agentapis_runtime::{Auth, CallOptions, Secret, TokenStore};

pub use archastro_client as generated;

use crate::client::{check_credential, decoding, env_value, sealed, Output, Vendor};
use crate::error::{ArgumentError, ConfigError, CredentialProblem};
use crate::{Error, Response};

pub mod realtime;
mod shared;

/// The production server.
pub const DEFAULT_BASE_URL: &str = "https://platform.archastro.ai";
/// Header that carries secret and publishable keys.
pub const KEY_HEADER: &str = "x-archastro-api-key";
/// Environment variable holding a secret key (`sk_…`).
pub const ENV_SECRET_KEY: &str = "ARCHASTRO_SECRET_KEY";
/// Environment variable holding a publishable key (`pk_…`).
pub const ENV_PUBLISHABLE_KEY: &str = "ARCHASTRO_PUBLISHABLE_KEY";
/// Environment variable holding a user's bearer token.
pub const ENV_TOKEN: &str = "ARCHASTRO_TOKEN";
/// Environment variable that overrides the base URL.
pub const ENV_BASE_URL: &str = "ARCHASTRO_BASE_URL";

/// How to name an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AgentRef<'a> {
    /// Its id (`agt_…`).
    Id(&'a str),
    /// Its `lookup_key`, the stable slug set at creation.
    LookupKey(&'a str),
}

/// Which kind of key a client holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyKind {
    /// `sk_…`: server-side, admin-level.
    Secret,
    /// `pk_…`: identifies the app; safe to ship in a front end.
    Publishable,
}

impl KeyKind {
    fn prefix(self) -> &'static str {
        match self {
            KeyKind::Secret => "sk_",
            KeyKind::Publishable => "pk_",
        }
    }
}

/// ArchAstro's credentials.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    key: Option<(KeyKind, Secret)>,
    token: Option<Secret>,
    refresh_token: Option<Secret>,
    /// The name of the session shared with the fleet, when it is shared.
    share_session: Option<String>,
}

/// Posts `token` to `/api/v1/auth/refresh`: the new access token and the rotated refresh token.
pub(crate) async fn post_refresh(client: &generated::Client, token: Secret) -> Result<(Secret, Secret), String> {
    let body = generated::types::AuthRefreshBody {
        refresh_token: token.expose().to_owned(),
    };
    let tokens = crate::call::run(
        decoding::<ArchAstro>(),
        CallOptions::default(),
        client.auth_refresh().body(body).send(),
    )
    .await
    .map_err(|e| refresh_failure(&e))?
    .into_inner();
    Ok((Secret::new(tokens.token), Secret::new(tokens.refresh_token)))
}

/// Refreshes with this process's refresh token, keeps the rotated one and returns the new
/// access token.
fn refresher(auth_client: generated::Client, refresh_token: Arc<RwLock<Option<Secret>>>) -> Refresher {
    Arc::new(move || {
        let (client, store) = (auth_client.clone(), Arc::clone(&refresh_token));
        Box::pin(async move {
            let current = store.read().ok().and_then(|r| r.clone()).ok_or("no refresh token")?;
            let (access, rotated) = post_refresh(&client, current.clone()).await?;
            // Keep the rotated refresh token, unless a new sign-in replaced the one we used.
            if let Ok(mut slot) = store.write() {
                if slot.as_ref() == Some(&current) {
                    *slot = Some(rotated);
                }
            }
            Ok(access)
        })
    })
}

/// What a failed refresh is logged as: status and code only. An error's `Display` may quote the
/// response body, and a refresh answer that fails to decode still holds tokens.
fn refresh_failure(error: &Error) -> String {
    match error {
        Error::Api(e) | Error::RateLimited(e) => format!("refresh answered {} ({})", e.status.as_u16(), e.code),
        Error::Decode { status, .. } => format!("refresh answer ({}) did not decode", status.as_u16()),
        Error::Timeout { .. } => "refresh timed out".to_owned(),
        Error::Transport { phase, .. } => format!("refresh transport error {phase}"),
        _ => "refresh failed".to_owned(),
    }
}

/// ArchAstro, as a [`Vendor`]: `archastro::Client` is `Client<ArchAstro>`.
#[derive(Debug, Clone, Copy)]
pub struct ArchAstro;

impl sealed::Sealed for ArchAstro {}

impl Vendor for ArchAstro {
    const DEFAULT_BASE_URL: &'static str = DEFAULT_BASE_URL;
    type Generated = generated::Client;
    type Credentials = Credentials;
    type State = Session;
    type Operations<'a> = &'a generated::Client;

    fn operations<'a>(generated: &'a generated::Client, _: &'a Session) -> &'a generated::Client {
        generated
    }
}

impl<T> sealed::SealedOutput<ArchAstro> for T {}
impl<T> Output<ArchAstro> for T {
    type Data = T;
    fn into_data(self) -> T {
        self
    }
}

/// A client's sign-in state: the user's tokens and the client that signs in and refreshes.
#[derive(Clone)]
pub struct Session {
    /// Sends only the app key: sign-in and refresh.
    auth_client: generated::Client,
    tokens: Arc<TokenStore>,
    refresh_token: Arc<RwLock<Option<Secret>>>,
    key_kind: Option<KeyKind>,
    /// Where the session is shared with a fleet, when it is.
    shared: Option<shared::SharedSession>,
    /// The realtime socket, opened on the first join.
    socket: realtime::SharedSocket,
}

impl std::fmt::Debug for Session {
    // Only what says which credentials are in play; the tokens print redacted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("key_kind", &self.key_kind)
            .field("tokens", &self.tokens)
            .field("shared", &self.shared)
            .finish_non_exhaustive()
    }
}

/// Builds an ArchAstro [`Client`].
pub type ClientBuilder = crate::ClientBuilder<ArchAstro>;

impl ClientBuilder {
    /// A secret key (`sk_…`); replaces any key set before.
    pub fn secret_key(mut self, key: impl Into<String>) -> Self {
        self.credentials.key = Some((KeyKind::Secret, Secret::new(key)));
        self
    }

    /// A publishable key (`pk_…`); replaces any key set before.
    pub fn publishable_key(mut self, key: impl Into<String>) -> Self {
        self.credentials.key = Some((KeyKind::Publishable, Secret::new(key)));
        self
    }

    /// A refresh token: when a call gets a 401, the client exchanges it for a new access token
    /// (once, shared by all calls that saw the 401) and retries the call.
    pub fn refresh_token(mut self, token: impl Into<String>) -> Self {
        self.credentials.refresh_token = Some(Secret::new(token));
        self
    }

    /// Shares the user's session with every client of the fleet (see
    /// [`fleet`](crate::ClientBuilder::fleet)) that has the same app key and also shares: the
    /// tokens are kept in the fleet's session store (in clear: share only through a store you
    /// trust with them), and a 401 is refreshed once for the whole fleet, not once per process.
    /// `name` tells sessions of one app apart (e.g. the user's id; it is hashed into the store
    /// key, not written). `login` publishes the new pair; [`Client::load_session`] takes up the
    /// shared one. While the store is unreachable a 401 cannot be refreshed, whatever the fleet's
    /// failure policy: the single-use refresh token lives there.
    pub fn share_session(mut self, name: &str) -> Self {
        self.credentials.share_session = Some(name.to_owned());
        self
    }

    /// A user's access token, sent as `Authorization: Bearer …`.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.credentials.token = Some(Secret::new(token));
        self
    }

    /// Checks the settings (a key must carry the prefix of its kind) and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let mut auth = Vec::new();
        if let Some((kind, key)) = &self.credentials.key {
            check_credential("ArchAstro key", key.expose())?;
            if !key.expose().starts_with(kind.prefix()) {
                return Err(ConfigError::Credential {
                    what: "ArchAstro key",
                    problem: CredentialProblem::WrongPrefix {
                        expected: kind.prefix(),
                    },
                }
                .into());
            }
            auth.push(Auth::Header {
                name: KEY_HEADER,
                value: key.clone(),
            });
        }
        let key_auth = auth.clone();
        let tokens = TokenStore::new();
        if let Some(token) = &self.credentials.token {
            check_credential("ArchAstro token", token.expose())?;
            tokens.set(token.clone());
        }
        if let Some(refresh) = &self.credentials.refresh_token {
            check_credential("ArchAstro refresh token", refresh.expose())?;
        }
        if auth.is_empty() && self.credentials.token.is_none() {
            return Err(ConfigError::MissingCredentials {
                api: ArchAstro::API,
                env: &[ENV_SECRET_KEY, ENV_PUBLISHABLE_KEY, ENV_TOKEN],
            }
            .into());
        }
        let key_kind = self.credentials.key.as_ref().map(|(kind, _)| *kind);
        let refresh_token = Arc::new(RwLock::new(self.credentials.refresh_token.clone()));
        let shared = match (&self.credentials.share_session, &self.fleet) {
            (None, _) => None,
            (Some(name), Some(fleet)) => {
                let store = fleet
                    .sessions()
                    .ok_or(ConfigError::SharedSessionWithoutStore(ArchAstro::API))?;
                let name = Secret::new(name.as_str());
                let mut named: Vec<&Secret> = self.credentials.key.iter().map(|(_, key)| key).collect();
                named.push(&name);
                Some(shared::SharedSession {
                    fleet: fleet.clone(),
                    store: Arc::clone(store),
                    key: fleet.session_key(ArchAstro::API, &named),
                    held: Arc::default(),
                })
            }
            (Some(_), None) => return Err(ConfigError::SharedSessionWithoutStore(ArchAstro::API).into()),
        };
        auth.push(Auth::Token(Arc::clone(&tokens)));
        let parts = self.finish(Auth::All(auth))?;
        // Sign-in and refresh go through a client that sends only the app key: a refresh must
        // never trigger another refresh.
        let auth_client = generated::Client::new_with_client(
            &parts.base_url,
            parts.http.clone(),
            parts.runtime.with_auth(Auth::All(key_auth)),
        );
        tokens.set_refresher(match &shared {
            Some(shared) => shared.refresher(auth_client.clone(), Arc::clone(&refresh_token)),
            None => refresher(auth_client.clone(), Arc::clone(&refresh_token)),
        });
        let session = Session {
            auth_client,
            tokens,
            refresh_token,
            socket: realtime::SharedSocket::default(),
            key_kind,
            shared,
        };
        Ok(Client::from_parts(parts, session))
    }
}

/// An ArchAstro client. Cheap to clone; clones share connections, rate-limit state and tokens.
pub type Client = crate::Client<ArchAstro>;

impl Client {
    /// A builder with the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::with_credentials(Credentials::default())
    }

    /// A client from the environment: `ARCHASTRO_SECRET_KEY` or `ARCHASTRO_PUBLISHABLE_KEY`
    /// (the secret key wins when both are set), `ARCHASTRO_TOKEN`, and `ARCHASTRO_BASE_URL`.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    pub(crate) fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let mut builder = Self::builder();
        if let Some(key) = env_value(lookup, ENV_SECRET_KEY) {
            builder = builder.secret_key(key);
        } else if let Some(key) = env_value(lookup, ENV_PUBLISHABLE_KEY) {
            builder = builder.publishable_key(key);
        }
        if let Some(token) = env_value(lookup, ENV_TOKEN) {
            builder = builder.token(token);
        }
        if let Some(url) = env_value(lookup, ENV_BASE_URL) {
            builder = builder.base_url(url);
        }
        builder.build()
    }

    /// Signs a user in with email and password (needs the app's publishable key); later calls
    /// send the user's token, and a 401 refreshes it with the refresh token received here.
    pub async fn login(&self, email: &str, password: &str) -> Result<Response<generated::types::AuthTokens>, Error> {
        let body = generated::types::AuthLoginBody {
            email: email.to_owned(),
            password: password.to_owned(),
        };
        let tokens = crate::call::run(
            decoding::<ArchAstro>(),
            CallOptions::default(),
            self.state().auth_client.auth_login().body(body).send(),
        )
        .await?;
        self.set_tokens(&tokens.token, Some(&tokens.refresh_token));
        // The sign-in worked and this client uses its tokens; a store that cannot take them is
        // logged, not an error that would hide the tokens from the caller.
        if let Err(e) = self.publish_session().await {
            tracing::warn!(error = %e, "signed in, but could not share the session with the fleet");
        }
        Ok(tokens)
    }

    /// Shared sessions: writes this client's tokens to the fleet's session store as the newest
    /// pair (e.g. after `set_tokens`, or with tokens given to the builder). Does nothing for a
    /// client that does not share its session, or holds no token.
    pub async fn publish_session(&self) -> Result<(), Error> {
        let session = self.state();
        let (Some(shared), (_, Some(access))) = (&session.shared, session.tokens.current()) else {
            return Ok(());
        };
        let refresh = session.refresh_token.read().ok().and_then(|r| r.clone());
        shared.publish(&access, refresh.as_ref()).await
    }

    /// Shared sessions: takes up the pair in the fleet's session store when it is newer than the
    /// one this client holds (true when it did). A worker calls it once at start; after that a
    /// 401 takes up (or makes) the next pair by itself.
    pub async fn load_session(&self) -> Result<bool, Error> {
        let session = self.state();
        match &session.shared {
            Some(shared) => shared.load(&session.tokens, &session.refresh_token).await,
            None => Ok(false),
        }
    }

    /// Replaces the user's access token (and refresh token, when given) for later calls.
    pub fn set_tokens(&self, access_token: &str, refresh_token: Option<&str>) {
        self.state().tokens.set(Secret::new(access_token));
        if let (Some(refresh), Ok(mut slot)) = (refresh_token, self.state().refresh_token.write()) {
            *slot = Some(Secret::new(refresh));
        }
    }

    /// The signed-in user (`GET /api/v1/users/me`; needs a user's token).
    pub async fn me(&self) -> Result<Response<generated::types::User>, Error> {
        self.call(|api| api.get_users_me().send()).await
    }

    /// One agent, by id or by its `lookup_key` (the server takes either in the same place).
    pub async fn agent(&self, agent: AgentRef<'_>) -> Result<Response<generated::types::Agent>, Error> {
        let key = match agent {
            AgentRef::Id(id) | AgentRef::LookupKey(id) => id,
        };
        if key.trim().is_empty() || key.contains('/') {
            return Err(ArgumentError::NotASegment {
                what: "agent id or lookup key",
                value: key.chars().take(100).collect(),
            }
            .into());
        }
        self.call(|api| api.get_agent().agent(key).send()).await
    }

    /// The kind of key this client sends, if any.
    pub fn key_kind(&self) -> Option<KeyKind> {
        self.state().key_kind
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_prefix_is_checked_without_echoing_the_key() {
        assert!(Client::builder().secret_key("sk_abc").build().is_ok());
        assert!(Client::builder().publishable_key("pk_abc").token("jwt").build().is_ok());
        assert!(Client::builder().token("jwt").build().is_ok());
        let Err(e) = Client::builder().secret_key("pk_WRONGKIND").build() else {
            panic!("a pk_ key accepted as secret")
        };
        assert!(
            matches!(e, Error::InvalidConfig(ConfigError::Credential { .. })) && !e.to_string().contains("WRONGKIND"),
            "{e}"
        );
        assert!(matches!(
            Client::builder().build(),
            Err(Error::InvalidConfig(ConfigError::MissingCredentials { .. }))
        ));
    }

    #[test]
    fn from_env_prefers_the_secret_key() {
        let client = Client::from_lookup(&|name| match name {
            ENV_SECRET_KEY => Some("sk_SECRET".into()),
            ENV_PUBLISHABLE_KEY => Some("pk_PUBLIC".into()),
            ENV_TOKEN => Some("TOKEN".into()),
            _ => None,
        })
        .expect("valid settings");
        assert_eq!(client.key_kind(), Some(KeyKind::Secret));
        let shown = format!("{client:?}");
        assert!(
            !shown.contains("SECRET") && !shown.contains("TOKEN") && !shown.contains("PUBLIC"),
            "{shown}"
        );
    }
}
