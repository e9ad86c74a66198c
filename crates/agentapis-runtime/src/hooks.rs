//! The progenitor client hooks every generated client implements the same way, written once.

use crate::call::Refusal;
use crate::{Api, OperationMeta, Runtime};

/// What every generated client is, beside its operations: the API it calls, its operation table,
/// and how it is built around a [`Runtime`]. Implemented by [`client_hooks!`](crate::client_hooks)
/// from the generated file's `API` and `OPERATIONS`.
pub trait GeneratedClient: Sized {
    /// The API the client calls.
    const API: Api;
    /// Every operation, as the generated table lists it.
    fn operations() -> &'static [OperationMeta];
    /// The client for `base_url`, sending with `http` through `runtime`.
    fn build(base_url: &str, http: reqwest::Client, runtime: Runtime) -> Self;
}

/// The runtime's refusal carried by a response the runtime made up instead of sending or
/// reading on (see [`Runtime::execute`](crate::Runtime::execute)).
pub fn refusal_of(result: &reqwest::Result<reqwest::Response>) -> Option<&Refusal> {
    result.as_ref().ok()?.extensions().get::<Refusal>()
}

/// Implements `progenitor_client::ClientHooks<Runtime>` for a generated `Client`:
/// `pre` refuses a request whose path parameters would change its route, `exec` sends through
/// [`Runtime::execute`](crate::Runtime::execute), and `post` turns a runtime refusal into
/// `progenitor_client::Error::Custom` (its typed form is in the call record).
#[macro_export]
macro_rules! client_hooks {
    ($client:ty) => {
        impl ::progenitor_client::ClientHooks<$crate::Runtime> for $client {
            async fn pre<E>(
                &self,
                request: &mut ::reqwest::Request,
                info: &::progenitor_client::OperationInfo,
            ) -> ::std::result::Result<(), ::progenitor_client::Error<E>> {
                use ::progenitor_client::ClientInfo as _;
                self.inner()
                    .check_request(request, info.operation_id, self.baseurl())
                    .map_err(|refusal| ::progenitor_client::Error::Custom(refusal.to_string()))
            }

            async fn exec(
                &self,
                request: ::reqwest::Request,
                info: &::progenitor_client::OperationInfo,
            ) -> ::reqwest::Result<::reqwest::Response> {
                use ::progenitor_client::ClientInfo as _;
                self.inner()
                    .execute(self.client(), request, info.operation_id)
                    .await
            }

            async fn post<E>(
                &self,
                result: &::reqwest::Result<::reqwest::Response>,
                _info: &::progenitor_client::OperationInfo,
            ) -> ::std::result::Result<(), ::progenitor_client::Error<E>> {
                match $crate::refusal_of(result) {
                    Some(refusal) => Err(::progenitor_client::Error::Custom(refusal.to_string())),
                    None => Ok(()),
                }
            }
        }
    };
}

/// Implements [`GeneratedClient`] for a bundled API's generated `Client`, from the generated
/// `API` and `OPERATIONS` (which must be in scope). Documents generated without an API entry
/// (the corpus) use [`client_hooks!`](crate::client_hooks) alone.
#[macro_export]
macro_rules! generated_client {
    ($client:ty) => {
        impl $crate::GeneratedClient for $client {
            const API: $crate::Api = API;
            fn operations() -> &'static [$crate::OperationMeta] {
                OPERATIONS
            }
            fn build(base_url: &str, http: ::reqwest::Client, runtime: $crate::Runtime) -> Self {
                Self::new_with_client(base_url, http, runtime)
            }
        }
    };
}
