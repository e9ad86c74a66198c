//! The one client of every API: [`Client<V>`](Client) holds what every API's client does
//! (`call`, `call_with`, `pages`, `items`, `generated`, `rate_limit`, `Debug`) once; a [`Vendor`]
//! says what differs per API. The per-API modules keep only credentials and workflows
//! (`agentiv::Client` is `Client<agentiv::Agentiv>`).

mod builder;

use std::fmt;
use std::future::Future;

use agentapis_runtime::{Api, CallOptions, ErrorBody, GeneratedClient, RateLimit, Runtime};
use progenitor_client::{ClientInfo, ResponseValue};

pub use builder::ClientBuilder;
pub(crate) use builder::{check_credential, env_value, Parts};

use crate::error::Decoding;
use crate::{Error, ErrorCode, ItemStream, PageOptions, PageStream, Paginated, Response};

/// What makes one API's client different from another's. Implemented by a marker type per API
/// (`invent::Invent`, `agentiv::Agentiv`, `archastro::ArchAstro`); sealed.
pub trait Vendor: sealed::Sealed + Sized + 'static {
    /// The API.
    const API: Api = <Self::Generated as GeneratedClient>::API;
    /// Where requests go unless the builder says otherwise.
    const DEFAULT_BASE_URL: &'static str;
    /// The generated low-level client.
    type Generated: GeneratedClient + ClientInfo<Runtime> + Clone + fmt::Debug + Send + Sync;
    /// The credentials a builder collects.
    type Credentials: Clone + fmt::Debug + Send + Sync;
    /// What a client keeps besides the generated client (Invent: its org; ArchAstro: tokens).
    type State: Clone + fmt::Debug + Send + Sync;
    /// What an operation closure of [`Client::call`] receives: the generated client, or a view
    /// of it (Invent's org view fills in `org_id`).
    type Operations<'a>;

    /// The operations handed to a call's closure.
    fn operations<'a>(generated: &'a Self::Generated, state: &'a Self::State) -> Self::Operations<'a>;
    /// The typed code for a vendor error code (whether retrying it helps is the runtime's retry
    /// rules' verdict: `agentapis_runtime::retry`).
    fn error_code(code: String) -> ErrorCode {
        crate::error::convert_vendor_code(code)
    }
    /// Whether a body sent with a success status is the vendor's failure answer.
    fn failure_in_success(_parsed: &ErrorBody) -> bool {
        false
    }
}

pub(crate) mod sealed {
    /// Only this crate's APIs are vendors.
    pub trait Sealed {}
    /// Only this crate says what a call of `V` returns.
    pub trait SealedOutput<V> {}
}

/// A success body of `V`'s generated client and what [`Client::call`] returns for it: the body
/// itself, or (Agentiv) the `data` of its success envelope.
pub trait Output<V>: sealed::SealedOutput<V> {
    /// What the call returns.
    type Data;
    /// Unwraps the body.
    fn into_data(self) -> Self::Data;
}

pub(crate) fn decoding<V: Vendor>() -> Decoding {
    Decoding {
        api: V::API,
        error_code: V::error_code,
        failure_in_success: V::failure_in_success,
    }
}

/// A client of API `V`. Cheap to clone; clones share connections and rate-limit state.
pub struct Client<V: Vendor> {
    generated: V::Generated,
    state: V::State,
}

impl<V: Vendor> Clone for Client<V> {
    fn clone(&self) -> Self {
        Self {
            generated: self.generated.clone(),
            state: self.state.clone(),
        }
    }
}

impl<V: Vendor> fmt::Debug for Client<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("api", &V::API)
            .field("base_url", &self.generated.baseurl())
            .field("state", &self.state)
            .field("runtime", self.generated.inner())
            .finish()
    }
}

impl<V: Vendor> Client<V> {
    pub(crate) fn from_parts(parts: Parts, state: V::State) -> Self {
        Self {
            generated: V::Generated::build(&parts.base_url, parts.http, parts.runtime),
            state,
        }
    }

    // Only the APIs that keep state besides the generated client read it.
    #[cfg(any(feature = "invent", feature = "archastro"))]
    pub(crate) fn state(&self) -> &V::State {
        &self.state
    }

    /// This client with other state (e.g. an Invent view of another org), sharing connections,
    /// credentials and rate-limit state.
    #[cfg(feature = "invent")]
    pub(crate) fn with_state(&self, state: V::State) -> Self {
        Self {
            generated: self.generated.clone(),
            state,
        }
    }

    /// Runs one generated operation through the runtime and returns its body (Agentiv: the
    /// `data` of its success envelope) with status, headers, rate limits and attempts.
    ///
    /// `operation` gets the API's operations and returns a filled-in builder's `send()`.
    pub async fn call<'a, T, E, Fut>(
        &'a self,
        operation: impl FnOnce(V::Operations<'a>) -> Fut,
    ) -> Result<Response<T::Data>, Error>
    where
        T: Output<V>,
        Fut: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<E>>>,
    {
        self.call_with(CallOptions::default(), operation).await
    }

    /// [`call`](Self::call) with per-call options (e.g. opting in to retrying an unsafe request).
    pub async fn call_with<'a, T, E, Fut>(
        &'a self,
        options: CallOptions,
        operation: impl FnOnce(V::Operations<'a>) -> Fut,
    ) -> Result<Response<T::Data>, Error>
    where
        T: Output<V>,
        Fut: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<E>>>,
    {
        let operations = V::operations(&self.generated, &self.state);
        let response = crate::call::run(decoding::<V>(), options, operation(operations)).await?;
        Ok(response.map(Output::into_data))
    }

    /// Walks a paginated operation page by page. `request` fills in the generated builder
    /// (filters, path parameters); the pager sets the page or cursor on each request.
    pub fn pages<'a, P>(
        &'a self,
        request: impl FnOnce(V::Operations<'a>) -> P,
        options: PageOptions,
    ) -> PageStream<'a, P>
    where
        P: Paginated + 'a,
        P::Page: Send + 'a,
        P::Error: Send + 'a,
    {
        let operations = V::operations(&self.generated, &self.state);
        PageStream::new(decoding::<V>(), request(operations), options)
    }

    /// Walks a paginated operation entry by entry (see [`pages`](Self::pages)).
    pub fn items<'a, P>(
        &'a self,
        request: impl FnOnce(V::Operations<'a>) -> P,
        options: PageOptions,
    ) -> ItemStream<'a, P>
    where
        P: Paginated + 'a,
        P::Page: Send + 'a,
        P::Error: Send + 'a,
    {
        ItemStream::new(self.pages(request, options))
    }

    /// The generated client, already wired to this client's runtime (credentials, retries,
    /// pacing). Its errors are the generated ones; prefer [`call`](Self::call) for typed errors.
    pub fn generated(&self) -> &V::Generated {
        &self.generated
    }

    /// The latest rate-limit state any response reported.
    pub fn rate_limit(&self) -> RateLimit {
        self.generated.inner().rate_limit()
    }
}
