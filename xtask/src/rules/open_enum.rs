//! Open enums: a set of known string values that may grow (`anyOf` of a string `enum` and a
//! plain string). typify would make an untagged enum of an inner enum and a string
//! (`Status::String(StatusString::Done)`); the rule turns each into a named component marked
//! `x-open-enum`, which the generator emits as one flat enum
//! (`Status::Done`, …, `Status::Other(String)`) and points progenitor at.

use serde_json::{json, Map, Value};

use super::walk;
use super::{Options, Rule, RuleError};
use crate::error::escape;

/// The open-enum rules.
pub const RULES: &[Rule] = &[Rule {
    name: "open-enum-flat",
    doc: "Turns an open enum (`anyOf`/`oneOf` of a string `enum` and a plain string) into a component marked `x-open-enum` (inline ones are hoisted under the name typify would give them), generated as one flat enum with an `Other(String)` fallback, `Display`, `FromStr`, `as_str()` and serde that round-trips unknown values.",
    apply: open_enum_flat,
}];

/// The extension that marks a flat open enum and lists its known values.
pub const MARK: &str = "x-open-enum";

fn is_string_enum(v: &Value) -> bool {
    v.get("enum")
        .and_then(Value::as_array)
        .is_some_and(|e| !e.is_empty() && e.iter().all(Value::is_string))
}

fn is_plain_string(v: &Value) -> bool {
    v.as_object().is_some_and(|m| {
        m.get("type").and_then(Value::as_str) == Some("string")
            && m.keys()
                .all(|k| matches!(k.as_str(), "type" | "description" | "title" | "example"))
    })
}

/// The known values, when `schema` is an open enum.
fn open_values(schema: &Map<String, Value>) -> Option<Vec<Value>> {
    ["anyOf", "oneOf"].iter().find_map(|key| {
        let [a, b] = schema.get(*key)?.as_array()?.as_slice() else {
            return None;
        };
        let known = match (
            is_string_enum(a),
            is_plain_string(b),
            is_string_enum(b),
            is_plain_string(a),
        ) {
            (true, true, _, _) => a,
            (_, _, true, true) => b,
            _ => return None,
        };
        known.get("enum")?.as_array().cloned()
    })
}

fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// The name typify gives an inline schema at `ptr`: the enclosing component's (or operation's)
/// name followed by each property name on the way (`Broadcast` + `status` → `BroadcastStatus`).
fn hoisted_name(doc: &Value, ptr: &str) -> String {
    use heck::ToUpperCamelCase;
    let segments: Vec<String> = ptr.split('/').skip(1).map(unescape).collect();
    let mut words: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(segment) = segments.get(i) {
        let next = segments.get(i + 1).cloned().unwrap_or_default();
        match segment.as_str() {
            "components" => {
                words.push(segments.get(i + 2).cloned().unwrap_or_default());
                i += 3;
            }
            "paths" => {
                let method = segments.get(i + 2).cloned().unwrap_or_default();
                let op = format!("/paths/{}/{method}/operationId", escape(&next));
                words.push(doc.pointer(&op).and_then(Value::as_str).unwrap_or(&method).to_owned());
                i += 3;
            }
            "parameters" if ptr.starts_with("/paths/") => {
                let at: String = segments
                    .get(..i + 2)
                    .unwrap_or_default()
                    .iter()
                    .map(|s| format!("/{}", escape(s)))
                    .collect();
                words.push(
                    doc.pointer(&format!("{at}/name"))
                        .and_then(Value::as_str)
                        .unwrap_or("param")
                        .to_owned(),
                );
                i += 2;
            }
            "properties" => {
                words.push(next);
                i += 2;
            }
            "responses" => {
                words.push(format!("Response{next}"));
                i += 2;
            }
            "content" => i += 2,
            "requestBody" => {
                words.push("Body".into());
                i += 1;
            }
            "items" => {
                words.push("Item".into());
                i += 1;
            }
            "additionalProperties" => {
                words.push("Value".into());
                i += 1;
            }
            "allOf" | "anyOf" | "oneOf" => {
                words.push(format!("Variant{next}"));
                i += 2;
            }
            _ => i += 1,
        }
    }
    words.join("_").to_upper_camel_case()
}

