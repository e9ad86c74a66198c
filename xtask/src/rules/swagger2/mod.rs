//! Swagger 2.0 (OpenAPI 2.0) in, OpenAPI 3.0 out, so a 2.0 document goes through the same
//! pipeline as any other. What moves: `host`/`basePath`/`schemes` become `servers`;
//! `definitions`, `parameters`, `responses` and `securityDefinitions` become `components`
//! (`schemas`, `parameters` or `requestBodies`, `responses`, `securitySchemes`); a `body`
//! parameter becomes a request body and `formData` parameters one form body, typed by
//! `consumes`; response schemas get content typed by `produces`; a parameter's type and
//! `collectionFormat` become a `schema` with `style`/`explode`; `x-nullable` becomes `nullable`,
//! `type: file` binary strings, a string `discriminator` an object. Every `$ref` is re-pointed.

use serde_json::{json, Map, Value};

use super::{walk, Rule, RuleError};
use crate::error::escape;

mod parameters;
#[cfg(test)]
mod tests;

use parameters::{body_from, body_of, form_body, parameter, split_parameters};

/// The conversion, run before validation (a 2.0 document is not one validation understands).
pub const RULE: Rule = Rule {
    name: "swagger-2-to-openapi-3",
    doc: "Converts a Swagger 2.0 document to OpenAPI 3.0: `servers` from `host`/`basePath`/`schemes`; `definitions`, `parameters`, `responses`, `securityDefinitions` into `components`; `body` and `formData` parameters into request bodies typed by `consumes`; response schemas into content typed by `produces`; parameter types and `collectionFormat` into `schema`, `style` and `explode`; `x-nullable` into `nullable`, `type: file` into binary strings; `$ref`s re-pointed. A 2.0 document then goes through every other rule.",
    apply: |doc, _| upgrade(doc),
};

/// Keywords a 2.0 non-body parameter holds that belong in its 3.0 `schema`.
const SCHEMA_KEYS: &[&str] = &[
    "type",
    "format",
    "items",
    "default",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "enum",
    "multipleOf",
    "x-nullable",
];

const JSON: &str = "application/json";

