//! Request checks against the spec's schemas, with the `jsonschema` crate. OpenAPI 3.0's
//! `nullable: true` is rewritten into JSON Schema (`type: [T, "null"]`) first; 3.1 schemas are
//! JSON Schema 2020-12 already. Formats are not asserted (the vendors' servers differ on them).

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{json, Value};

/// Compiled validators, one per operation and place (`"POST /x body"`, `"GET /x query page"`).
#[derive(Default)]
pub(crate) struct Validators {
    cache: Mutex<HashMap<String, Option<std::sync::Arc<jsonschema::Validator>>>>,
}

/// `nullable: true` → JSON Schema, recursively.
fn to_json_schema(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.remove("nullable") == Some(Value::Bool(true)) {
                match map.get("type").cloned() {
                    Some(Value::String(t)) => {
                        map.insert("type".into(), json!([t, "null"]));
                    }
                    _ => {
                        let inner = Value::Object(std::mem::take(map));
                        map.insert("anyOf".into(), json!([inner, {"type": "null"}]));
                    }
                }
            }
            map.values_mut().for_each(to_json_schema);
        }
        Value::Array(items) => items.iter_mut().for_each(to_json_schema),
        _ => {}
    }
}

impl Validators {
    /// Errors of `instance` against `schema` (compiled once under `key`), at most three, as text.
    /// A schema that does not compile validates nothing (the xtask checks the specs).
    pub(crate) fn check(&self, doc: &Value, key: &str, schema: &Value, instance: &Value) -> Vec<String> {
        let validator = {
            let Ok(mut cache) = self.cache.lock() else {
                return Vec::new();
            };
            cache
                .entry(key.to_owned())
                .or_insert_with(|| compile(doc, schema).map(std::sync::Arc::new))
                .clone()
        };
        let Some(validator) = validator else { return Vec::new() };
        validator
            .iter_errors(instance)
            .take(3)
            .map(|e| format!("{} at `{}`", e, e.instance_path()))
            .collect()
    }
}

fn compile(doc: &Value, schema: &Value) -> Option<jsonschema::Validator> {
    let mut root = schema.clone();
    if let (Some(obj), Some(components)) = (root.as_object_mut(), doc.get("components")) {
        obj.insert("components".into(), components.clone());
    }
    // OpenAPI 3.0's schemas are JSON Schema draft 4 with extensions (converted first); 3.1's are
    // draft 2020-12.
    let openapi_3_0 = doc
        .get("openapi")
        .and_then(Value::as_str)
        .is_some_and(|v| v.starts_with("3.0"));
    let draft = if openapi_3_0 {
        to_json_schema(&mut root);
        jsonschema::Draft::Draft4
    } else {
        jsonschema::Draft::Draft202012
    };
    jsonschema::options()
        .with_draft(draft)
        .should_validate_formats(false)
        .build(&root)
        .ok()
}

/// A query or path value as the JSON its schema expects (`"3"` → `3` for integers).
pub(crate) fn typed(raw: &str, schema: &Value) -> Value {
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("string"),
        _ => "string",
    };
    match ty {
        "integer" => raw.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::from(raw)),
        "number" => raw.parse::<f64>().map(Value::from).unwrap_or_else(|_| Value::from(raw)),
        "boolean" => match raw {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::from(raw),
        },
        _ => Value::from(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_becomes_a_null_type() {
        let mut s = json!({"type": "object", "properties": {"a": {"type": "string", "nullable": true}, "b": {"$ref": "#/x", "nullable": true}}});
        to_json_schema(&mut s);
        assert_eq!(s["properties"]["a"]["type"], json!(["string", "null"]));
        assert_eq!(s["properties"]["b"]["anyOf"][1], json!({"type": "null"}));
    }

    #[test]
    fn validation_reports_errors() {
        let v = Validators::default();
        let doc = json!({"components": {"schemas": {"N": {"type": "integer", "minimum": 1}}}});
        let schema =
            json!({"type": "object", "required": ["n"], "properties": {"n": {"$ref": "#/components/schemas/N"}}});
        assert!(v.check(&doc, "k", &schema, &json!({"n": 2})).is_empty());
        assert_eq!(v.check(&doc, "k", &schema, &json!({"n": 0})).len(), 1);
        assert!(!v.check(&doc, "k", &schema, &json!({})).is_empty());
        assert_eq!(typed("3", &json!({"type": "integer"})), json!(3));
        assert_eq!(typed("x", &json!({"type": ["integer", "null"]})), json!("x"));
    }
}