fn open_enum_flat(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    // Find them first (read-only), so inline ones can be named from the document.
    let mut found: Vec<(String, Vec<Value>)> = Vec::new();
    let mut scratch = std::mem::take(doc);
    walk::schemas(&mut scratch, &mut |s, ptr| {
        if let Some(values) = open_values(s) {
            found.push((ptr.to_owned(), values));
        }
    });
    *doc = scratch;
    let mut taken: std::collections::HashSet<String> = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let mut hoisted = Map::new();
    for (ptr, values) in &found {
        let base = hoisted_name(doc, ptr);
        let Some(node) = doc.pointer_mut(ptr).and_then(Value::as_object_mut) else {
            continue;
        };
        let mut flat = Map::new();
        flat.insert("type".into(), json!("string"));
        if let Some(d) = node.get("description") {
            flat.insert("description".into(), d.clone());
        }
        flat.insert(MARK.into(), Value::Array(values.clone()));
        // The flat enum replaces the type wholesale, so nullability lives beside a reference to
        // it (`allOf: [$ref]` + `nullable`), which typify reads as `Option<…>`.
        let nullable = node.get("nullable").and_then(Value::as_bool) == Some(true);
        let is_component = ptr.starts_with("/components/schemas/") && ptr.matches('/').count() == 3;
        if is_component && !nullable {
            *node = flat;
            continue;
        }
        let base = match (is_component, base.is_empty()) {
            (true, _) => format!("{base}Value"),
            (false, true) => "OpenEnum".to_owned(),
            (false, false) => base,
        };
        let mut name = base.clone();
        let mut n = 2;
        while taken.contains(&name) {
            name = format!("{base}{n}");
            n += 1;
        }
        taken.insert(name.clone());
        let reference = json!({"$ref": format!("#/components/schemas/{}", escape(&name))});
        let description = node.get("description").cloned();
        node.clear();
        if nullable {
            node.insert("allOf".into(), json!([reference]));
            node.insert("nullable".into(), json!(true));
            if let Some(d) = description {
                node.insert("description".into(), d);
            }
        } else if let Value::Object(r) = reference {
            node.extend(r);
        }
        hoisted.insert(name, Value::Object(flat));
    }
    if !hoisted.is_empty() {
        let schemas = doc
            .as_object_mut()
            .map(|root| root.entry("components").or_insert_with(|| json!({})))
            .and_then(Value::as_object_mut)
            .map(|c| c.entry("schemas").or_insert_with(|| json!({})))
            .and_then(Value::as_object_mut);
        if let Some(schemas) = schemas {
            schemas.extend(hoisted);
        }
    }
    Ok(found.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_enums_become_flat_components() {
        let mut doc = json!({
            "paths": {"/b": {"get": {"operationId": "listBroadcasts", "parameters": [
                {"name": "kind", "in": "query", "schema": {"anyOf": [{"type": "string", "enum": ["x"]}, {"type": "string"}]}}]}}},
            "components": {"schemas": {
            "Status": {"description": "d", "anyOf": [{"type": "string", "enum": ["a", "b"]}, {"type": "string"}]},
            "Broadcast": {"type": "object", "properties": {
                "state": {"oneOf": [{"type": "string"}, {"type": "string", "enum": ["on"]}]},
                "tags": {"type": "array", "items": {"anyOf": [{"type": "string", "enum": ["t"]}, {"type": "string"}]}}}},
            "Closed": {"anyOf": [{"type": "string", "enum": ["a"]}, {"type": "integer"}]}}}});
        let n = (RULES[0].apply)(&mut doc, &Options::default()).expect("applies");
        let s = &doc["components"]["schemas"];
        assert_eq!(
            s["Status"],
            json!({"type": "string", "description": "d", "x-open-enum": ["a", "b"]})
        );
        assert_eq!(
            s["Broadcast"]["properties"]["state"],
            json!({"$ref": "#/components/schemas/BroadcastState"})
        );
        assert_eq!(s["BroadcastState"]["x-open-enum"], json!(["on"]));
        assert_eq!(
            s["Broadcast"]["properties"]["tags"]["items"],
            json!({"$ref": "#/components/schemas/BroadcastTagsItem"})
        );
        assert_eq!(
            doc["paths"]["/b"]["get"]["parameters"][0]["schema"],
            json!({"$ref": "#/components/schemas/ListBroadcastsKind"})
        );
        assert!(s["Closed"].get("anyOf").is_some(), "not open: an integer branch");
        assert_eq!(n, 4);
    }

    #[test]
    fn a_nullable_open_enum_stays_nullable() {
        let open = json!({"anyOf": [{"type": "string", "enum": ["a"]}, {"type": "string"}], "nullable": true, "description": "d"});
        let mut doc = json!({"components": {"schemas": {
            "Unit": open.clone(),
            "Cost": {"type": "object", "properties": {"unit": open}},
            "Odd": {"definitions": {"parameters": {"anyOf": [{"type": "string", "enum": ["x"]}, {"type": "string"}]}}}}}});
        let n = (RULES[0].apply)(&mut doc, &Options::default()).expect("applies");
        let s = &doc["components"]["schemas"];
        assert_eq!(
            s["Unit"],
            json!({"allOf": [{"$ref": "#/components/schemas/UnitValue"}], "nullable": true, "description": "d"})
        );
        assert_eq!(s["UnitValue"]["x-open-enum"], json!(["a"]));
        assert!(s["UnitValue"].get("nullable").is_none());
        assert_eq!(
            s["Cost"]["properties"]["unit"]["allOf"][0],
            json!({"$ref": "#/components/schemas/CostUnit"})
        );
        assert_eq!(s["Cost"]["properties"]["unit"]["nullable"], json!(true));
        assert_eq!(n, 3, "a `parameters` key outside /paths is only a name");
    }
}