/// Converts `doc` in place when it is a Swagger 2.0 document; returns 1 when it did, 0 when the
/// document is not one. Another `swagger` version is an error.
pub fn upgrade(doc: &mut Value) -> Result<usize, RuleError> {
    let Some(root) = doc.as_object_mut() else { return Ok(0) };
    let Some(version) = root.get("swagger") else {
        return Ok(0);
    };
    if version.as_str() != Some("2.0") {
        return Err(RuleError {
            pointer: "/swagger".into(),
            message: format!("Swagger version {version} is not supported (only 2.0, converted to OpenAPI 3.0)"),
        });
    }
    root.remove("swagger");
    let mut out = Map::new();
    out.insert("openapi".into(), json!("3.0.3"));
    for key in ["info", "tags", "externalDocs"] {
        if let Some(v) = root.remove(key) {
            out.insert(key.into(), v);
        }
    }
    let servers = servers(root);
    if !servers.is_empty() {
        out.insert("servers".into(), Value::Array(servers));
    }
    let consumes = media_list(root.remove("consumes").as_ref());
    let produces = media_list(root.remove("produces").as_ref());
    let global_params = root.remove("parameters").and_then(into_object).unwrap_or_default();
    let mut components = Map::new();
    if let Some(defs) = root.remove("definitions") {
        components.insert("schemas".into(), defs);
    }
    // Shared parameters: body ones become request bodies (3.0 has no body parameter).
    let mut parameters = Map::new();
    let mut bodies = Map::new();
    for (name, param) in &global_params {
        match param.get("in").and_then(Value::as_str) {
            Some("body") => {
                bodies.insert(name.clone(), body_of(param, &consumes));
            }
            Some("formData") => {} // inlined into each operation's form body
            _ => {
                parameters.insert(name.clone(), parameter(param));
            }
        }
    }
    if !parameters.is_empty() {
        components.insert("parameters".into(), Value::Object(parameters));
    }
    if !bodies.is_empty() {
        components.insert("requestBodies".into(), Value::Object(bodies));
    }
    if let Some(responses) = root.remove("responses").and_then(into_object) {
        let converted: Map<String, Value> = responses
            .into_iter()
            .map(|(k, r)| (k, response(r, &produces)))
            .collect();
        components.insert("responses".into(), Value::Object(converted));
    }
    if let Some(schemes) = root.remove("securityDefinitions").and_then(into_object) {
        let converted: Map<String, Value> = schemes.into_iter().map(|(k, s)| (k, security_scheme(s))).collect();
        components.insert("securitySchemes".into(), Value::Object(converted));
    }
    let mut paths = root.remove("paths").and_then(into_object).unwrap_or_default();
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        let shared = item.remove("parameters").and_then(into_array).unwrap_or_default();
        let (shared_params, shared_body, shared_form) = split_parameters(shared, &global_params);
        if !shared_params.is_empty() {
            item.insert("parameters".into(), Value::Array(shared_params));
        }
        for method in walk::methods() {
            let Some(op) = item.get_mut(*method).and_then(Value::as_object_mut) else {
                continue;
            };
            let consumes = op
                .remove("consumes")
                .map_or_else(|| consumes.clone(), |c| media_list(Some(&c)));
            let produces = op
                .remove("produces")
                .map_or_else(|| produces.clone(), |p| media_list(Some(&p)));
            let own = op.remove("parameters").and_then(into_array).unwrap_or_default();
            let (params, body, mut form) = split_parameters(own, &global_params);
            if !params.is_empty() {
                op.insert("parameters".into(), Value::Array(params));
            }
            // Path-level form fields apply unless the operation redefines them.
            for field in &shared_form {
                let name = field.get("name");
                if !form.iter().any(|f| f.get("name") == name) {
                    form.push(field.clone());
                }
            }
            let body = body.or_else(|| shared_body.clone());
            if let Some(body) = body {
                op.insert("requestBody".into(), body_from(&body, &consumes));
            } else if !form.is_empty() {
                op.insert("requestBody".into(), form_body(&form, &consumes));
            }
            if let Some(responses) = op.remove("responses").and_then(into_object) {
                let converted: Map<String, Value> = responses
                    .into_iter()
                    .map(|(k, r)| (k, response(r, &produces)))
                    .collect();
                op.insert("responses".into(), Value::Object(converted));
            }
        }
    }
    out.insert("paths".into(), Value::Object(paths));
    if !components.is_empty() {
        out.insert("components".into(), Value::Object(components));
    }
    // What is left (security, x- extensions) carries over as it is.
    for (k, v) in std::mem::take(root) {
        out.insert(k, v);
    }
    let mut converted = Value::Object(out);
    repoint_refs(&mut converted, &global_params);
    walk::schemas(&mut converted, &mut schema_keywords);
    *doc = converted;
    Ok(1)
}

