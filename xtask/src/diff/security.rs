//! Security requirements compared by what they send, not by the names a document gives its
//! schemes: `bearerToken` and `bearer`, both `Authorization: Bearer`, are one scheme, and
//! renaming it changes nothing in the generated client.

use serde_json::{Map, Value};

/// Keys of a security scheme that are prose: they never change what a request carries.
const PROSE: [&str; 3] = ["description", "x-description", "summary"];

/// The requirements of an operation (its own `security`, else the document's) with each scheme
/// name replaced by its definition, in an order that does not depend on how the document lists
/// them: a list of alternatives, each a list of (definition, scopes).
pub(super) fn canonical(requirements: &Value, doc: &Value) -> Value {
    let Some(alternatives) = requirements.as_array() else {
        return requirements.clone();
    };
    let mut out: Vec<Value> = alternatives
        .iter()
        .map(|alternative| {
            let mut schemes: Vec<Value> = alternative
                .as_object()
                .into_iter()
                .flatten()
                .map(|(name, scopes)| {
                    let mut scopes: Vec<String> = scopes
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect();
                    scopes.sort();
                    Value::Array(vec![definition(name, doc), scopes.into()])
                })
                .collect();
            schemes.sort_by_key(Value::to_string);
            Value::Array(schemes)
        })
        .collect();
    out.sort_by_key(Value::to_string);
    out.dedup();
    Value::Array(out)
}

/// A scheme's definition without its prose; HTTP auth schemes and header names are
/// case-insensitive, so they compare lowercased. A name with no definition stays a name.
fn definition(name: &str, doc: &Value) -> Value {
    let Some(scheme) = doc
        .pointer("/components/securitySchemes")
        .and_then(|s| s.get(name))
        .and_then(Value::as_object)
    else {
        return serde_json::json!({ "undefined-scheme": name });
    };
    let mut out: Map<String, Value> = scheme
        .iter()
        .filter(|(k, _)| !PROSE.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let header = out.get("in").and_then(Value::as_str) == Some("header");
    for key in ["scheme", "bearerFormat"] {
        lowercase(&mut out, key);
    }
    if header {
        lowercase(&mut out, "name");
    }
    // Sorted keys, so the order a document writes them in does not matter.
    let sorted: std::collections::BTreeMap<String, Value> = out.into_iter().collect();
    Value::Object(sorted.into_iter().collect())
}

fn lowercase(map: &mut Map<String, Value>, key: &str) {
    if let Some(Value::String(s)) = map.get_mut(key) {
        *s = s.to_ascii_lowercase();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(schemes: Value) -> Value {
        json!({"components": {"securitySchemes": schemes}})
    }

    #[test]
    fn a_renamed_scheme_with_the_same_definition_is_the_same() {
        let old = doc(json!({"bearerToken": {"type": "http", "scheme": "bearer", "description": "A token."}}));
        let new = doc(json!({"bearer": {"type": "http", "scheme": "Bearer", "description": "Your token."}}));
        assert_eq!(
            canonical(&json!([{"bearerToken": []}]), &old),
            canonical(&json!([{"bearer": []}]), &new)
        );
    }

    #[test]
    fn header_names_compare_case_insensitively_and_order_does_not_matter() {
        let old = doc(json!({"k": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
            "b": {"type": "http", "scheme": "bearer"}}));
        let new = doc(json!({"key": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            "bearer": {"type": "http", "scheme": "bearer"}}));
        assert_eq!(
            canonical(&json!([{"k": []}, {"b": ["read", "write"]}]), &old),
            canonical(&json!([{"bearer": ["write", "read"]}, {"key": []}]), &new)
        );
    }

    #[test]
    fn a_different_definition_scope_or_extension_is_a_change() {
        let base = doc(json!({"a": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            "t": {"type": "http", "scheme": "bearer", "x-vendor-scheme": "user"},
            "d": {"type": "http", "scheme": "bearer", "x-vendor-scheme": "device_flow"}}));
        let of = |r: Value| canonical(&r, &base);
        assert_ne!(of(json!([{"a": []}])), of(json!([{"t": []}])), "another header");
        assert_ne!(of(json!([{"t": []}])), of(json!([{"d": []}])), "another vendor scheme");
        assert_ne!(of(json!([{"t": []}])), of(json!([{"t": ["admin"]}])), "another scope");
        assert_ne!(of(json!([{"t": []}])), of(json!([{"t": []}, {}])), "now optional");
        assert_ne!(
            of(json!([{"gone": []}])),
            of(json!([{"t": []}])),
            "an undefined name stays a name"
        );
    }
}
