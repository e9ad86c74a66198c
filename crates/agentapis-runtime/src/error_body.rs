//! Reading a vendor's error body into code, message and details, once, in the runtime (the
//! facade builds its typed error from the call record and never parses the body again).
//!
//! Only Agentiv documents its error shape; ArchAstro's is known from its reference
//! (`{"error":{"code"|"type":..,"message":..}}` or `{"error":"<code>","message":..}`) and
//! Invent documents none. One tolerant reader covers all of them plus the shapes Phoenix and
//! common proxies send; anything else (an HTML 502 page) yields no code and no message, and the
//! caller falls back to the status.

use reqwest::header::HeaderMap;
use serde_json::{Map, Value};

/// What an error body said.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ErrorBody {
    /// The vendor's error code (`code`, or `type`, or a bare `error` string).
    pub code: Option<String>,
    /// The vendor's message.
    pub message: Option<String>,
    /// The error object's other fields (e.g. Agentiv's `integrationSlug`).
    pub details: Map<String, Value>,
    /// The body's top-level `success` flag, when it has one (Agentiv's envelope).
    pub success: Option<bool>,
    /// Whether the body's `error` is an object (Agentiv's envelope, ArchAstro's first shape).
    pub error_object: bool,
}

/// Headers that carry a request id, in order of preference.
const REQUEST_ID_HEADERS: [&str; 5] = [
    "x-request-id",
    "request-id",
    "x-amzn-requestid",
    "x-correlation-id",
    "cf-ray",
];

/// The request id: the first of `x-request-id`, `request-id`, `x-amzn-requestid`,
/// `x-correlation-id` and `cf-ray` that has a printable value of at most 200 bytes.
pub fn request_id(headers: &HeaderMap) -> Option<&str> {
    REQUEST_ID_HEADERS.iter().find_map(|name| {
        let value = headers.get(*name)?.to_str().ok()?.trim();
        // A request id is an opaque token; refuse anything that could smuggle text into logs.
        (!value.is_empty() && value.len() <= 200).then_some(value)
    })
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl ErrorBody {
    /// Reads `body` as a vendor error; never fails.
    pub fn parse(body: &[u8]) -> ErrorBody {
        let Ok(Value::Object(root)) = serde_json::from_slice::<Value>(body) else {
            return ErrorBody::default();
        };
        let success = root.get("success").and_then(Value::as_bool);
        match root.get("error") {
            // {"error": {"code"|"type": .., "message": .., ...}} (Agentiv, ArchAstro)
            Some(Value::Object(err)) => {
                let code = text(err.get("code")).or_else(|| text(err.get("type")));
                let message = text(err.get("message")).or_else(|| text(root.get("message")));
                let details = err
                    .iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "code" | "type" | "message"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                ErrorBody {
                    code,
                    message,
                    details,
                    success,
                    error_object: true,
                }
            }
            // {"error": "<code>", "message": ".."} (ArchAstro)
            Some(Value::String(code)) => ErrorBody {
                code: Some(code.clone()).filter(|c| !c.trim().is_empty()),
                message: text(root.get("message")).or_else(|| text(root.get("error_description"))),
                details: Map::new(),
                success,
                error_object: false,
            },
            _ => {
                // {"errors": {"detail": ".."}} (Phoenix's default), {"message": .., "code": ..}, {"detail": ..}
                let phoenix = root.get("errors").and_then(|e| text(e.get("detail")));
                ErrorBody {
                    code: text(root.get("code")),
                    message: phoenix
                        .or_else(|| text(root.get("message")))
                        .or_else(|| text(root.get("detail"))),
                    details: match root.get("errors") {
                        Some(errors @ Value::Object(_)) | Some(errors @ Value::Array(_)) => {
                            Map::from_iter([("errors".to_owned(), errors.clone())])
                        }
                        _ => Map::new(),
                    },
                    success,
                    error_object: false,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agentiv_envelope() {
        let p = ErrorBody::parse(br#"{"success":false,"error":{"code":"INTEGRATION_NOT_CONNECTED","message":"connect gmail","integrationSlug":"gmail"}}"#);
        assert_eq!(p.code.as_deref(), Some("INTEGRATION_NOT_CONNECTED"));
        assert_eq!(p.message.as_deref(), Some("connect gmail"));
        assert_eq!(p.details.get("integrationSlug"), Some(&Value::from("gmail")));
        assert_eq!((p.success, p.error_object), (Some(false), true));
        let p = ErrorBody::parse(br#"{"success":false,"error":"x"}"#);
        assert_eq!((p.success, p.error_object), (Some(false), false));
    }

    #[test]
    fn archastro_shapes() {
        let p = ErrorBody::parse(br#"{"error":{"type":"not_found","message":"no such agent"}}"#);
        assert_eq!(
            (p.code.as_deref(), p.message.as_deref()),
            (Some("not_found"), Some("no such agent"))
        );
        let p = ErrorBody::parse(br#"{"error":"unauthorized","message":"bad key"}"#);
        assert_eq!(
            (p.code.as_deref(), p.message.as_deref()),
            (Some("unauthorized"), Some("bad key"))
        );
        let p = ErrorBody::parse(br#"{"errors":{"detail":"Not Found"}}"#);
        assert_eq!((p.code, p.message.as_deref()), (None, Some("Not Found")));
    }

    #[test]
    fn anything_else_says_nothing() {
        for body in [
            &b"<html><h1>502 Bad Gateway</h1></html>"[..],
            b"",
            b"[1,2]",
            b"{\"error\":null}",
            b"{\"trunc",
        ] {
            let p = ErrorBody::parse(body);
            assert_eq!((p.code, p.message), (None, None), "{:?}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn request_id_prefers_x_request_id_and_rejects_junk() {
        let mut h = HeaderMap::new();
        h.insert("cf-ray", "abc-LHR".parse().expect("header"));
        assert_eq!(request_id(&h), Some("abc-LHR"));
        h.insert("x-request-id", "F1x".parse().expect("header"));
        assert_eq!(request_id(&h), Some("F1x"));
        let mut h = HeaderMap::new();
        h.insert("x-request-id", "a".repeat(500).parse().expect("header"));
        assert_eq!(request_id(&h), None);
    }
}