fn into_object(v: Value) -> Option<Map<String, Value>> {
    match v {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

fn into_array(v: Value) -> Option<Vec<Value>> {
    match v {
        Value::Array(a) => Some(a),
        _ => None,
    }
}

/// `servers` from `schemes`, `host` and `basePath` (a relative URL without a host).
fn servers(root: &mut Map<String, Value>) -> Vec<Value> {
    let host = root.remove("host");
    let base = root.remove("basePath");
    let schemes = root.remove("schemes");
    let base = base.as_ref().and_then(Value::as_str).unwrap_or("");
    let Some(host) = host.as_ref().and_then(Value::as_str) else {
        return if base.is_empty() {
            Vec::new()
        } else {
            vec![json!({"url": base})]
        };
    };
    let schemes: Vec<&str> = schemes
        .as_ref()
        .and_then(Value::as_array)
        .map(|s| s.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let schemes = if schemes.is_empty() { vec!["https"] } else { schemes };
    schemes
        .into_iter()
        .filter(|s| matches!(*s, "http" | "https"))
        .map(|scheme| json!({"url": format!("{scheme}://{host}{base}")}))
        .collect()
}

fn media_list(v: Option<&Value>) -> Vec<String> {
    let list: Vec<String> = v
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    if list.is_empty() {
        vec![JSON.to_owned()]
    } else {
        list
    }
}

/// A 2.0 response: its `schema` as content of each `produces` type, its headers' types under
/// `schema`.
fn response(r: Value, produces: &[String]) -> Value {
    let Value::Object(mut r) = r else { return r };
    if r.contains_key("$ref") {
        return Value::Object(r);
    }
    if let Some(schema) = r.remove("schema") {
        let content: Map<String, Value> = produces
            .iter()
            .map(|m| (m.clone(), json!({"schema": schema.clone()})))
            .collect();
        r.insert("content".into(), Value::Object(content));
    }
    r.remove("examples");
    if let Some(Value::Object(headers)) = r.get_mut("headers") {
        for header in headers.values_mut() {
            let converted = parameter(header);
            *header = converted;
        }
    }
    r.entry("description").or_insert_with(|| json!(""));
    Value::Object(r)
}

fn security_scheme(s: Value) -> Value {
    let Value::Object(mut s) = s else { return s };
    match s.get("type").and_then(Value::as_str) {
        Some("basic") => {
            s.insert("type".into(), json!("http"));
            s.insert("scheme".into(), json!("basic"));
        }
        Some("oauth2") => {
            let flow = s.remove("flow");
            let scopes = s.remove("scopes").unwrap_or_else(|| json!({}));
            let authorization = s.remove("authorizationUrl");
            let token = s.remove("tokenUrl");
            let mut details = json!({"scopes": scopes});
            if let Some(url) = authorization {
                details["authorizationUrl"] = url;
            }
            if let Some(url) = token {
                details["tokenUrl"] = url;
            }
            let name = match flow.as_ref().and_then(Value::as_str) {
                Some("implicit") => "implicit",
                Some("password") => "password",
                Some("application") => "clientCredentials",
                _ => "authorizationCode",
            };
            s.insert("flows".into(), json!({name: details}));
        }
        _ => {}
    }
    Value::Object(s)
}

/// Every `$ref` pointed at its 3.0 place.
fn repoint_refs(v: &mut Value, shared: &Map<String, Value>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref") {
                if let Some(rest) = r.strip_prefix("#/definitions/") {
                    *r = format!("#/components/schemas/{rest}");
                } else if let Some(rest) = r.strip_prefix("#/parameters/") {
                    let name = rest.replace("~1", "/").replace("~0", "~");
                    let body = shared.get(&name).and_then(|p| p.get("in")).and_then(Value::as_str) == Some("body");
                    let section = if body { "requestBodies" } else { "parameters" };
                    *r = format!("#/components/{section}/{}", escape(&name));
                } else if let Some(rest) = r.strip_prefix("#/responses/") {
                    *r = format!("#/components/responses/{rest}");
                }
            }
            map.values_mut().for_each(|v| repoint_refs(v, shared));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| repoint_refs(v, shared)),
        _ => {}
    }
}

/// Schema keywords 2.0 spells differently.
fn schema_keywords(s: &mut Map<String, Value>, _: &str) {
    if let Some(nullable) = s.remove("x-nullable") {
        s.insert("nullable".into(), nullable);
    }
    if s.get("type").and_then(Value::as_str) == Some("file") {
        s.insert("type".into(), json!("string"));
        s.insert("format".into(), json!("binary"));
    }
    if let Some(Value::String(property)) = s.get("discriminator").cloned() {
        s.insert("discriminator".into(), json!({"propertyName": property}));
    }
}
