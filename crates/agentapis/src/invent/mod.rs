//! Invent: AI support assistants (`api.useinvent.com`).
//!
//! Routes are org-scoped (`/orgs/{org_id}/...`); the org `c` means the key's own organization,
//! and is the client's default. A client remembers its org: every operation a call's closure
//! gets (an [`generated::Org`] view of the generated client) has `org_id` filled in already.
//! A parent organization's key may act on a sub-organization: [`Client::org`] gives a view of
//! the client acting on it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), agentapis::Error> {
//! let client = agentapis::invent::Client::from_env()?; // INVENT_API_KEY
//! let assistants = client.call(|api| api.list_assistants().send()).await?;
//! println!("{} assistants in org {}", assistants.len(), client.org_id());
//! # Ok(()) }
//! ```

use std::sync::Arc;

use agentapis_runtime::{Auth, ClientLimits, Secret};

pub use invent_client as generated;

pub mod chats;
pub mod events;

use crate::client::{check_credential, env_value, sealed, Output, Vendor};
use crate::error::{ArgumentError, ConfigError};
use crate::Error;

/// The production server.
pub const DEFAULT_BASE_URL: &str = "https://api.useinvent.com";
/// Environment variable holding the API key.
pub const ENV_API_KEY: &str = "INVENT_API_KEY";
/// Environment variable that overrides the base URL.
pub const ENV_BASE_URL: &str = "INVENT_BASE_URL";
/// Environment variable that sets the organization (default `c`).
pub const ENV_ORG_ID: &str = "INVENT_ORG_ID";
/// The org id that means "the key's own organization".
pub const OWN_ORG: &str = "c";
/// Invent's documented limit on creating assistants: 10 per hour. The server answers the
/// eleventh with 429, which arrives as [`Error::RateLimited`] (`retry_after` when the server
/// says how long).
pub const ASSISTANT_CREATIONS_PER_HOUR: u32 = 10;
/// Invent's documented limit: 500 requests per minute per IP address.
pub const DOCUMENTED_LIMITS: ClientLimits = ClientLimits::new().per_minute(500);

/// An org id fit for a path segment (progenitor percent-encodes it, but a `/` or an empty id
/// would still address a different route).
fn checked_org(org_id: &str) -> Result<Arc<str>, ConfigError> {
    let org = org_id.trim();
    if org.is_empty() || org.contains('/') || org.chars().any(char::is_control) {
        return Err(ConfigError::OrgId(org.chars().take(100).collect()));
    }
    Ok(org.into())
}

/// Invent, as a [`Vendor`]: `invent::Client` is `Client<Invent>`.
#[derive(Debug, Clone, Copy)]
pub struct Invent;

impl sealed::Sealed for Invent {}

impl Vendor for Invent {
    const DEFAULT_BASE_URL: &'static str = DEFAULT_BASE_URL;
    type Generated = generated::Client;
    type Credentials = Credentials;
    /// The org the client acts on.
    type State = Arc<str>;
    type Operations<'a> = generated::Org<'a>;

    fn operations<'a>(generated: &'a generated::Client, org: &'a Arc<str>) -> generated::Org<'a> {
        generated::Org::new(generated, org)
    }
}

impl<T> sealed::SealedOutput<Invent> for T {}
impl<T> Output<Invent> for T {
    type Data = T;
    fn into_data(self) -> T {
        self
    }
}

/// Invent's credentials and org scope.
#[derive(Debug, Clone)]
pub struct Credentials {
    api_key: Option<Secret>,
    org: String,
}

/// Builds an Invent [`Client`].
pub type ClientBuilder = crate::ClientBuilder<Invent>;

impl ClientBuilder {
    /// The organization's API key (sent as a bearer token).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.credentials.api_key = Some(Secret::new(key));
        self
    }

    /// The organization to act on (default `c`, the key's own).
    pub fn org(mut self, org_id: impl Into<String>) -> Self {
        self.credentials.org = org_id.into();
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let key = self
            .credentials
            .api_key
            .clone()
            .ok_or(ConfigError::MissingCredentials {
                api: Invent::API,
                env: &[ENV_API_KEY],
            })?;
        check_credential("Invent API key", key.expose())?;
        let org = checked_org(&self.credentials.org)?;
        let parts = self.finish(Auth::Bearer(key))?;
        Ok(Client::from_parts(parts, org))
    }
}

/// An Invent client acting on one organization. Cheap to clone; clones share connections and
/// rate-limit state.
pub type Client = crate::Client<Invent>;

impl Client {
    /// A builder with the defaults (org `c`).
    pub fn builder() -> ClientBuilder {
        ClientBuilder::with_credentials(Credentials {
            api_key: None,
            org: OWN_ORG.to_owned(),
        })
    }

    /// A client from `INVENT_API_KEY` (and `INVENT_BASE_URL`, `INVENT_ORG_ID` when set).
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
        if let Some(org) = env_value(lookup, ENV_ORG_ID) {
            builder = builder.org(org);
        }
        builder.build()
    }

    /// A view of this client acting on another organization (a sub-organization, with a parent
    /// organization's key): every call through it fills in that org. It shares connections,
    /// credentials and rate-limit state; nothing is rebuilt.
    ///
    /// ```no_run
    /// # async fn demo(client: agentapis::invent::Client) -> Result<(), agentapis::Error> {
    /// let sub = client.org("org_sub_42")?;
    /// let assistants = sub.call(|api| api.list_assistants().send()).await?;
    /// # Ok(()) }
    /// ```
    pub fn org(&self, org_id: &str) -> Result<Client, Error> {
        let org = checked_org(org_id).map_err(|_| ArgumentError::NotASegment {
            what: "Invent org id",
            value: org_id.chars().take(100).collect(),
        })?;
        Ok(self.with_state(org))
    }

    /// The organization this client acts on.
    pub fn org_id(&self) -> &str {
        self.state()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_defaults_to_own_and_is_validated() {
        let client = Client::builder().api_key("k").build().expect("valid");
        assert_eq!(client.org_id(), "c");
        let client = Client::builder().api_key("k").org("org_123").build().expect("valid");
        assert_eq!(client.org_id(), "org_123");
        assert!(matches!(
            Client::builder().api_key("k").org("a/b").build(),
            Err(Error::InvalidConfig(ConfigError::OrgId(_)))
        ));
        let sub = client.org("sub_9").expect("valid");
        assert_eq!((sub.org_id(), client.org_id()), ("sub_9", "org_123"));
        assert!(matches!(
            client.org("a/b"),
            Err(Error::InvalidArgument(ArgumentError::NotASegment { .. }))
        ));
    }

    #[test]
    fn from_env_reads_org_and_hides_key() {
        let client = Client::from_lookup(&|name| match name {
            ENV_API_KEY => Some("inv_SECRET".into()),
            ENV_ORG_ID => Some("sub_1".into()),
            _ => None,
        })
        .expect("valid settings");
        assert_eq!(client.org_id(), "sub_1");
        assert!(!format!("{client:?}").contains("SECRET"));
        assert!(matches!(
            Client::from_lookup(&|_| None),
            Err(Error::InvalidConfig(ConfigError::MissingCredentials { .. }))
        ));
    }
}
