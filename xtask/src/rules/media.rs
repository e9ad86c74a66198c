//! Rules about media types: progenitor gives each operation one request body type, one success
//! type and one error type, so an operation that offers several is narrowed to one it can
//! express. They run after normalization, when every `$ref`'d body and response is in place.

use serde_json::{json, Map, Value};

use super::walk;
use super::{Options, Rule, RuleError};

/// The media rules, in the order they run.
pub const RULES: &[Rule] = &[
    Rule {
        name: "one-request-media-type",
        doc: "Narrows a request body that offers several media types to one: `application/json` if offered, else `multipart/form-data` (see `multipart-body-as-bytes`), else the first; progenitor sends one body type per operation.",
        apply: one_request_media_type,
    },
    Rule {
        name: "multipart-body-as-bytes",
        doc: "Turns a `multipart/form-data` request body (progenitor cannot send one) into raw bytes marked `x-multipart`; the runtime sends it with the multipart content type and the boundary the body starts with.",
        apply: multipart_body_as_bytes,
    },
    Rule {
        name: "mixed-success-bodies-as-bytes",
        doc: "When an operation's success responses carry different bodies (e.g. 200 with JSON and 204 with none), they all become raw bytes: progenitor's `send` has one success type, and the caller decodes by status.",
        apply: mixed_success_bodies_as_bytes,
    },
    Rule {
        name: "mixed-error-bodies-as-any",
        doc: "When an operation's error responses (4XX, 5XX, default) carry different bodies, they all become any JSON: progenitor's error type is one type per operation, and the facade decodes the vendor error from the JSON.",
        apply: mixed_error_bodies_as_any,
    },
];

/// The media types an operation's request body offers.
fn request_content(op: &mut Map<String, Value>) -> Option<&mut Map<String, Value>> {
    op.get_mut("requestBody")?.get_mut("content")?.as_object_mut()
}

fn one_request_media_type(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let mut n = 0;
    walk::operations(doc, &mut |op, _, _, _| {
        let Some(content) = request_content(op) else { return };
        if content.len() <= 1 {
            return;
        }
        let keep = ["application/json", "multipart/form-data"]
            .into_iter()
            .find(|m| content.contains_key(*m))
            .map(str::to_owned)
            .or_else(|| content.keys().next().cloned());
        content.retain(|media, _| Some(media) == keep.as_ref());
        n += 1;
    });
    Ok(n)
}

fn multipart_body_as_bytes(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let mut n = 0;
    walk::operations(doc, &mut |op, _, _, _| {
        let Some(content) = request_content(op) else { return };
        if content.contains_key("application/json") || content.remove("multipart/form-data").is_none() {
            return;
        }
        content.insert(
            "application/octet-stream".into(),
            json!({"schema": {"type": "string", "format": "binary"}}),
        );
        op.insert("x-multipart".into(), Value::Bool(true));
        n += 1;
    });
    Ok(n)
}

/// What a success response carries, as far as the generated `send` type goes.
fn body_shape(response: &Value) -> Option<Value> {
    let content = response
        .get("content")
        .and_then(Value::as_object)
        .filter(|c| !c.is_empty())?;
    Some(Value::Object(
        content
            .iter()
            .map(|(media, m)| (media.clone(), m.get("schema").cloned().unwrap_or(Value::Null)))
            .collect::<Map<String, Value>>(),
    ))
}

fn is_error_status(code: &str) -> bool {
    code == "default" || code.starts_with('4') || code.starts_with('5')
}

fn mixed_error_bodies_as_any(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let mut n = 0;
    walk::operations(doc, &mut |op, _, _, _| {
        let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
            return;
        };
        let errors: Vec<String> = responses.keys().filter(|c| is_error_status(c)).cloned().collect();
        // A body-less error gets any JSON later (`error-responses-keep-body`): count it as such.
        let any = json!({"application/json": {}});
        let mut shapes: Vec<Value> = errors
            .iter()
            .map(|c| body_shape(&responses[c]).unwrap_or_else(|| any.clone()))
            .collect();
        shapes.sort_by_key(Value::to_string);
        shapes.dedup();
        if shapes.len() <= 1 {
            return;
        }
        for code in &errors {
            if let Some(r) = responses.get_mut(code).and_then(Value::as_object_mut) {
                r.insert("content".into(), json!({"application/json": {"schema": {}}}));
            }
        }
        n += 1;
    });
    Ok(n)
}

