//! What can be wrong with a client's configuration, found before anything is sent.

use std::fmt;

use agentapis_runtime::Api;

/// A client's configuration is wrong: a missing or malformed credential, a bad base URL, or a
/// setting that would make every call fail. Never contains a credential.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No credentials were set.
    #[error("no {api} credentials (set them on the builder, or {})", env.join(" / "))]
    MissingCredentials {
        /// The API.
        api: Api,
        /// The environment variables `from_env()` reads them from.
        env: &'static [&'static str],
    },
    /// A key or token is malformed (the value itself is never shown).
    #[error("the {what} {problem}")]
    Credential {
        /// Which credential (`Agentiv API key`, `ArchAstro refresh token`, ...).
        what: &'static str,
        /// What is wrong with it.
        problem: CredentialProblem,
    },
    /// The base URL cannot be used.
    #[error("base URL {url:?}: {problem}")]
    BaseUrl {
        /// The URL as given, with any user name or password replaced by `***`.
        url: String,
        /// What is wrong with it.
        problem: BaseUrlProblem,
    },
    /// A setting is zero where at least one is needed.
    #[error("{0} must be at least 1 (or longer than zero)")]
    Zero(Setting),
    /// An Invent org id that is not one path segment (empty, or holding `/` or control characters).
    #[error("Invent org id {0:?} is not a path segment")]
    OrgId(String),
    /// `share_session()` was asked for, but the client has no fleet with a session store.
    #[error("{0}: a shared session needs a fleet with a session store (`.fleet(Fleet::redis(..)?)`)")]
    SharedSessionWithoutStore(Api),
    /// The HTTP client could not be built (e.g. no TLS backend).
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
}

/// What is wrong with a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialProblem {
    /// It is empty or blank.
    Empty,
    /// It holds whitespace or control characters (which cannot go into a header).
    Whitespace,
    /// It lacks the prefix of its kind (an ArchAstro `sk_` or `pk_` key).
    WrongPrefix {
        /// The prefix it needs.
        expected: &'static str,
    },
}

impl fmt::Display for CredentialProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialProblem::Empty => f.write_str("is empty"),
            CredentialProblem::Whitespace => f.write_str("contains whitespace or control characters"),
            CredentialProblem::WrongPrefix { expected } => write!(f, "must start with {expected:?}"),
        }
    }
}

/// What is wrong with a base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BaseUrlProblem {
    /// It does not parse.
    Unparsable(url::ParseError),
    /// Plain `http://` to a host that is not loopback.
    PlainHttp,
    /// A scheme other than `https` (or `http` on loopback).
    Scheme(String),
    /// It carries a user name or password.
    Userinfo,
    /// It has a query or fragment.
    QueryOrFragment,
}

impl fmt::Display for BaseUrlProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BaseUrlProblem::Unparsable(e) => write!(f, "{e}"),
            BaseUrlProblem::PlainHttp => f.write_str("plain http is allowed only on loopback hosts; use https"),
            BaseUrlProblem::Scheme(scheme) => write!(f, "unsupported scheme {scheme:?}"),
            BaseUrlProblem::Userinfo => f.write_str("must not contain a user name or password"),
            BaseUrlProblem::QueryOrFragment => f.write_str("must not have a query or fragment"),
        }
    }
}

/// A client setting that must not be zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Setting {
    /// `max_attempts`.
    MaxAttempts,
    /// `connect_timeout`.
    ConnectTimeout,
    /// `attempt_timeout`.
    AttemptTimeout,
    /// `ClientLimits::per_minute`.
    RequestsPerMinute,
    /// `ClientLimits::concurrency`.
    Concurrency,
    /// `BodyLimits::success`.
    SuccessBodyLimit,
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Setting::MaxAttempts => "max_attempts",
            Setting::ConnectTimeout => "the connect timeout",
            Setting::AttemptTimeout => "the attempt timeout",
            Setting::RequestsPerMinute => "the client-side requests per minute",
            Setting::Concurrency => "the client-side concurrency",
            Setting::SuccessBodyLimit => "the success body limit",
        })
    }
}
