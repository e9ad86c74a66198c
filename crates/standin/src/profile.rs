//! How the stand-in behaves like one API's server: the one place that knows how the APIs differ.
//! Each API's [`Profile`] comes from the workspace's API table (`xtask/src/apis.rs`), generated
//! into [`crate::apis`]; the server asks the profile, never which API it serves.

/// The shape of an API's error bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorShape {
    /// `{"success": false, "error": {"code": "NOT_FOUND", "message": ..}}` (Agentiv).
    Envelope,
    /// `{"error": {"code": "not_found", "message": ..}}`, the code in lower case.
    Nested,
}

/// What the stand-in does differently for one API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Profile {
    /// The shape of its error bodies.
    pub(crate) errors: ErrorShape,
    /// The status an invalid request body is answered with.
    pub(crate) invalid_body: u16,
    /// The Phoenix socket's path, for an API whose realtime API is Phoenix channels.
    pub(crate) phoenix_path: Option<&'static str>,
    /// Sign-ins can rotate their tokens (login and refresh routes).
    pub(crate) sessions: bool,
    /// Agent runs are simulated: started, then polled until done.
    pub(crate) runs: bool,
    /// The path parameter that names a run, given the seeded run's id in generated requests.
    pub(crate) run_parameter: Option<&'static str>,
}
