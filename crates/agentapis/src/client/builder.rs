//! The client builder every API shares: base URL, user agent and the runtime's settings, checked
//! into typed [`ConfigError`]s. Each API adds its credentials in its own module.

use std::time::Duration;

use agentapis_runtime::fleet::Fleet;
use agentapis_runtime::{
    Auth, BodyLimits, ClientLimits, Pacing, RetryPolicy, RetryRule, RetryRules, Runtime, Settings, Timeouts,
};
use reqwest::Url;

use agentapis_runtime::GeneratedClient as _;

use super::Vendor;
use crate::error::{BaseUrlProblem, ConfigError, CredentialProblem, Setting};

/// Builds a client of API `V`. The per-API modules add the methods that set credentials
/// (`api_key`, `org`, `secret_key`, ...) and `build`; the settings below are the runtime's
/// [`Settings`], filled in here and handed over whole.
#[derive(Debug, Clone)]
pub struct ClientBuilder<V: Vendor> {
    pub(crate) credentials: V::Credentials,
    base_url: Option<String>,
    settings: Settings,
    user_agent: Option<String>,
    pub(crate) fleet: Option<Fleet>,
}

/// What a finished builder hands to the per-API `build`.
pub(crate) struct Parts {
    pub(crate) base_url: String,
    pub(crate) http: reqwest::Client,
    pub(crate) runtime: Runtime,
}

impl<V: Vendor> ClientBuilder<V> {
    pub(crate) fn with_credentials(credentials: V::Credentials) -> Self {
        Self {
            credentials,
            base_url: None,
            settings: Settings::default(),
            user_agent: None,
            fleet: None,
        }
    }

    /// Sends requests to `url` instead of the vendor's production server. It must be `https://`,
    /// except on a loopback host (`localhost`, `127.0.0.1`, `[::1]`), which may be `http://`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// All runtime settings at once (retries, timeouts, pacing, limits, body limits).
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// Adds a retry rule, asked before the API's documented error codes and the built-in status
    /// rule (see [`agentapis_runtime::retry`]): e.g. retry a 529 after its `Retry-After`.
    ///
    /// ```
    /// use agentapis::retry::{Answer, Verdict};
    /// let builder = agentapis::agentiv::Client::builder()
    ///     .retry_rule(|a: &Answer<'_>| (a.status.as_u16() == 529).then_some(Verdict::Retry));
    /// # let _ = builder;
    /// ```
    pub fn retry_rule(mut self, rule: impl RetryRule + 'static) -> Self {
        self.settings.retry_rules = self.settings.retry_rules.rule(rule);
        self
    }

    /// The whole chain of retry rules at once (default: none of the user's).
    pub fn retry_rules(mut self, rules: RetryRules) -> Self {
        self.settings.retry_rules = rules;
        self
    }

    /// The whole retry policy (default: [`RetryPolicy::default`]).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.settings.retry = retry;
        self
    }

    /// Total attempts per call including the first (1 disables retries; default 3).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.settings.retry.max_attempts = attempts;
        self
    }

    /// All time limits at once (default: [`Timeouts::default`]).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.settings.timeouts = timeouts;
        self
    }

    /// Limit on opening a connection (default 10 s).
    pub fn connect_timeout(mut self, limit: Duration) -> Self {
        self.settings.timeouts.connect = limit;
        self
    }

    /// Limit on one attempt, from sending to the end of the body (default 60 s).
    pub fn attempt_timeout(mut self, limit: Duration) -> Self {
        self.settings.timeouts.per_attempt = limit;
        self
    }

    /// Limit on a whole call across attempts and waits (default 120 s; `None`: no limit).
    pub fn deadline(mut self, limit: Option<Duration>) -> Self {
        self.settings.timeouts.overall = limit;
        self
    }

    /// What to do when the server says no requests remain (default: wait for the reset).
    pub fn pacing(mut self, pacing: Pacing) -> Self {
        self.settings.pacing = pacing;
        self
    }

    /// Client-side request-rate and concurrency limits (default: none).
    pub fn limits(mut self, limits: ClientLimits) -> Self {
        self.settings.limits = limits;
        self
    }

    /// How much of a response body is buffered (default: 32 MiB of a success body, the first
    /// 64 KiB of an error body; see [`BodyLimits`]).
    pub fn body_limits(mut self, limits: BodyLimits) -> Self {
        self.settings.body_limits = limits;
        self
    }

    /// Keeps this client's limits in `fleet`'s shared store, so every client in the fleet with
    /// the same API and credentials (in any process on any machine) shares one request rate,
    /// one set of concurrency slots and the budget the server states. See the README's
    /// "Running a fleet" for the failure policy.
    pub fn fleet(mut self, fleet: Fleet) -> Self {
        self.fleet = Some(fleet);
        self
    }

    /// The `User-Agent` header (default `agentapis/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Checks the settings and builds the HTTP client and runtime.
    pub(crate) fn finish(&self, auth: Auth) -> Result<Parts, ConfigError> {
        let base_url = check_base_url(self.base_url.as_deref().unwrap_or(V::DEFAULT_BASE_URL))?;
        check_settings(&self.settings)?;
        let user_agent = self
            .user_agent
            .clone()
            .unwrap_or_else(|| concat!("agentapis/", env!("CARGO_PKG_VERSION")).to_owned());
        let http = reqwest::Client::builder()
            .connect_timeout(self.settings.timeouts.connect)
            // Every attempt's limit (the runtime sets a shorter one when the deadline is closer).
            .timeout(self.settings.timeouts.per_attempt)
            .user_agent(user_agent)
            // None of the APIs redirects; following one could carry a key in a custom header
            // (which reqwest does not strip) to another host.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(ConfigError::HttpClient)?;
        let runtime = Runtime::in_fleet(
            V::API,
            auth,
            V::Generated::operations(),
            self.settings.clone(),
            self.fleet.clone(),
        )
        .attempt_timeout_in_client();
        Ok(Parts {
            base_url,
            http,
            runtime,
        })
    }
}

