#![doc = include_str!("../README.md")]
// docs.rs (and `cargo xtask release docs`) show which feature each gated item needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod call;
pub mod client;
pub mod error;
pub mod fleet;
pub mod pages;
mod response;

#[cfg(feature = "agentiv")]
pub mod agentiv;
#[cfg(feature = "archastro")]
pub mod archastro;
#[cfg(feature = "invent")]
pub mod invent;

pub use agentapis_runtime::paging::{Paginated, Paging, Position};
/// Which answers are worth another attempt (the runtime's retry rules; add your own with
/// [`ClientBuilder::retry_rule`]) and the one backoff every wait-and-retry uses.
pub use agentapis_runtime::{backoff, retry};
pub use agentapis_runtime::{
    Api, BodyLimits, CallOptions, ClientLimits, LimitScope, Pacing, PageHeaders, RateLimit, RetryBudget, RetryPolicy,
    Secret, Settings, StopReason, Timeouts, Waiting,
};
pub use client::{Client, ClientBuilder, Output, Vendor};
pub use error::{ApiError, ArgumentError, ConfigError, Error, ErrorCode, PaginationFault, Phase, StatusClass};
pub use pages::{Direction, ItemStream, Page, PageOptions, PageStream};
pub use response::Response;
