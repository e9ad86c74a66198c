//! Reading a vendor's error body into code, message and details.
//!
//! Only Agentiv documents its error shape; ArchAstro's is known from its reference
//! (`{"error":{"code"|"type":..,"message":..}}` or `{"error":"<code>","message":..}`) and
//! Invent documents none. One tolerant reader covers all of them plus the shapes Phoenix and
//! common proxies send; anything else (an HTML 502 page) yields no code and no message, and the
//! caller falls back to the status.

use reqwest::header::HeaderMap;
use serde_json::{Map, Value};

/// What an error body said.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Parsed {
    pub(crate) code: Option<String>,
    pub(crate) message: Option<String>,
    pub(crate) details: Map<String, Value>,
}

/// Headers that carry a request id, in order of preference.
const REQUEST_ID_HEADERS: [&str; 5] = [
    "x-request-id",
    "request-id",
    "x-amzn-requestid",
    "x-correlation-id",
    "cf-ray",
];

/// The request id from the first header of [`REQUEST_ID_HEADERS`] that has a printable value.
pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    REQUEST_ID_HEADERS.iter().find_map(|name| {
        let value = headers.get(*name)?.to_str().ok()?.trim();
        // A request id is an opaque token; refuse anything that could smuggle text into logs.
        (!value.is_empty() && value.len() <= 200).then(|| value.to_owned())
    })
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads `body` as a vendor error; never fails.
pub(crate) fn parse(body: &[u8]) -> Parsed {
    let Ok(Value::Object(root)) = serde_json::from_slice::<Value>(body) else {
        return Parsed::default();
    };
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
            Parsed { code, message, details }
        }
        // {"error": "<code>", "message": ".."} (ArchAstro)
        Some(Value::String(code)) => Parsed {
            code: Some(code.clone()).filter(|c| !c.trim().is_empty()),
            message: text(root.get("message")).or_else(|| text(root.get("error_description"))),
            details: Map::new(),
        },
        _ => {
            // {"errors": {"detail": ".."}} (Phoenix's default), {"message": .., "code": ..}, {"detail": ..}
            let phoenix = root.get("errors").and_then(|e| text(e.get("detail")));
            Parsed {
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
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agentiv_envelope() {
        let p = parse(br#"{"success":false,"error":{"code":"INTEGRATION_NOT_CONNECTED","message":"connect gmail","integrationSlug":"gmail"}}"#);
        assert_eq!(p.code.as_deref(), Some("INTEGRATION_NOT_CONNECTED"));
        assert_eq!(p.message.as_deref(), Some("connect gmail"));
        assert_eq!(p.details.get("integrationSlug"), Some(&Value::from("gmail")));
    }

    #[test]
    fn archastro_shapes() {
        let p = parse(br#"{"error":{"type":"not_found","message":"no such agent"}}"#);
        assert_eq!(
            (p.code.as_deref(), p.message.as_deref()),
            (Some("not_found"), Some("no such agent"))
        );
        let p = parse(br#"{"error":"unauthorized","message":"bad key"}"#);
        assert_eq!(
            (p.code.as_deref(), p.message.as_deref()),
            (Some("unauthorized"), Some("bad key"))
        );
        let p = parse(br#"{"errors":{"detail":"Not Found"}}"#);
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
            let p = parse(body);
            assert_eq!((p.code, p.message), (None, None), "{:?}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn request_id_prefers_x_request_id_and_rejects_junk() {
        let mut h = HeaderMap::new();
        h.insert("cf-ray", "abc-LHR".parse().expect("header"));
        assert_eq!(request_id(&h).as_deref(), Some("abc-LHR"));
        h.insert("x-request-id", "F1x".parse().expect("header"));
        assert_eq!(request_id(&h).as_deref(), Some("F1x"));
        let mut h = HeaderMap::new();
        h.insert("x-request-id", "a".repeat(500).parse().expect("header"));
        assert_eq!(request_id(&h), None);
    }
}