fn mixed_success_bodies_as_bytes(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let mut n = 0;
    walk::operations(doc, &mut |op, _, _, _| {
        let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
            return;
        };
        let successes: Vec<String> = responses.keys().filter(|c| c.starts_with('2')).cloned().collect();
        let mut shapes: Vec<Option<Value>> = successes.iter().map(|c| body_shape(&responses[c])).collect();
        shapes.dedup();
        if shapes.len() <= 1 {
            return;
        }
        for code in &successes {
            if let Some(r) = responses.get_mut(code).and_then(Value::as_object_mut) {
                r.insert(
                    "content".into(),
                    json!({"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}),
                );
            }
        }
        n += 1;
    });
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::run;

    #[test]
    fn one_request_media_type_is_kept() {
        let doc = json!({"paths": {
            "/a": {"post": {"requestBody": {"content": {"application/x-www-form-urlencoded": {}, "application/json": {}, "multipart/form-data": {}}}}},
            "/b": {"post": {"requestBody": {"content": {"application/sdp": {}, "multipart/form-data": {}}}}},
            "/c": {"post": {"requestBody": {"content": {"text/plain": {}, "application/sdp": {}}}}},
            "/d": {"post": {"requestBody": {"content": {"multipart/form-data": {}}}}}}});
        let (doc, n) = run("one-request-media-type", doc);
        let content = |p: &str| doc["paths"][p]["post"]["requestBody"]["content"].clone();
        assert_eq!(content("/a"), json!({"application/json": {}}));
        assert_eq!(content("/b"), json!({"multipart/form-data": {}}));
        assert_eq!(content("/c"), json!({"text/plain": {}}));
        assert_eq!(content("/d"), json!({"multipart/form-data": {}}));
        assert_eq!(n, 3);
    }

    #[test]
    fn different_error_bodies_become_any_json() {
        let e = |name: &str| json!({"content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}")}}}});
        let doc = json!({"paths": {
            "/a": {"get": {"responses": {"200": {}, "404": e("Error"), "429": e("RateLimited")}}},
            "/b": {"get": {"responses": {"404": e("Error"), "500": e("Error")}}},
            "/c": {"get": {"responses": {"404": e("Error"), "default": {"description": "no body"}}}}}});
        let (doc, n) = run("mixed-error-bodies-as-any", doc);
        let a = &doc["paths"]["/a"]["get"]["responses"];
        assert_eq!(a["404"]["content"], json!({"application/json": {"schema": {}}}));
        assert_eq!(a["429"]["content"], json!({"application/json": {"schema": {}}}));
        assert_eq!(a["200"], json!({}));
        assert_eq!(doc["paths"]["/b"]["get"]["responses"]["404"], e("Error"));
        assert_eq!(
            doc["paths"]["/c"]["get"]["responses"]["default"]["content"],
            json!({"application/json": {"schema": {}}})
        );
        assert_eq!(n, 2);
    }

    #[test]
    fn multipart_bodies_become_bytes_unless_json_is_offered() {
        let doc = json!({"paths": {
            "/a": {"post": {"requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object"}}}}}},
            "/b": {"post": {"requestBody": {"content": {"multipart/form-data": {}, "application/json": {}}}}}}});
        let (doc, n) = run("multipart-body-as-bytes", doc);
        let a = &doc["paths"]["/a"]["post"];
        assert_eq!(
            a["requestBody"]["content"]["application/octet-stream"]["schema"]["format"],
            json!("binary")
        );
        assert_eq!(a["x-multipart"], json!(true));
        assert!(doc["paths"]["/b"]["post"].get("x-multipart").is_none());
        assert_eq!(n, 1);
    }

    #[test]
    fn different_success_bodies_become_bytes() {
        let json_body = json!({"application/json": {"schema": {"type": "object"}}});
        let doc = json!({"paths": {
            "/a": {"get": {"responses": {"200": {"content": json_body.clone()}, "204": {"description": "none"}, "404": {}}}},
            "/b": {"get": {"responses": {"200": {"content": json_body.clone()}, "201": {"content": json_body}}}}}});
        let (doc, n) = run("mixed-success-bodies-as-bytes", doc);
        let a = &doc["paths"]["/a"]["get"]["responses"];
        assert_eq!(
            a["200"]["content"]["application/octet-stream"]["schema"]["format"],
            json!("binary")
        );
        assert_eq!(
            a["204"]["content"]["application/octet-stream"]["schema"]["format"],
            json!("binary")
        );
        assert_eq!(a["404"], json!({}));
        assert!(doc["paths"]["/b"]["get"]["responses"]["200"]["content"]
            .get("application/json")
            .is_some());
        assert_eq!(n, 1);
    }
}
