//! Verifying Agentiv webhooks.
//!
//! Agentiv signs each webhook body with HMAC-SHA256 under your webhook secret and sends the hex
//! digest in `X-Agentiv-Signature` (with or without a `sha256=` prefix). [`verify`] checks it in
//! constant time over the **raw** body (re-serialized JSON would not match) and decodes the event.
//!
//! The scheme carries no timestamp, so a captured request can be replayed: pass a
//! [`Verifier::seen`] hook that remembers execution ids (or event digests) you already handled.
//!
//! ```
//! use agentapis::agentiv::webhook::{self, Event};
//!
//! let body = br#"{"event":"agent.execution.success","execution_id":"exec_1","summary":"done"}"#;
//! let signature = webhook::sign(b"whsec_test", body); // what Agentiv would send
//! match webhook::verify(b"whsec_test", body, Some(&signature)) {
//!     Ok(Event::ExecutionSucceeded(e)) => assert_eq!(e.execution_id.as_deref(), Some("exec_1")),
//!     other => panic!("{other:?}"),
//! }
//! assert!(webhook::verify(b"wrong", body, Some(&signature)).is_err());
//! ```

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::generated::types::{WebhookEvent, WebhookEventType};

/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Agentiv-Signature";
/// Header carrying the event name.
pub const EVENT_HEADER: &str = "X-Agentiv-Event";

/// Length of a hex SHA-256 digest.
const HEX_LEN: usize = 64;

/// A verified webhook event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// `agent.execution.success`.
    ExecutionSucceeded(WebhookEvent),
    /// `agent.execution.failed`.
    ExecutionFailed(WebhookEvent),
    /// `schedule.fired`.
    ScheduleFired(WebhookEvent),
    /// `integration.disconnected`.
    IntegrationDisconnected(WebhookEvent),
    /// An event this SDK does not know yet, kept raw.
    Unknown {
        /// The `event` field.
        name: String,
        /// The whole payload.
        payload: serde_json::Value,
    },
}

/// Why a webhook was rejected. Each case is distinct so a receiver can log what happened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// No `X-Agentiv-Signature` header.
    #[error("missing X-Agentiv-Signature header")]
    MissingSignature,
    /// The signature is not hex.
    #[error("X-Agentiv-Signature is not hex")]
    MalformedSignature,
    /// The signature is hex but not a SHA-256 digest.
    #[error("X-Agentiv-Signature has {0} hex digits, expected 64")]
    WrongLength(usize),
    /// The signature does not match the body under this secret (tampered body or wrong secret).
    #[error("X-Agentiv-Signature does not match the body")]
    Mismatch,
    /// The body is signed correctly but is not a webhook event.
    #[error("webhook body is not a valid event: {0}")]
    InvalidPayload(String),
    /// The replay hook says this event was already handled.
    #[error("webhook event was already handled (replay)")]
    Replayed,
    /// The secret is empty.
    #[error("webhook secret is empty")]
    EmptySecret,
}

fn mac(secret: &[u8], body: &[u8]) -> Result<Hmac<Sha256>, WebhookError> {
    if secret.is_empty() {
        return Err(WebhookError::EmptySecret);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| WebhookError::EmptySecret)?;
    mac.update(body);
    Ok(mac)
}

/// The signature Agentiv sends for `body` (`sha256=<hex>`), for tests of your receiver.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let digest = match mac(secret, body) {
        Ok(mac) => mac.finalize().into_bytes(),
        // An empty secret signs nothing; return a value `verify` rejects.
        Err(_) => return String::new(),
    };
    format!("sha256={}", hex::encode(digest))
}

/// Checks `signature_header` against `raw_body` and decodes the event.
pub fn verify(secret: &[u8], raw_body: &[u8], signature_header: Option<&str>) -> Result<Event, WebhookError> {
    let header = signature_header.map(str::trim).filter(|h| !h.is_empty());
    let header = header.ok_or(WebhookError::MissingSignature)?;
    let hex_digits = header.strip_prefix("sha256=").unwrap_or(header);
    if !hex_digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(WebhookError::MalformedSignature);
    }
    if hex_digits.len() != HEX_LEN {
        return Err(WebhookError::WrongLength(hex_digits.len()));
    }
    let expected = hex::decode(hex_digits).map_err(|_| WebhookError::MalformedSignature)?;
    // `verify_slice` compares in constant time.
    mac(secret, raw_body)?
        .verify_slice(&expected)
        .map_err(|_| WebhookError::Mismatch)?;
    decode(raw_body)
}

