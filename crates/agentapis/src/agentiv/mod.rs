//! Agentiv: hosted agents you run, poll and schedule (`api.agentiv.cloud`).
//!
//! Every Agentiv answer is an envelope, `{"success":true,"data":..}` or
//! `{"success":false,"error":{"code":..,"message":..}}`. [`Client::call`] unwraps the first into
//! its `data` and the second into an [`Error`] whose code is an [`ErrorCode`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), agentapis::Error> {
//! let client = agentapis::agentiv::Client::from_env()?; // AGENTIV_API_KEY
//! let agents = client.call(|api| api.list_agents().send()).await?;
//! println!("{} agents, {:?} requests left", agents.len(), agents.rate_limit().remaining);
//! # Ok(()) }
//! ```

use agentapis_runtime::{Auth, ErrorBody, Secret};

pub use agentiv_client as generated;

mod runs;
mod schedules;
pub mod webhook;

use generated::types;
pub use runs::{ExecutionHandle, Plan, WaitOptions};
pub use schedules::{check_cron, check_timezone, NewSchedule};

use crate::client::{check_credential, env_value, sealed, Output, Vendor};
use crate::error::ConfigError;
use crate::Error;

/// The production server.
pub const DEFAULT_BASE_URL: &str = "https://api.agentiv.cloud";
/// Environment variable holding the API key.
pub const ENV_API_KEY: &str = "AGENTIV_API_KEY";
/// Environment variable that overrides the base URL.
pub const ENV_BASE_URL: &str = "AGENTIV_BASE_URL";

/// The agent slugs Agentiv documents (`AgentSlug::Other` for any other).
pub use agentiv_client::types::AgentSlug;
/// Agentiv's documented error codes, with a fallback for codes it adds later: the generated
/// flat open enum of the spec's `ErrorDetail.code` (`ErrorCode::Other` holds an unknown code).
pub use agentiv_client::types::ErrorDetailCode as ErrorCode;

/// The Agentiv code of `error`, if it is an Agentiv error answer.
pub fn error_code(error: &Error) -> Option<&ErrorCode> {
    match &error.api_error()?.code {
        crate::ErrorCode::Agentiv(code) => Some(code),
        _ => None,
    }
}

/// The integration to connect, for an `INTEGRATION_NOT_CONNECTED` error.
pub fn integration_slug(error: &Error) -> Option<&str> {
    error.api_error()?.details.get("integrationSlug")?.as_str()
}

/// Agentiv, as a [`Vendor`]: `agentiv::Client` is `Client<Agentiv>`.
#[derive(Debug, Clone, Copy)]
pub struct Agentiv;

impl sealed::Sealed for Agentiv {}

impl Vendor for Agentiv {
    const DEFAULT_BASE_URL: &'static str = DEFAULT_BASE_URL;
    type Generated = generated::Client;
    type Credentials = Credentials;
    type State = ();
    type Operations<'a> = &'a generated::Client;

    fn operations<'a>(generated: &'a generated::Client, _: &'a ()) -> &'a generated::Client {
        generated
    }

    fn error_code(code: String) -> crate::ErrorCode {
        crate::ErrorCode::Agentiv(ErrorCode::from(code))
    }

    /// Agentiv's failure envelope (`{"success":false,"error":{..}}`) sent with a success
    /// status: the server's error, not a body that failed to decode.
    fn failure_in_success(parsed: &ErrorBody) -> bool {
        parsed.success == Some(false) && parsed.error_object
    }
}

// Every Agentiv answer is an envelope; `Client::call` returns its `data`.
macro_rules! envelopes {
    ($($envelope:ident => $data:ty),* $(,)?) => {$(
        impl sealed::SealedOutput<Agentiv> for types::$envelope {}
        impl Output<Agentiv> for types::$envelope {
            type Data = $data;
            fn into_data(self) -> $data {
                self.data
            }
        }
    )*};
}

