//! Invent: AI support assistants (`api.useinvent.com`).
//!
//! Routes are org-scoped (`/orgs/{org_id}/...`); the org `c` means the key's own organization,
//! and is the client's default. A parent organization's key may act on a sub-organization: set
//! its id with [`ClientBuilder::org`] and pass [`Client::org_id`] to the generated builders.
//!
//! ```no_run
//! # async fn demo() -> Result<(), agentapis::Error> {
//! let client = agentapis::invent::Client::from_env()?; // INVENT_API_KEY
//! let org = client.org_id();
//! let assistants = client.call(|api| api.list_assistants().org_id(org).send()).await?;
//! println!("{} assistants of {:?}", assistants.len(), assistants.rate_limit().page_count);
//! # Ok(()) }
//! ```

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use agentapis_runtime::{Auth, CallOptions, ClientLimits, RateLimit, Secret};
use progenitor_client::{ClientInfo as _, ResponseValue};

pub use invent_client as generated;

pub mod chats;

use crate::config::{check_credential, env_value};
use crate::error::Api;

const API: Api = Api::Invent;
use crate::{Error, Response};

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
fn checked_org(org_id: &str) -> Result<String, Error> {
    let org = org_id.trim();
    if org.is_empty() || org.contains('/') || org.chars().any(char::is_control) {
        return Err(Error::InvalidArgument(format!(
            "Invent org id {org:?} is not a path segment"
        )));
    }
    Ok(org.to_owned())
}

/// Invent's credentials and org scope.
#[derive(Debug, Clone)]
pub struct Credentials {
    api_key: Option<Secret>,
    org: String,
}

/// Builds an Invent [`Client`].
pub type ClientBuilder = crate::ClientBuilder<Credentials>;

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
            .ok_or_else(|| Error::InvalidConfig(format!("no Invent API key (set one, or {ENV_API_KEY})")))?;
        check_credential("Invent API key", key.expose())?;
        let org = checked_org(&self.credentials.org).map_err(|e| Error::InvalidConfig(e.to_string()))?;
        let parts = self.finish(Api::Invent, DEFAULT_BASE_URL, Auth::Bearer(key), generated::OPERATIONS)?;
        Ok(Client {
            generated: generated::Client::new_with_client(&parts.base_url, parts.http, parts.runtime),
            org: org.into(),
        })
    }
}

/// An Invent client. Cheap to clone; clones share connections and rate-limit state.
#[derive(Clone)]
pub struct Client {
    generated: generated::Client,
    org: Arc<str>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("invent::Client")
            .field("base_url", &self.generated.baseurl())
            .field("org", &self.org)
            .field("runtime", self.generated.inner())
            .finish()
    }
}

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
    /// organization's key). It shares connections, credentials and rate-limit state; nothing is
    /// rebuilt.
    ///
    /// ```no_run
    /// # async fn demo(client: agentapis::invent::Client) -> Result<(), agentapis::Error> {
    /// let sub = client.org("org_sub_42")?;
    /// let assistants = sub.call(|api| api.list_assistants().org_id(sub.org_id()).send()).await?;
    /// # Ok(()) }
    /// ```
    pub fn org(&self, org_id: &str) -> Result<Client, Error> {
        let org = checked_org(org_id)?;
        Ok(Client {
            generated: self.generated.clone(),
            org: org.into(),
        })
    }

    /// The organization this client acts on.
    pub fn org_id(&self) -> &str {
        &self.org
    }

    /// Runs one generated operation through the runtime.
    ///
    /// `operation` gets the generated client and returns a filled-in builder's `send()`.
    pub async fn call<'a, T, E, Fut>(
        &'a self,
        operation: impl FnOnce(&'a generated::Client) -> Fut,
    ) -> Result<Response<T>, Error>
    where
        Fut: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<E>>>,
    {
        self.call_with(CallOptions::default(), operation).await
    }

    /// [`call`](Self::call) with per-call options.
    pub async fn call_with<'a, T, E, Fut>(
        &'a self,
        options: CallOptions,
        operation: impl FnOnce(&'a generated::Client) -> Fut,
    ) -> Result<Response<T>, Error>
    where
        Fut: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<E>>>,
    {
        crate::call::run(Api::Invent, options, operation(&self.generated)).await
    }

    /// Walks a paginated operation page by page. `request` fills in the generated builder
    /// (filters, path parameters); the pager sets the page or cursor on each request.
    pub fn pages<'a, P>(
        &'a self,
        request: impl FnOnce(&'a generated::Client) -> P,
        options: crate::PageOptions,
    ) -> crate::PageStream<'a, P>
    where
        P: crate::Paginated + 'a,
        P::Page: Send + 'a,
        P::Error: Send + 'a,
    {
        crate::PageStream::new(API, request(&self.generated), options)
    }

    /// Walks a paginated operation entry by entry (see [`pages`](Self::pages)).
    pub fn items<'a, P>(
        &'a self,
        request: impl FnOnce(&'a generated::Client) -> P,
        options: crate::PageOptions,
    ) -> crate::ItemStream<'a, P>
    where
        P: crate::Paginated + 'a,
        P::Page: Send + 'a,
        P::Error: Send + 'a,
    {
        crate::ItemStream::new(self.pages(request, options))
    }

    /// The generated client, already wired to this client's runtime (credentials, retries,
    /// pacing). Its errors are the generated ones; prefer [`call`](Self::call) for typed errors.
    pub fn generated(&self) -> &generated::Client {
        &self.generated
    }

    /// The latest rate-limit state any response reported.
    pub fn rate_limit(&self) -> RateLimit {
        self.generated.inner().rate_limit()
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
            Err(Error::InvalidConfig(_))
        ));
        let sub = client.org("sub_9").expect("valid");
        assert_eq!((sub.org_id(), client.org_id()), ("sub_9", "org_123"));
        assert!(matches!(client.org(""), Err(Error::InvalidArgument(_))));
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
        assert!(matches!(Client::from_lookup(&|_| None), Err(Error::InvalidConfig(_))));
    }
}
