//! Deterministic example values for a JSON schema (OpenAPI 3.0 or 3.1 flavoured), made to decode
//! into the generated types: required fields always present, enums and `const` honoured, no
//! `null` unless the schema allows only that, string lengths within bounds.

use serde_json::{json, Map, Value};

use crate::spec::resolve;

/// Beyond this depth only required properties are filled in (recursive schemas end).
const FULL_DEPTH: usize = 4;
/// Hard stop for pathological nesting.
const MAX_DEPTH: usize = 12;

/// Builds values for one spec.
pub(crate) struct Generator<'a> {
    pub(crate) doc: &'a Value,
    pub(crate) seed: u64,
}

impl Generator<'_> {
    /// A value for `schema`; `n` varies ids and names between entries of a collection.
    pub(crate) fn value(&self, schema: &Value, n: u64) -> Value {
        self.at(schema, n, 0, "")
    }

    /// A value for a schema that belongs to a field or parameter called `name`.
    pub(crate) fn value_named(&self, schema: &Value, name: &str) -> Value {
        self.at(schema, 0, 0, name)
    }

    fn at(&self, schema: &Value, n: u64, depth: usize, name: &str) -> Value {
        let schema = resolve(self.doc, schema);
        if depth > MAX_DEPTH {
            return Value::Null;
        }
        if let Some(c) = schema.get("const") {
            return c.clone();
        }
        if let Some(first) = schema
            .get("enum")
            .and_then(Value::as_array)
            .and_then(|e| e.iter().find(|v| !v.is_null()))
        {
            return first.clone();
        }
        if let Some(example) = schema
            .get("example")
            .filter(|e| !e.is_null() && depth > 0 && name != "id")
        {
            if !matches!(example, Value::Object(_) | Value::Array(_)) {
                return example.clone();
            }
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(branches) = schema.get(key).and_then(Value::as_array) {
                let branch = branches
                    .iter()
                    .find(|b| resolve(self.doc, b).get("type").and_then(Value::as_str) != Some("null"));
                if let Some(branch) = branch {
                    return self.at(branch, n, depth, name);
                }
            }
        }
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            let mut merged = Map::new();
            for part in parts {
                match self.at(part, n, depth, name) {
                    Value::Object(m) => merged.extend(m),
                    other if parts.len() == 1 => return other,
                    _ => {}
                }
            }
            if let Some(Value::Object(own)) =
                (schema.get("properties").is_some()).then(|| self.object(schema, n, depth))
            {
                merged.extend(own);
            }
            return Value::Object(merged);
        }
        match type_of(schema).as_deref() {
            Some("object") => self.object(schema, n, depth),
            Some("array") => {
                let items = schema.get("items").cloned().unwrap_or(json!({}));
                let count = schema.get("minItems").and_then(Value::as_u64).unwrap_or(1).max(1);
                Value::Array(
                    (0..count)
                        .map(|i| self.at(&items, n * 10 + i, depth + 1, name))
                        .collect(),
                )
            }
            Some("string") => self.string(schema, n, name),
            Some("integer") => {
                let min = schema.get("minimum").and_then(Value::as_i64).unwrap_or(1);
                let max = schema.get("maximum").and_then(Value::as_i64).unwrap_or(i64::MAX);
                json!(min.max(1).min(max))
            }
            Some("number") => {
                let min = schema.get("minimum").and_then(Value::as_f64).unwrap_or(1.0);
                json!(min.max(1.0))
            }
            Some("boolean") => json!(true),
            Some("null") => Value::Null,
            _ if schema.get("properties").is_some() => self.object(schema, n, depth),
            _ => json!({}),
        }
    }

    fn object(&self, schema: &Value, n: u64, depth: usize) -> Value {
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut out = Map::new();
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (key, prop) in props {
                let is_required = required.contains(&key.as_str());
                if !is_required && depth >= FULL_DEPTH {
                    continue;
                }
                let value = self.at(prop, n, depth + 1, key);
                if value.is_null() && !is_required {
                    continue;
                }
                out.insert(key.clone(), value);
            }
        }
        Value::Object(out)
    }

    fn string(&self, schema: &Value, n: u64, name: &str) -> Value {
        let base = match schema.get("format").and_then(Value::as_str) {
            Some("date-time") => format!("2025-01-{:02}T06:00:00Z", 1 + (n + self.seed) % 28),
            Some("date") => format!("2025-01-{:02}", 1 + (n + self.seed) % 28),
            Some("uuid") => format!("00000000-0000-4000-8000-{:012}", n + self.seed),
            Some("email") => format!("user{n}@example.com"),
            Some("uri") | Some("url") => format!("https://example.com/{name}/{n}"),
            _ if name == "id" || name.ends_with("_id") => format!("{}_{}", prefix(name), n + self.seed),
            _ => format!("{name} {n}").trim().to_owned(),
        };
        if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
            if let Some(fit) = fitting(pattern, &base, name) {
                return Value::String(fit);
            }
        }
        let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = schema
            .get("maxLength")
            .and_then(Value::as_u64)
            .map_or(usize::MAX, |m| m as usize);
        let mut s = if base.is_empty() { "x".to_owned() } else { base };
        while s.chars().count() < min {
            s.push('x');
        }
        Value::String(s.chars().take(max.max(1)).collect())
    }
}

/// A string matching `pattern` (checked with `regress`, the engine the generated types use):
/// the usual value if it fits, else the first of a few common shapes that does.
fn fitting(pattern: &str, usual: &str, name: &str) -> Option<String> {
    let regex = regress::Regex::new(pattern).ok()?;
    let hex = "0".repeat(64);
    let candidates = [
        usual.to_owned(),
        name.to_owned(),
        name.to_ascii_uppercase(),
        "a".into(),
        "A".into(),
        "x1".into(),
        "A1".into(),
        "1".into(),
        "2025-01-15".into(),
        format!("sha256={hex}"),
        hex,
    ];
    candidates
        .into_iter()
        .find(|c| regex.find(c).is_some_and(|m| m.range() == (0..c.len())))
}

fn prefix(name: &str) -> &str {
    match name.trim_end_matches("_id") {
        "" | "id" => "obj",
        other => other,
    }
}

/// The schema's type; for a 3.1 type array, the first that is not `null`.
fn type_of(schema: &Value) -> Option<String> {
    match schema.get("type")? {
        Value::String(t) => Some(t.clone()),
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .or(Some("null"))
            .map(str::to_owned),
        _ => None,
    }
}
