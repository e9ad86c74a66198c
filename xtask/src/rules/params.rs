//! Parameters progenitor cannot encode as declared: objects in the query string, arrays for a
//! Phoenix/Plug server, and arrays or objects in a header.

use serde_json::{json, Map, Value};

use super::walk;
use super::{Options, Rule, RuleError};

/// The parameter rules, in the order they run.
pub const RULES: &[Rule] = &[
    Rule {
        name: "deep-query-as-encoded-string",
        doc: "Turns object and array-of-object query parameters (which progenitor cannot encode) into strings marked `x-deep-query`; callers pass the bracket-encoded pairs and the runtime splices them into the query.",
        apply: deep_query_as_encoded_string,
    },
    Rule {
        name: "plug-bracket-array-query",
        doc: "For Phoenix/Plug servers, renames array query parameters `name` to `name[]`, so every value is read (Plug keeps only the last of repeated plain keys).",
        apply: plug_bracket_array_query,
    },
    Rule {
        name: "structured-header-as-string",
        doc: "Turns an array or object header parameter into a string marked `x-structured-header`: progenitor writes header values with `Display`, which neither has (the generated code would not compile); the caller passes the `simple`-style text (`a,b`).",
        apply: structured_header_as_string,
    },
];

fn schema_type(schema: &Value) -> Option<&str> {
    schema.get("type").and_then(Value::as_str)
}

/// The document's component schemas, read once per rule: a parameter's schema is often a
/// `$ref`, and its shape is what decides.
fn components(doc: &Value) -> Value {
    doc.pointer("/components/schemas").cloned().unwrap_or(Value::Null)
}

/// `schema` with local component references (and a lone `allOf: [$ref]`) followed, a few hops.
fn resolve<'a>(components: &'a Value, mut schema: &'a Value) -> &'a Value {
    for _ in 0..8 {
        let reference = schema
            .get("$ref")
            .or_else(|| match schema.get("allOf").and_then(Value::as_array) {
                Some(members) if members.len() == 1 => members[0].get("$ref"),
                _ => None,
            });
        let Some(name) = reference
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
        else {
            break;
        };
        match components.get(name.replace("~1", "/").replace("~0", "~")) {
            Some(target) => schema = target,
            None => break,
        }
    }
    schema
}

fn is_deep(components: &Value, schema: &Value) -> bool {
    let schema = resolve(components, schema);
    let has_properties = schema.get("properties").is_some() || schema.get("additionalProperties").is_some();
    match schema_type(schema) {
        Some("object") => true,
        Some("array") => schema
            .get("items")
            .map(|i| resolve(components, i))
            .is_some_and(|i| schema_type(i) == Some("object") || i.get("properties").is_some()),
        None => has_properties,
        _ => false,
    }
}

fn query_params(op: &mut Map<String, Value>) -> impl Iterator<Item = &mut Map<String, Value>> {
    op.get_mut("parameters")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
        .filter(|p| p.get("in").and_then(Value::as_str) == Some("query"))
}

fn deep_query_as_encoded_string(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let components = components(doc);
    let mut n = 0;
    walk::operations(doc, &mut |op, _, _, _| {
        for p in query_params(op) {
            let Some(schema) = p.get("schema").filter(|s| is_deep(&components, s)).cloned() else {
                continue;
            };
            p.insert("schema".into(), json!({"type": "string"}));
            p.insert("x-deep-query".into(), schema);
            p.insert("style".into(), json!("form"));
            n += 1;
        }
    });
    Ok(n)
}

fn plug_bracket_array_query(doc: &mut Value, options: &Options) -> Result<usize, RuleError> {
    if !options.plug_query {
        return Ok(0);
    }
    let components = components(doc);
    let mut n = 0;
    walk::operations(doc, &mut |op, _, _, _| {
        for p in query_params(op) {
            let is_array = p.get("schema").and_then(|s| schema_type(resolve(&components, s))) == Some("array");
            let Some(name) = p.get("name").and_then(Value::as_str).filter(|n| !n.ends_with("[]")) else {
                continue;
            };
            if is_array {
                let bracketed = format!("{name}[]");
                p.insert("name".into(), Value::String(bracketed));
                n += 1;
            }
        }
    });
    Ok(n)
}

