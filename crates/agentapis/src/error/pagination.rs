//! Why a paginated walk could not go on.

/// What was wrong with a server's page, so that a walk stopped instead of looping or skipping.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PaginationFault {
    /// The server sent a cursor the walk already followed.
    #[error("the server repeated cursor {0}")]
    RepeatedCursor(String),
    /// The server led back to a page already walked.
    #[error("the server led back to a page already walked")]
    LoopedBack,
    /// Too many empty pages in a row, each saying more entries remain.
    #[error("{0} empty pages in a row although the server says more entries remain")]
    EmptyPages(u32),
    /// The server says more entries remain but sent no cursor to reach them.
    #[error("the server says more entries remain but sent no cursor to reach them")]
    NoCursor,
    /// The server answered another page than the one asked for.
    #[error("asked for page {asked}, the server answered page {served}")]
    WrongPage {
        /// The page asked for.
        asked: u64,
        /// The page the server says it served.
        served: u64,
    },
}
