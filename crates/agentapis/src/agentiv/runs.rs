//! Running agents: synchronous runs, asynchronous runs with an execution handle that waits for
//! the result, and the documented plans. The documented agent slugs are the generated
//! [`AgentSlug`](super::AgentSlug) (any other slug is sent as given).

use std::time::{Duration, Instant};

use agentapis_runtime::backoff::Backoff;
use agentapis_runtime::ClientLimits;
use serde::Serialize;

use super::generated::types::{Execution, ExecutionStatus, RunRequest, RunResult};
use super::Client;
use crate::error::ArgumentError;
use crate::{Error, Response};

/// Agentiv plans, as client-side limits (the documented request rates and concurrency).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Plan {
    /// 30 requests/min, 1 at a time.
    Starter,
    /// 120 requests/min, 5 at a time.
    Pro,
    /// Negotiated limits: none applied client-side.
    Enterprise,
}

impl Plan {
    /// The limits to apply client-side.
    pub fn limits(self) -> ClientLimits {
        match self {
            Plan::Starter => ClientLimits::new().per_minute(30).concurrency(1),
            Plan::Pro => ClientLimits::new().per_minute(120).concurrency(5),
            Plan::Enterprise => ClientLimits::default(),
        }
    }
}

impl super::ClientBuilder {
    /// Applies a plan's documented limits client-side.
    pub fn plan(self, plan: Plan) -> Self {
        self.limits(plan.limits())
    }
}

/// How [`ExecutionHandle::wait`] polls. Build it from `default()` and the setters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaitOptions {
    /// Give up after this long (default 10 min).
    pub timeout: Duration,
    /// First poll delay when the server gave no estimate (default 1 s).
    pub first_poll: Duration,
    /// Longest gap between polls (default 15 s).
    pub max_interval: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(600),
            first_poll: Duration::from_secs(1),
            max_interval: Duration::from_secs(15),
        }
    }
}

impl WaitOptions {
    /// Sets [`timeout`](Self::timeout).
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = limit;
        self
    }

    /// Sets [`first_poll`](Self::first_poll).
    pub fn first_poll(mut self, delay: Duration) -> Self {
        self.first_poll = delay;
        self
    }

    /// Sets [`max_interval`](Self::max_interval) (values under 50 ms act as 50 ms).
    pub fn max_interval(mut self, gap: Duration) -> Self {
        self.max_interval = gap;
        self
    }
}

/// A run started with [`Client::run_async`].
#[derive(Debug, Clone)]
pub struct ExecutionHandle<'a> {
    client: &'a Client,
    id: String,
    estimated: Option<Duration>,
}

/// Where an execution stands, for waiting on it.
enum Stage {
    /// `queued` or `running`: poll again.
    Pending,
    Succeeded,
    Failed,
    /// A status this SDK does not know (e.g. `cancelled`): waiting would never end.
    Unknown(String),
}

fn stage(status: &ExecutionStatus) -> Stage {
    match status {
        ExecutionStatus::Queued | ExecutionStatus::Running => Stage::Pending,
        ExecutionStatus::Success => Stage::Succeeded,
        ExecutionStatus::Failed => Stage::Failed,
        other => Stage::Unknown(other.as_str().to_owned()),
    }
}

/// The shortest gap between polls, whatever the options say.
const MIN_POLL_INTERVAL: Duration = Duration::from_millis(50);

pub(super) fn to_object(input: impl Serialize) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
    match serde_json::to_value(input) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(other) => Err(ArgumentError::InputNotAnObject(match other {
            serde_json::Value::Array(_) => "an array",
            serde_json::Value::Null => "null",
            _ => "a scalar",
        })
        .into()),
        Err(e) => Err(ArgumentError::InputNotSerializable(e.to_string()).into()),
    }
}

impl Client {
    async fn start(
        &self,
        slug: &str,
        input: impl Serialize,
        asynchronous: bool,
        webhook_url: Option<&str>,
    ) -> Result<Response<RunResult>, Error> {
        let body = RunRequest {
            async_: asynchronous,
            input_payload: to_object(input)?,
            webhook_url: webhook_url.map(str::to_owned),
        };
        self.call(|api| api.run_agent().agent_slug(slug).body(body).send())
            .await
    }