fn structured_header_as_string(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let components = components(doc);
    let mut n = 0;
    walk::operations(doc, &mut |op, _, _, _| {
        for p in op
            .get_mut("parameters")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object_mut)
            .filter(|p| p.get("in").and_then(Value::as_str) == Some("header"))
        {
            let structured = p
                .get("schema")
                .and_then(|s| schema_type(resolve(&components, s)))
                .is_some_and(|t| t == "array" || t == "object");
            if let (true, Some(schema)) = (structured, p.get("schema").cloned()) {
                p.insert("schema".into(), json!({"type": "string"}));
                p.insert("x-structured-header".into(), schema);
                n += 1;
            }
        }
    });
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{op, run_with};

    #[test]
    fn object_and_array_of_object_query_params_become_strings() {
        let doc = op(
            "/a",
            "get",
            json!({"parameters": [
            {"name": "metadata", "in": "query", "schema": {"type": "object", "properties": {"op": {"type": "string"}}}},
            {"name": "filter", "in": "query", "schema": {"type": "array", "items": {"type": "object"}}},
            {"name": "kind", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}}]}),
        );
        let (doc, n) = run_with("deep-query-as-encoded-string", doc, Options::default());
        let params = &doc["paths"]["/a"]["get"]["parameters"];
        assert_eq!(params[0]["schema"], json!({"type": "string"}));
        assert_eq!(params[0]["x-deep-query"]["type"], json!("object"));
        assert_eq!(params[1]["schema"], json!({"type": "string"}));
        assert_eq!(params[2]["schema"]["type"], json!("array"));
        assert_eq!(n, 2);
    }

    #[test]
    fn array_query_params_get_brackets_only_for_plug() {
        let doc = op(
            "/a",
            "get",
            json!({"parameters": [
            {"name": "kind", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}},
            {"name": "limit", "in": "query", "schema": {"type": "integer"}}]}),
        );
        let (off, n) = run_with("plug-bracket-array-query", doc.clone(), Options::default());
        assert_eq!((off, n), (doc.clone(), 0));
        let (on, n) = run_with(
            "plug-bracket-array-query",
            doc,
            Options {
                plug_query: true,
                ..Options::default()
            },
        );
        assert_eq!(on["paths"]["/a"]["get"]["parameters"][0]["name"], json!("kind[]"));
        assert_eq!(on["paths"]["/a"]["get"]["parameters"][1]["name"], json!("limit"));
        assert_eq!(n, 1);
    }

    #[test]
    fn structured_headers_become_strings() {
        let doc = op(
            "/a",
            "post",
            json!({"parameters": [
            {"name": "beta", "in": "header", "schema": {"type": "array", "items": {"type": "string"}}},
            {"name": "trace", "in": "header", "schema": {"type": "string"}},
            {"name": "ids", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}},
            {"name": "betas", "in": "header", "schema": {"$ref": "#/components/schemas/Betas"}}]}),
        );
        let mut doc = doc;
        doc["components"] = json!({"schemas": {"Betas": {"type": "array", "items": {"type": "string"}}}});
        let (doc, n) = run_with("structured-header-as-string", doc, Options::default());
        let params = &doc["paths"]["/a"]["post"]["parameters"];
        assert_eq!(params[0]["schema"], json!({"type": "string"}));
        assert_eq!(params[0]["x-structured-header"]["type"], json!("array"));
        assert_eq!(params[1]["schema"], json!({"type": "string"}));
        assert_eq!(params[2]["schema"]["type"], json!("array"));
        assert_eq!(
            params[3]["schema"],
            json!({"type": "string"}),
            "a $ref to an array is followed"
        );
        assert_eq!(n, 2);
    }
}
