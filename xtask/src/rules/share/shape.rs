//! Shapes as text, for telling when two schemas would be the same Rust type, and which schemas
//! are worth sharing at all.

use serde_json::{Map, Value};

/// Keywords that document a schema without changing the Rust type typify generates.
const DOC_ONLY: &[&str] = &["description", "example", "examples"];

/// Objects with properties and string enums: the shapes typify turns into named types.
pub(super) fn shareable(s: &Map<String, Value>) -> bool {
    if s.contains_key("$ref") || s.get("nullable").and_then(Value::as_bool) == Some(true) {
        return false;
    }
    if s.keys().any(|k| k.starts_with("x-")) {
        return false;
    }
    let typed = |t: &str| s.get("type").and_then(Value::as_str).is_none_or(|v| v == t);
    let object = typed("object")
        && s.get("properties")
            .and_then(Value::as_object)
            .is_some_and(|p| !p.is_empty())
        && !["allOf", "anyOf", "oneOf"].iter().any(|k| s.contains_key(*k));
    let string_enum = s.get("type").and_then(Value::as_str) == Some("string")
        && s.get("enum").and_then(Value::as_array).is_some_and(|e| e.len() >= 2);
    object || string_enum
}

/// Shapes as text with sorted keys, documentation left out (at every level), and each `$ref` to
/// a component written as that component's shape: an inline copy of a component's shape, its
/// references spelled out, is that component.
pub(super) struct Shapes<'a> {
    pub(super) components: &'a Map<String, Value>,
}

impl Shapes<'_> {
    /// The shape of `s`; `component` names it when it is one (its own references stay references).
    pub(super) fn key(&self, s: &Map<String, Value>, component: Option<&str>) -> String {
        let mut out = String::new();
        let mut open: Vec<String> = component.map(str::to_owned).into_iter().collect();
        self.write_schema(s, &mut out, &mut open);
        out
    }

    /// `open`: the components being spelled out, so a recursive one ends as a reference.
    fn write_schema(&self, s: &Map<String, Value>, out: &mut String, open: &mut Vec<String>) {
        if let Some(target) = self.resolvable(s, open) {
            if let Some(Value::Object(component)) = self.components.get(&target) {
                open.push(target);
                self.write_schema(component, out, open);
                open.pop();
                return;
            }
        }
        let mut keys: Vec<&String> = s.keys().filter(|k| !DOC_ONLY.contains(&k.as_str())).collect();
        keys.sort();
        out.push('{');
        for key in keys {
            out.push_str(&Value::String(key.clone()).to_string());
            out.push(':');
            let value = &s[key];
            match (key.as_str(), value) {
                ("properties", Value::Object(props)) => {
                    let mut names: Vec<&String> = props.keys().collect();
                    names.sort();
                    out.push('{');
                    for name in names {
                        out.push_str(&Value::String(name.clone()).to_string());
                        out.push(':');
                        self.write_value(&props[name], out, open);
                        out.push(',');
                    }
                    out.push('}');
                }
                ("items" | "additionalProperties" | "not", v) => self.write_value(v, out, open),
                ("allOf" | "anyOf" | "oneOf", Value::Array(list)) => {
                    out.push('[');
                    for v in list {
                        self.write_value(v, out, open);
                        out.push(',');
                    }
                    out.push(']');
                }
                (_, v) => write_plain(v, out),
            }
            out.push(',');
        }
        out.push('}');
    }

    /// The component a bare `$ref` (nothing beside it but documentation) names, unless it is
    /// already being spelled out.
    fn resolvable(&self, s: &Map<String, Value>, open: &[String]) -> Option<String> {
        let target = s.get("$ref")?.as_str()?.strip_prefix("#/components/schemas/")?;
        if target.contains('/') || s.keys().any(|k| k != "$ref" && !DOC_ONLY.contains(&k.as_str())) {
            return None;
        }
        let name = target.replace("~1", "/").replace("~0", "~");
        (!open.contains(&name)).then_some(name)
    }

    fn write_value(&self, v: &Value, out: &mut String, open: &mut Vec<String>) {
        match v {
            Value::Object(s) => self.write_schema(s, out, open),
            other => write_plain(other, out),
        }
    }
}

/// JSON with sorted object keys (documents keep their own key order).
pub(super) fn write_plain(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for k in keys {
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_plain(&map[k], out);
                out.push(',');
            }
            out.push('}');
        }
        Value::Array(list) => {
            out.push('[');
            for item in list {
                write_plain(item, out);
                out.push(',');
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}