fn decode(raw_body: &[u8]) -> Result<Event, WebhookError> {
    let payload: serde_json::Value =
        serde_json::from_slice(raw_body).map_err(|e| WebhookError::InvalidPayload(e.to_string()))?;
    let name = payload
        .get("event")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| WebhookError::InvalidPayload("no `event` field".into()))?
        .to_owned();
    let event: WebhookEvent =
        serde_json::from_value(payload.clone()).map_err(|e| WebhookError::InvalidPayload(e.to_string()))?;
    Ok(match &event.event {
        WebhookEventType::AgentExecutionSuccess => Event::ExecutionSucceeded(event),
        WebhookEventType::AgentExecutionFailed => Event::ExecutionFailed(event),
        WebhookEventType::ScheduleFired => Event::ScheduleFired(event),
        WebhookEventType::IntegrationDisconnected => Event::IntegrationDisconnected(event),
        _ => Event::Unknown { name, payload },
    })
}

/// A replay check: true when the event was already handled.
type SeenHook = Box<dyn Fn(&Event) -> bool + Send + Sync>;

/// [`verify`] with a fixed secret and an optional replay check.
pub struct Verifier {
    secret: agentapis_runtime::Secret,
    seen: Option<SeenHook>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("secret", &self.secret)
            .field("replay_check", &self.seen.is_some())
            .finish()
    }
}

impl Verifier {
    /// A verifier for webhooks signed with `secret`.
    pub fn new(secret: impl Into<String>) -> Self {
        Self {
            secret: agentapis_runtime::Secret::new(secret),
            seen: None,
        }
    }

    /// Rejects events for which `already_handled` returns true (e.g. an execution id found in
    /// your store), as [`WebhookError::Replayed`]. Called only for correctly signed events.
    pub fn seen(mut self, already_handled: impl Fn(&Event) -> bool + Send + Sync + 'static) -> Self {
        self.seen = Some(Box::new(already_handled));
        self
    }

    /// Verifies and decodes one delivery.
    pub fn verify(&self, raw_body: &[u8], signature_header: Option<&str>) -> Result<Event, WebhookError> {
        let event = verify(self.secret.expose().as_bytes(), raw_body, signature_header)?;
        match &self.seen {
            Some(seen) if seen(&event) => Err(WebhookError::Replayed),
            _ => Ok(event),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_k3y";
    const BODY: &[u8] =
        br#"{"event":"agent.execution.failed","execution_id":"exec_9","status":"failed","agent_slug":"email-triage"}"#;

    /// Independent vector: computed with Python's `hmac` module.
    const KNOWN: &str = "545483374839127810d22bce00b86acb7ef70c84e934b5e2648ebacd2b69bb8d";

    #[test]
    fn good_signatures_with_and_without_prefix() {
        let sig = sign(SECRET, BODY);
        assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64);
        let bare = sig.trim_start_matches("sha256=");
        for header in [sig.as_str(), bare, &bare.to_uppercase()] {
            let event = verify(SECRET, BODY, Some(header)).expect("valid");
            assert!(matches!(event, Event::ExecutionFailed(ref e) if e.execution_id.as_deref() == Some("exec_9")));
        }
        assert_eq!(bare, KNOWN, "matches an HMAC computed outside this crate");
    }

    #[test]
    fn every_failure_is_distinct() {
        let sig = sign(SECRET, BODY);
        assert_eq!(verify(SECRET, BODY, None), Err(WebhookError::MissingSignature));
        assert_eq!(verify(SECRET, BODY, Some("  ")), Err(WebhookError::MissingSignature));
        assert_eq!(
            verify(SECRET, BODY, Some("sha256=zz")),
            Err(WebhookError::MalformedSignature)
        );
        assert_eq!(
            verify(SECRET, BODY, Some("sha256=abcd")),
            Err(WebhookError::WrongLength(4))
        );
        assert_eq!(verify(b"other", BODY, Some(&sig)), Err(WebhookError::Mismatch));
        let mut tampered = BODY.to_vec();
        tampered[30] ^= 1;
        assert_eq!(verify(SECRET, &tampered, Some(&sig)), Err(WebhookError::Mismatch));
        assert_eq!(verify(b"", BODY, Some(&sig)), Err(WebhookError::EmptySecret));
        let junk = b"not json";
        assert!(matches!(
            verify(SECRET, junk, Some(&sign(SECRET, junk))),
            Err(WebhookError::InvalidPayload(_))
        ));
    }

    #[test]
    fn unknown_events_are_kept_raw_and_replays_rejected() {
        let body = br#"{"event":"agent.paused","execution_id":"exec_1"}"#;
        let event = verify(SECRET, body, Some(&sign(SECRET, body))).expect("valid");
        assert!(matches!(event, Event::Unknown { ref name, .. } if name == "agent.paused"));
        let verifier = Verifier::new("whsec_k3y")
            .seen(|e| matches!(e, Event::ExecutionFailed(ev) if ev.execution_id.as_deref() == Some("exec_9")));
        assert_eq!(
            verifier.verify(BODY, Some(&sign(SECRET, BODY))),
            Err(WebhookError::Replayed)
        );
        assert!(!format!("{verifier:?}").contains("k3y"));
    }
}
