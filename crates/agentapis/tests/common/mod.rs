//! Clients and calls the fault-injection test binaries share.

// Each test binary uses a different subset.
#![allow(dead_code)]

use std::time::Duration;

use agentapis::{archastro, Error, RetryPolicy};

/// Upper bound on how long one faulty case may take.
pub const BOUND: Duration = Duration::from_secs(5);

/// The secret key the test clients send (tests check it never leaks).
pub const SECRET_KEY: &str = "sk_live_SUPERSECRET123";

/// Three attempts with millisecond backoff, and server waits up to 10 s.
pub fn fast() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(3)
        .base_delay(Duration::from_millis(10))
        .max_delay(Duration::from_millis(40))
        .max_retry_after(Duration::from_secs(10))
}

/// An ArchAstro client builder for `base` with [`fast`] retries.
pub fn archastro_at(base: &str) -> archastro::ClientBuilder {
    archastro::Client::builder()
        .secret_key(SECRET_KEY)
        .base_url(base)
        .retry(fast())
}

/// [`archastro_at`], built.
pub fn client(base: &str) -> archastro::Client {
    archastro_at(base).build().expect("client")
}

/// `GET /api/v1/agents/agt_1`, its id on success.
pub async fn get_agent(client: &archastro::Client) -> Result<String, Error> {
    client
        .call(|api| api.get_agent().agent("agt_1").send())
        .await
        .map(|agent| agent.id.clone())
}