envelopes! {
    AgentListEnvelope => Vec<types::Agent>,
    RunResultEnvelope => types::RunResult,
    ExecutionEnvelope => types::Execution,
    ScheduleListEnvelope => Vec<types::Schedule>,
    ScheduleEnvelope => types::Schedule,
}

/// Agentiv's credentials: a bearer API key.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    api_key: Option<Secret>,
}

/// Builds an Agentiv [`Client`].
pub type ClientBuilder = crate::ClientBuilder<Agentiv>;

impl ClientBuilder {
    /// The account's API key (sent as a bearer token).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.credentials.api_key = Some(Secret::new(key));
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let key = self
            .credentials
            .api_key
            .clone()
            .ok_or(ConfigError::MissingCredentials {
                api: Agentiv::API,
                env: &[ENV_API_KEY],
            })?;
        check_credential("Agentiv API key", key.expose())?;
        let parts = self.finish(Auth::Bearer(key))?;
        Ok(Client::from_parts(parts, ()))
    }
}

/// An Agentiv client. Cheap to clone; clones share connections and rate-limit state.
pub type Client = crate::Client<Agentiv>;

impl Client {
    /// A builder with the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::with_credentials(Credentials::default())
    }

    /// A client from `AGENTIV_API_KEY` (and `AGENTIV_BASE_URL` when set).
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    pub(crate) fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let mut builder = Self::builder();
        if let Some(key) = env_value(lookup, ENV_API_KEY) {
            builder = builder.api_key(key);
        }
        if let Some(url) = env_value(lookup, ENV_BASE_URL) {
            builder = builder.base_url(url);
        }
        builder.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for code in [
            "UNAUTHORIZED",
            "FORBIDDEN",
            "NOT_FOUND",
            "RATE_LIMITED",
            "INVALID_INPUT",
            "INTEGRATION_NOT_CONNECTED",
            "EXECUTION_FAILED",
            "SOMETHING_NEW",
        ] {
            assert_eq!(ErrorCode::from(code).as_str(), code);
            let json = serde_json::to_value(ErrorCode::from(code)).expect("serializes");
            assert_eq!(
                serde_json::from_value::<ErrorCode>(json)
                    .expect("deserializes")
                    .as_str(),
                code
            );
        }
        assert_eq!(
            ErrorCode::from("SOMETHING_NEW"),
            ErrorCode::Other("SOMETHING_NEW".into())
        );
        assert_eq!("RATE_LIMITED".parse::<ErrorCode>(), Ok(ErrorCode::RateLimited));
        assert_eq!(
            ErrorCode::IntegrationNotConnected.to_string(),
            "INTEGRATION_NOT_CONNECTED"
        );
        // Retryability comes from the spec's x-error-codes, generated into the runtime's API table.
        let retryable = |code: &ErrorCode| {
            agentapis_runtime::retry::documented(agentapis_runtime::Api::Agentiv, code.as_str()).map(|c| c.retryable)
        };
        assert_eq!(retryable(&ErrorCode::ExecutionFailed), Some(true));
        assert_eq!(retryable(&ErrorCode::RateLimited), Some(true));
        assert_eq!(retryable(&ErrorCode::NotFound), Some(false));
        assert_eq!(retryable(&ErrorCode::from("SOMETHING_NEW")), None);
        for code in ErrorCode::KNOWN {
            assert!(
                retryable(&code.parse().expect("known")).is_some(),
                "{code} is documented"
            );
        }
    }

    #[test]
    fn from_env_needs_a_key_and_never_prints_it() {
        let none = Client::from_lookup(&|_| None);
        assert!(matches!(
            none,
            Err(Error::InvalidConfig(ConfigError::MissingCredentials { .. }))
        ));
        let client = Client::from_lookup(&|name| match name {
            ENV_API_KEY => Some("ak_live_SECRET".into()),
            ENV_BASE_URL => Some("http://127.0.0.1:9".into()),
            _ => None,
        })
        .expect("valid settings");
        let shown = format!("{client:?}");
        assert!(shown.contains("127.0.0.1:9") && !shown.contains("SECRET"), "{shown}");
    }
}
