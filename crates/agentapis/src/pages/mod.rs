//! Pagination streams: one generic pager over every paginated operation of every API.
//!
//! The generated code implements [`Paginated`](crate::Paginated) for each paginated operation's request builder
//! (detected by the xtask from parameters and response shape). [`PageStream`] walks any of them:
//! it positions the builder the caller filled in (filters kept) at each page, sends it through
//! the runtime (retries, pacing, typed errors), and keeps up to `prefetch` pages in flight while
//! the caller works. [`ItemStream`] flattens pages into entries.
//!
//! Rooms: [`PageOptions`] (how a walk runs), `rules` (where each page leads: pure functions per
//! paging style), `stream` (the pager itself).
//!
//! ```no_run
//! use futures::TryStreamExt as _;
//! use agentapis::{archastro, PageOptions};
//!
//! # async fn demo(client: archastro::Client) -> Result<(), agentapis::Error> {
//! let mut agents = client.items(|api| api.list_agents().search("support"), PageOptions::new().page_size(50));
//! while let Some(agent) = agents.try_next().await? {
//!     println!("{:?}", agent.id);
//! }
//! # Ok(()) }
//! ```

mod options;
mod rules;
mod stream;

use agentapis_runtime::paging::Position;
use agentapis_runtime::{PageHeaders, RateLimit};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;

pub use agentapis_runtime::paging::Direction;
pub use options::PageOptions;
pub use stream::{ItemStream, PageStream};

/// One page of a walk.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Page<T> {
    /// The entries.
    pub items: Vec<T>,
    /// The position that produced this page.
    pub position: Position,
    /// Where the next page starts (`None` on the last page).
    pub next: Option<Position>,
    /// Total entries, when the server said (body field or Invent's `pagination-count`).
    pub total_items: Option<u64>,
    /// The HTTP status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// Rate-limit state the response reported.
    pub rate_limit: RateLimit,
    /// The response's `pagination-*` headers (Invent).
    pub page_headers: PageHeaders,
    /// Attempts this page took.
    pub attempts: u32,
}
