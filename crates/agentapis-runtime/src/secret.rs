//! Credentials, kept in a type that never prints them.

use std::fmt;

/// A credential. `Debug` and `Display` print a redaction, never the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The credential itself; call only where it goes on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What a credential becomes in server text we show.
pub(crate) const REDACTED: &str = "<redacted>";

/// Credentials shorter than this are not scrubbed from text: replacing a one-letter "key"
/// everywhere would mangle every message, and no real credential is that short.
const MIN_SCRUBBED: usize = 6;

/// `text` with every one of `secrets` replaced by [`REDACTED`]: for server text (an error
/// message, a refusal reason) that may quote the credential it was sent.
pub(crate) fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| s.len() >= MIN_SCRUBBED) {
        if out.contains(secret) {
            out = out.replace(secret, REDACTED);
        }
    }
    out
}

/// [`scrub`] on bytes (an error body as received); bytes that hold no secret are returned as
/// they are, without a copy.
pub(crate) fn scrub_bytes(body: bytes::Bytes, secrets: &[&str]) -> bytes::Bytes {
    let secrets: Vec<&str> = secrets
        .iter()
        .copied()
        .filter(|s| s.len() >= MIN_SCRUBBED && memchr::memmem::find(&body, s.as_bytes()).is_some())
        .collect();
    if secrets.is_empty() {
        return body;
    }
    let mut out = body.to_vec();
    for secret in secrets {
        let mut scrubbed = Vec::with_capacity(out.len());
        let mut rest = 0;
        for at in memchr::memmem::find_iter(&out, secret.as_bytes()) {
            // Matches do not overlap: `find_iter` resumes after each one.
            scrubbed.extend_from_slice(out.get(rest..at).unwrap_or_default());
            scrubbed.extend_from_slice(REDACTED.as_bytes());
            rest = at.saturating_add(secret.len());
        }
        scrubbed.extend_from_slice(out.get(rest..).unwrap_or_default());
        out = scrubbed;
    }
    bytes::Bytes::from(out)
}

/// [`scrub`] on every string (and key) of a JSON value.
pub(crate) fn scrub_value(value: &mut serde_json::Value, secrets: &[&str]) {
    use serde_json::Value;
    match value {
        Value::String(s) if secrets.iter().any(|x| x.len() >= MIN_SCRUBBED && s.contains(x)) => {
            *s = scrub(s, secrets);
        }
        Value::Array(items) => items.iter_mut().for_each(|v| scrub_value(v, secrets)),
        Value::Object(map) => {
            let old = std::mem::take(map);
            for (k, mut v) in old {
                scrub_value(&mut v, secrets);
                map.insert(scrub(&k, secrets), v);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_quoting_a_credential_is_scrubbed() {
        let secrets = ["sk_live_123456", "tok_abcdef", "x"];
        assert_eq!(
            scrub("bad key sk_live_123456 (tok_abcdef) x", &secrets),
            "bad key <redacted> (<redacted>) x",
            "too short a secret is left alone"
        );
        let body = bytes::Bytes::from_static(b"{\"message\":\"sk_live_123456\",\"raw\":\"\xff\"}");
        assert_eq!(
            scrub_bytes(body, &secrets).as_ref(),
            b"{\"message\":\"<redacted>\",\"raw\":\"\xff\"}"
        );
        let clean = bytes::Bytes::from_static(b"nothing here");
        assert_eq!(scrub_bytes(clean.clone(), &secrets).as_ptr(), clean.as_ptr(), "no copy");
        let mut value = serde_json::json!({"reason": "token tok_abcdef expired", "tok_abcdef": [1, "tok_abcdef"]});
        scrub_value(&mut value, &secrets);
        assert_eq!(
            value,
            serde_json::json!({"reason": "token <redacted> expired", "<redacted>": [1, "<redacted>"]})
        );
    }

    #[test]
    fn a_secret_never_prints() {
        let secret = Secret::new("sk_live_123");
        assert!(!format!("{secret:?} {secret}").contains("sk_live_123"));
        assert_eq!(secret.expose(), "sk_live_123");
    }
}