/// Refuses settings that would make every call fail.
fn check_settings(settings: &Settings) -> Result<(), ConfigError> {
    let zero = [
        (settings.retry.max_attempts == 0, Setting::MaxAttempts),
        (settings.timeouts.connect.is_zero(), Setting::ConnectTimeout),
        (settings.timeouts.per_attempt.is_zero(), Setting::AttemptTimeout),
        (settings.limits.per_minute == Some(0), Setting::RequestsPerMinute),
        (settings.limits.concurrency == Some(0), Setting::Concurrency),
        (settings.body_limits.success == 0, Setting::SuccessBodyLimit),
    ];
    match zero.into_iter().find(|(is_zero, _)| *is_zero) {
        Some((_, setting)) => Err(ConfigError::Zero(setting)),
        None => Ok(()),
    }
}

/// Accepts `https://` URLs, and `http://` only on loopback hosts; no credentials, query or
/// fragment. Returns the URL without a trailing slash (the generated code appends paths).
pub(crate) fn check_base_url(raw: &str) -> Result<String, ConfigError> {
    // Every error below quotes `shown`, never `raw`: a URL's userinfo is a credential.
    let shown = without_userinfo(raw);
    let refuse = |problem| ConfigError::BaseUrl {
        url: shown.clone(),
        problem,
    };
    let url = Url::parse(raw.trim()).map_err(|e| refuse(BaseUrlProblem::Unparsable(e)))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err(refuse(BaseUrlProblem::PlainHttp)),
        other => return Err(refuse(BaseUrlProblem::Scheme(other.to_owned()))),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse(BaseUrlProblem::Userinfo));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(refuse(BaseUrlProblem::QueryOrFragment));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// `raw` with anything between the scheme and its last `@` replaced by `***`, whether or not
/// `raw` parses as a URL (a password may hold `/`, `?` or `#`; an `@` in a path over-redacts,
/// which only costs an error message some detail).
fn without_userinfo(raw: &str) -> String {
    let raw = raw.trim();
    let after_scheme = raw.find("://").map_or(0, |i| i + 3);
    match raw[after_scheme..].rfind('@') {
        Some(at) => format!("{}***{}", &raw[..after_scheme], &raw[after_scheme + at..]),
        None => raw.to_owned(),
    }
}

/// A credential from the environment, or `None` when unset or blank.
pub(crate) fn env_value(lookup: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Checks a key or token before it is used in a header (the value is never echoed).
pub(crate) fn check_credential(what: &'static str, value: &str) -> Result<(), ConfigError> {
    let problem = if value.trim().is_empty() {
        CredentialProblem::Empty
    } else if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        CredentialProblem::Whitespace
    } else {
        return Ok(());
    };
    Err(ConfigError::Credential { what, problem })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            check_base_url("https://api.example.com/").ok().as_deref(),
            Some("https://api.example.com")
        );
        assert_eq!(check_base_url("https://h/v1/").ok().as_deref(), Some("https://h/v1"));
        for ok in ["http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9"] {
            assert!(check_base_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://api.example.com",
            "ftp://h",
            "not a url",
            "https://h/?a=1",
            "https://h/#x",
        ] {
            assert!(matches!(check_base_url(bad), Err(ConfigError::BaseUrl { .. })), "{bad}");
        }
        for with_userinfo in [
            "https://user:hunter2@h",
            "http://user:hunter2@api.example.com",
            "ftp://user:hunter2@h",
            "https://user:hunter2@h:notaport",
            "https://user:hunter2@h/?q=1",
            "user:hunter2@h",
            "https://u:pa/ss/hunter2@h",
            "https://u:hunter2?x#y@h",
        ] {
            let Err(e) = check_base_url(with_userinfo) else {
                panic!("userinfo accepted: {with_userinfo}")
            };
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn credentials_are_checked_without_echo() {
        assert!(check_credential("key", "sk_abc").is_ok());
        for bad in ["", "  ", "sk_a b", "sk_\n"] {
            let Err(e) = check_credential("key", bad) else {
                panic!("accepted {bad:?}")
            };
            assert!(!bad.trim().is_empty() && !e.to_string().contains(bad.trim()) || bad.trim().is_empty());
        }
    }
}
