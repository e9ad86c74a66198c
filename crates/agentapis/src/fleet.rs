//! Fleet mode: limits (and, for ArchAstro, sessions) shared by many processes through a store.
//! See the README's "Running a fleet" and [`ClientBuilder::fleet`](crate::ClientBuilder::fleet).
//!
//! ```no_run
//! # #[cfg(all(feature = "redis", feature = "agentiv"))]
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use agentapis::agentiv::{self, Plan};
//! use agentapis::fleet::Fleet;
//!
//! let client = agentiv::Client::builder()
//!     .api_key("ak_live_...")
//!     .limits(Plan::Pro.limits())
//!     .fleet(Fleet::redis("redis://127.0.0.1:6379/", "my-app")?)
//!     .build()?;
//! # let _ = client;
//! # Ok(())
//! # }
//! ```

#[cfg(feature = "redis")]
pub use agentapis_runtime::fleet::RedisStore;
pub use agentapis_runtime::fleet::{
    conformance, fingerprint, BoxFuture, FailurePolicy, Fleet, LimitStore, MemoryStore, Quota, RateAnswer,
    SessionStore, SharedTokens, StoreError, DEFAULT_STORE_TIMEOUT,
};