    /// Runs an agent and waits server-side for the result. A failed run is
    /// [`Error::ExecutionFailed`]. `input` is any JSON object (e.g. `EmailTriageInput`).
    ///
    /// The run is sent once: running an agent is not idempotent.
    /// `slug` is an [`AgentSlug`](super::AgentSlug) or any other slug as text.
    pub async fn run(&self, slug: impl AsRef<str>, input: impl Serialize) -> Result<Response<RunResult>, Error> {
        let result = self.start(slug.as_ref(), input, false, None).await?;
        let run: &RunResult = &result;
        if matches!(stage(&run.status), Stage::Failed) {
            return Err(Error::ExecutionFailed {
                execution_id: run.execution_id.clone(),
                summary: run.summary.clone(),
            });
        }
        Ok(result)
    }

    /// Starts an agent run and returns at once with a handle to wait on. With `webhook_url`,
    /// Agentiv also notifies that URL when the run ends.
    pub async fn run_async(
        &self,
        slug: impl AsRef<str>,
        input: impl Serialize,
        webhook_url: Option<&str>,
    ) -> Result<ExecutionHandle<'_>, Error> {
        let result = self.start(slug.as_ref(), input, true, webhook_url).await?;
        Ok(ExecutionHandle {
            client: self,
            id: result.execution_id.clone(),
            estimated: result
                .estimated_duration_ms
                .and_then(|ms| u64::try_from(ms).ok())
                .map(Duration::from_millis),
        })
    }

    /// A handle for an execution started elsewhere (e.g. by a schedule).
    pub fn execution(&self, id: impl Into<String>) -> ExecutionHandle<'_> {
        ExecutionHandle {
            client: self,
            id: id.into(),
            estimated: None,
        }
    }
}

impl ExecutionHandle<'_> {
    /// The execution id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Fetches the execution's current state once.
    pub async fn poll(&self) -> Result<Execution, Error> {
        let id = self.id.as_str();
        Ok(self
            .client
            .call(|api| api.get_execution().execution_id(id).send())
            .await?
            .into_inner())
    }

    /// Polls until the execution succeeds (its final state) or fails ([`Error::ExecutionFailed`]),
    /// reaches a status this SDK does not know ([`Error::UnknownExecutionStatus`], at once), or
    /// `options.timeout` passes ([`Error::RunNotFinished`]; the run goes on). The first poll waits for the server's
    /// estimate; later ones back off by half again up to `max_interval` (never below 50 ms): the
    /// runtime's polling [`Backoff`].
    ///
    /// Cancellation-safe: it only reads, so dropping the future (e.g. in `select!`) leaves the
    /// run going and the handle reusable.
    pub async fn wait(&self, options: WaitOptions) -> Result<Execution, Error> {
        let started = Instant::now();
        let first = self.estimated.unwrap_or(options.first_poll).max(MIN_POLL_INTERVAL);
        let schedule = Backoff::polling(first, options.max_interval).floor(MIN_POLL_INTERVAL);
        let mut polls = 0u32;
        let timed_out = |polls| Error::RunNotFinished {
            execution_id: self.id.clone(),
            waited: started.elapsed(),
            polls,
        };
        loop {
            let remaining = options.timeout.saturating_sub(started.elapsed());
            if remaining.is_zero() {
                return Err(timed_out(polls));
            }
            tokio::time::sleep(schedule.delay(polls).min(remaining)).await;
            polls = polls.saturating_add(1);
            // A poll that retries must not carry the wait past its timeout either.
            let left = options.timeout.saturating_sub(started.elapsed());
            let Ok(polled) = tokio::time::timeout(left, self.poll()).await else {
                return Err(timed_out(polls));
            };
            let execution = polled?;
            match stage(&execution.status) {
                Stage::Succeeded => return Ok(execution),
                Stage::Failed => {
                    return Err(Error::ExecutionFailed {
                        execution_id: execution.id,
                        summary: execution.summary,
                    })
                }
                Stage::Unknown(status) => {
                    return Err(Error::UnknownExecutionStatus {
                        execution_id: execution.id,
                        status,
                    })
                }
                Stage::Pending => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_must_be_an_object() {
        assert!(to_object(serde_json::json!({"rules": ["x"]})).is_ok());
        assert!(matches!(
            to_object([1, 2]),
            Err(Error::InvalidArgument(ArgumentError::InputNotAnObject("an array")))
        ));
        assert!(matches!(
            to_object(()),
            Err(Error::InvalidArgument(ArgumentError::InputNotAnObject("null")))
        ));
    }

    #[test]
    fn plans_match_the_documented_limits() {
        assert_eq!(Plan::Starter.limits().per_minute, Some(30));
        assert_eq!(Plan::Pro.limits().concurrency, Some(5));
        assert_eq!(Plan::Enterprise.limits(), ClientLimits::default());
    }
}
