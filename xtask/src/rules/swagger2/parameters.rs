//! Swagger 2.0 parameters into OpenAPI 3: path, query and header parameters keep their place
//! (with `collectionFormat` as a style), a `body` parameter or `formData` fields become the
//! request body in the media types the operation consumes.

use serde_json::{json, Map, Value};

use super::SCHEMA_KEYS;

/// An operation's (or path item's) parameters split into 3.0 parameters, the body parameter,
/// and form fields. A `$ref` to a shared body or form parameter is resolved here, since the
/// parameter moves out of `parameters`.
pub(super) fn split_parameters(
    params: Vec<Value>,
    shared: &Map<String, Value>,
) -> (Vec<Value>, Option<Value>, Vec<Value>) {
    let mut out = Vec::new();
    let mut body = None;
    let mut form = Vec::new();
    for param in params {
        let target = param
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/parameters/"))
            .and_then(|name| {
                shared
                    .get(&name.replace("~1", "/").replace("~0", "~"))
                    .map(|p| (name.to_owned(), p))
            });
        let location = target
            .as_ref()
            .map_or_else(|| param.get("in"), |(_, p)| p.get("in"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        match (location.as_deref(), target) {
            (Some("body"), Some((name, _))) => {
                body = Some(json!({"$ref": format!("#/components/requestBodies/{name}")}))
            }
            (Some("body"), None) => body = Some(param),
            (Some("formData"), Some((_, p))) => form.push(p.clone()),
            (Some("formData"), None) => form.push(param),
            (_, Some(_)) => out.push(param),
            _ => out.push(parameter(&param)),
        }
    }
    (out, body, form)
}

/// A 2.0 non-body parameter as a 3.0 one: its type keywords under `schema`, and
/// `collectionFormat` as `style`/`explode`.
pub(super) fn parameter(param: &Value) -> Value {
    let Some(p) = param.as_object() else {
        return param.clone();
    };
    if p.contains_key("$ref") {
        return param.clone();
    }
    let mut out = Map::new();
    let mut schema = Map::new();
    for (k, v) in p {
        if SCHEMA_KEYS.contains(&k.as_str()) {
            schema.insert(k.clone(), v.clone());
        } else if k != "collectionFormat" && k != "allowEmptyValue" {
            out.insert(k.clone(), v.clone());
        }
    }
    let location = p.get("in").and_then(Value::as_str).unwrap_or_default();
    match p.get("collectionFormat").and_then(Value::as_str) {
        Some("multi") => {
            out.insert("style".into(), json!("form"));
            out.insert("explode".into(), json!(true));
        }
        Some("ssv") => {
            out.insert("style".into(), json!("spaceDelimited"));
            out.insert("explode".into(), json!(false));
        }
        Some("pipes") => {
            out.insert("style".into(), json!("pipeDelimited"));
            out.insert("explode".into(), json!(false));
        }
        // csv, the 2.0 default: comma-separated, so not exploded.
        _ if schema.get("type").and_then(Value::as_str) == Some("array") => {
            let style = if location == "query" { "form" } else { "simple" };
            out.insert("style".into(), json!(style));
            out.insert("explode".into(), json!(false));
        }
        _ => {}
    }
    out.insert("schema".into(), Value::Object(schema));
    Value::Object(out)
}

/// A body parameter as a shared request body.
pub(super) fn body_of(param: &Value, consumes: &[String]) -> Value {
    let schema = param.get("schema").cloned().unwrap_or_else(|| json!({}));
    let content: Map<String, Value> = consumes
        .iter()
        .map(|m| (m.clone(), json!({"schema": schema.clone()})))
        .collect();
    let mut out = json!({"content": content});
    for key in ["description", "required"] {
        if let Some(v) = param.get(key) {
            out[key] = v.clone();
        }
    }
    out
}

/// An operation's request body from its body parameter (or a `$ref` to a shared one).
pub(super) fn body_from(body: &Value, consumes: &[String]) -> Value {
    if body.get("$ref").is_some() {
        return body.clone();
    }
    body_of(body, consumes)
}

/// `formData` fields as one object body: multipart when a field is a file or the operation
/// consumes `multipart/form-data`, else URL-encoded.
pub(super) fn form_body(fields: &[Value], consumes: &[String]) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    let mut file = false;
    for field in fields {
        let Some(name) = field.get("name").and_then(Value::as_str) else {
            continue;
        };
        let mut schema = parameter(field).get("schema").cloned().unwrap_or_else(|| json!({}));
        if schema.get("type").and_then(Value::as_str) == Some("file") {
            file = true;
            schema = json!({"type": "string", "format": "binary"});
        }
        if let Some(d) = field.get("description") {
            schema["description"] = d.clone();
        }
        properties.insert(name.to_owned(), schema);
        if field.get("required").and_then(Value::as_bool) == Some(true) {
            required.push(json!(name));
        }
    }
    let multipart = file || consumes.iter().any(|c| c == "multipart/form-data");
    let media = if multipart {
        "multipart/form-data"
    } else {
        "application/x-www-form-urlencoded"
    };
    let mut schema = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        schema["required"] = Value::Array(required.clone());
    }
    let mut out = json!({"content": {media: {"schema": schema}}});
    if !required.is_empty() {
        out["required"] = json!(true);
    }
    out
}
