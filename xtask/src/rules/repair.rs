//! Rules that repair what a document says about itself: annotations that are not text, sample
//! values that contradict their own schema, constraints written in a shape no generator can
//! express, and compositions that never end. They run on every document, before normalization.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::walk;
use super::{Options, Rule, RuleError};
use crate::error::escape;

/// The repair rules, in the order they run.
pub const RULES: &[Rule] = &[
    Rule {
        name: "annotations-as-text",
        doc: "Turns a non-string `description`, `summary` or `title` into text (a number) or drops it (a boolean, null, list or object); openapiv3 rejects the whole document otherwise.",
        apply: annotations_as_text,
    },
    Rule {
        name: "format-of-structured-types-as-doc",
        doc: "Moves a `format` on an object, array or boolean schema (`{type: object, format: uri-map}`) into its description (`Format: uri-map.`): OpenAPI defines formats for strings and numbers only, and typify refuses the schema.",
        apply: format_of_structured_types_as_doc,
    },
    Rule {
        name: "drop-nonconforming-samples",
        doc: "Drops a schema's `default` or `example` when the value contradicts the schema's own type, enum or nullability (typify refuses such a default; the stand-in would serve such an example).",
        apply: drop_nonconforming_samples,
    },
    Rule {
        name: "drop-composed-defaults",
        doc: "Drops a `default` beside `allOf`/`anyOf`/`oneOf`/`$ref`/`not`: typify must prove the value fits the composed type and cannot for unions; for a client the default is the server's business, and the field stays optional.",
        apply: drop_composed_defaults,
    },
    Rule {
        name: "enum-beside-composition",
        doc: "A schema with an `enum` beside `allOf`/`anyOf`/`oneOf`/`$ref` keeps only the enum (the tighter constraint, with its type inferred from the values); progenitor cannot express the intersection.",
        apply: enum_beside_composition,
    },
    Rule {
        name: "reject-allof-cycles",
        doc: "Fails, with the pointer of the offending `$ref`, when a component schema's `allOf` reaches the schema itself: no value can be generated for a type that contains itself.",
        apply: reject_allof_cycles,
    },
];

/// Keys under which an object holds named entries (a property called `title` is no annotation).
const NAMED: &[&str] = &[
    "properties",
    "patternProperties",
    "schemas",
    "definitions",
    "$defs",
    "responses",
    "parameters",
    "headers",
    "requestBodies",
    "securitySchemes",
    "links",
    "callbacks",
    "examples",
    "content",
    "paths",
    "webhooks",
    "variables",
    "mapping",
    "encoding",
];

/// Keys whose values are data, not document structure.
fn is_data(key: &str) -> bool {
    matches!(key, "example" | "examples" | "default" | "enum" | "const" | "value") || key.starts_with("x-")
}

fn annotations_as_text(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    fn visit(node: &mut Value, named: bool, n: &mut usize) {
        match node {
            Value::Object(map) => {
                if !named {
                    for key in ["description", "summary", "title"] {
                        match map.get(key) {
                            None | Some(Value::String(_)) => {}
                            Some(Value::Number(number)) => {
                                let text = number.to_string();
                                map.insert(key.into(), Value::String(text));
                                *n += 1;
                            }
                            Some(_) => {
                                map.remove(key);
                                *n += 1;
                            }
                        }
                    }
                }
                for (key, child) in map.iter_mut() {
                    // A media type's `examples` is a map of Example Objects (with `summary` and
                    // `description`); a schema's (3.1) `examples` is a list of values.
                    let data = is_data(key) && !(key == "examples" && child.is_object());
                    if named || !data {
                        visit(child, !named && NAMED.contains(&key.as_str()), n);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| visit(v, false, n)),
            _ => {}
        }
    }
    let mut n = 0;
    visit(doc, false, &mut n);
    Ok(n)
}

/// Whether `value` fits what `schema` says about it directly: its type, nullability and enum,
/// and the same for array items. `None` when the schema does not say enough to tell.
fn conforms(schema: &Map<String, Value>, value: &Value) -> Option<bool> {
    if value.is_null() {
        let nullable = schema.get("nullable").and_then(Value::as_bool) == Some(true);
        let typed = schema.contains_key("type") || schema.contains_key("enum");
        return (typed && !has_composition(schema)).then_some(nullable);
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            return Some(false);
        }
    }
    let fits = match schema.get("type").and_then(Value::as_str)? {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => match (value.as_array(), schema.get("items").and_then(Value::as_object)) {
            (None, _) => false,
            (Some(items), Some(item_schema)) => items.iter().all(|v| conforms(item_schema, v) != Some(false)),
            (Some(_), None) => true,
        },
        _ => return None,
    };
    Some(fits)
}

fn has_composition(schema: &Map<String, Value>) -> bool {
    ["allOf", "anyOf", "oneOf", "$ref", "not"]
        .iter()
        .any(|k| schema.contains_key(*k))
}

fn drop_nonconforming_samples(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let mut n = 0;
    walk::schemas(doc, &mut |s, _| {
        for key in ["default", "example"] {
            let Some(value) = s.get(key) else { continue };
            if conforms(s, value) == Some(false) {
                s.remove(key);
                n += 1;
            }
        }
    });
    Ok(n)
}

fn drop_composed_defaults(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let mut n = 0;
    walk::schemas(doc, &mut |s, _| {
        if has_composition(s) && s.remove("default").is_some() {
            n += 1;
        }
    });
    Ok(n)
}

/// Whether a schema is an object, array or boolean (by its `type`, or by object keywords when it
/// has none): the types without formats.
fn is_structured(s: &Map<String, Value>) -> bool {
    match s.get("type").and_then(Value::as_str) {
        Some(t) => matches!(t, "object" | "array" | "boolean"),
        None => s.contains_key("properties") || s.contains_key("additionalProperties"),
    }
}

fn format_of_structured_types_as_doc(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let mut n = 0;
    walk::schemas(doc, &mut |s, _| {
        if !is_structured(s) {
            return;
        }
        let Some(format) = s.remove("format") else { return };
        n += 1;
        let note = match format {
            Value::String(f) => format!("Format: {f}."),
            other => format!("Format: {other}."),
        };
        let description = match s.get("description").and_then(Value::as_str) {
            Some(d) if !d.trim().is_empty() => format!("{}\n\n{note}", d.trim_end()),
            _ => note,
        };
        s.insert("description".into(), Value::String(description));
    });
    Ok(n)
}

/// The JSON type shared by every value of an enum, if there is one.
fn enum_type(values: &[Value]) -> Option<&'static str> {
    let of = |v: &Value| match v {
        Value::String(_) => Some("string"),
        Value::Bool(_) => Some("boolean"),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some("integer"),
        Value::Number(_) => Some("number"),
        _ => None,
    };
    let first = of(values.first()?)?;
    values.iter().all(|v| of(v) == Some(first)).then_some(first)
}

fn enum_beside_composition(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let mut n = 0;
    walk::schemas(doc, &mut |s, _| {
        let Some(values) = s.get("enum").and_then(Value::as_array) else {
            return;
        };
        if !has_composition(s) {
            return;
        }
        let inferred = enum_type(values);
        for key in ["allOf", "anyOf", "oneOf", "$ref", "not"] {
            s.remove(key);
        }
        if let (false, Some(t)) = (s.contains_key("type"), inferred) {
            s.insert("type".into(), Value::String(t.into()));
        }
        n += 1;
    });
    Ok(n)
}

fn reject_allof_cycles(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let Some(schemas) = doc.pointer("/components/schemas").and_then(Value::as_object) else {
        return Ok(0);
    };
    // The component schemas each schema's `allOf` names directly, with the member's index.
    let all_of = |name: &str| -> Vec<(usize, String)> {
        schemas
            .get(name)
            .and_then(|s| s.get("allOf"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, m)| {
                let target = m.get("$ref")?.as_str()?.strip_prefix("#/components/schemas/")?;
                Some((i, target.replace("~1", "/").replace("~0", "~")))
            })
            .collect()
    };
    for start in schemas.keys() {
        for (index, first) in all_of(start) {
            let mut seen = BTreeSet::new();
            let mut todo = vec![first];
            while let Some(next) = todo.pop() {
                if next == *start {
                    return Err(RuleError {
                        pointer: format!("/components/schemas/{}/allOf/{index}/$ref", escape(start)),
                        message: format!(
                            "`{start}` contains itself through `allOf`: no value of it can be written down; break the cycle (e.g. make the self-reference a property)"
                        ),
                    });
                }
                if seen.insert(next.clone()) {
                    todo.extend(all_of(&next).into_iter().map(|(_, t)| t));
                }
            }
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::try_run as run;
    use serde_json::json;

    #[test]
    fn a_format_on_a_structured_type_becomes_a_doc_note() {
        let doc = json!({"components": {"schemas": {
            "Map": {"type": "object", "format": "uri-map", "description": "Links.", "additionalProperties": {"type": "string"}},
            "Bare": {"format": "dictionary", "properties": {"a": {"type": "string", "format": "date-time"}}},
            "List": {"type": "array", "format": "csv", "items": {"type": "integer", "format": "int64"}},
            "Flag": {"type": "boolean", "format": "yes-no"},
            "When": {"type": "string", "format": "date-time"}}}});
        let (doc, n) = run("format-of-structured-types-as-doc", doc).expect("applies");
        assert_eq!(n, 4);
        let s = &doc["components"]["schemas"];
        assert_eq!(s["Map"]["description"], "Links.\n\nFormat: uri-map.");
        assert_eq!(s["Bare"]["description"], "Format: dictionary.");
        assert_eq!(s["List"]["description"], "Format: csv.");
        assert_eq!(s["Flag"].get("format"), None);
        for kept in [&s["When"], &s["Bare"]["properties"]["a"], &s["List"]["items"]] {
            assert!(
                kept.get("format").is_some(),
                "formats of strings and numbers stay: {kept}"
            );
        }
    }

    #[test]
    fn annotations_become_text_or_go_but_named_entries_stay() {
        let doc = json!({"info": {"title": 3, "description": false},
            "paths": {"/a": {"get": {"responses": {"200": {"content": {"application/json": {
                "examples": {"one": {"summary": 3, "value": {"description": false}}}}}}}}}},
            "components": {"schemas": {"A": {"type": "object", "title": ["x"], "description": null,
                "properties": {"title": {"type": "string"}, "description": {"type": "integer", "description": "kept"}}}}}});
        let (doc, n) = run("annotations-as-text", doc).expect("applies");
        assert_eq!(doc["info"], json!({"title": "3"}));
        let a = &doc["components"]["schemas"]["A"];
        assert!(a.get("title").is_none() && a.get("description").is_none(), "{a}");
        assert_eq!(a["properties"]["title"], json!({"type": "string"}));
        assert_eq!(a["properties"]["description"]["description"], json!("kept"));
        let example = &doc["paths"]["/a"]["get"]["responses"]["200"]["content"]["application/json"]["examples"]["one"];
        assert_eq!(
            example["summary"],
            json!("3"),
            "an Example Object's summary is an annotation"
        );
        assert_eq!(example["value"], json!({"description": false}), "its value is data");
        assert_eq!(n, 5);
    }

    #[test]
    fn samples_that_contradict_their_schema_are_dropped() {
        let doc = json!({"components": {"schemas": {
            "A": {"type": "string", "enum": ["logprobs"], "default": []},
            "B": {"type": "array", "items": {"type": "string", "enum": ["a"]}, "default": ["a"], "example": ["b"]},
            "C": {"type": "integer", "default": null, "nullable": true, "example": 1.5},
            "D": {"allOf": [{"$ref": "#/components/schemas/A"}], "default": 3}}}});
        let (doc, n) = run("drop-nonconforming-samples", doc).expect("applies");
        let s = &doc["components"]["schemas"];
        assert!(s["A"].get("default").is_none());
        assert_eq!(s["B"]["default"], json!(["a"]));
        assert!(s["B"].get("example").is_none());
        assert_eq!(s["C"]["default"], json!(null));
        assert!(s["C"].get("example").is_none());
        assert_eq!(s["D"]["default"], json!(3), "unknown without following the ref: kept");
        assert_eq!(n, 3);
    }

    #[test]
    fn a_default_beside_a_composition_is_dropped() {
        let doc = json!({"components": {"schemas": {
            "A": {"type": "object", "properties": {"voice": {"allOf": [{"$ref": "#/components/schemas/V"}], "default": "alloy"},
                "speed": {"type": "number", "default": 1}}}}}});
        let (doc, n) = run("drop-composed-defaults", doc).expect("applies");
        let p = &doc["components"]["schemas"]["A"]["properties"];
        assert!(p["voice"].get("default").is_none());
        assert_eq!(p["speed"]["default"], json!(1));
        assert_eq!(n, 1);
    }

    #[test]
    fn an_enum_beside_a_composition_keeps_the_enum() {
        let doc = json!({"components": {"schemas": {
            "A": {"items": {"enum": ["bot", "applications.commands"], "allOf": [{"$ref": "#/components/schemas/S"}]}, "type": "array"},
            "B": {"enum": [1, 2], "$ref": "#/components/schemas/N"},
            "C": {"allOf": [{"$ref": "#/components/schemas/S"}]}}}});
        let (doc, n) = run("enum-beside-composition", doc).expect("applies");
        let s = &doc["components"]["schemas"];
        assert_eq!(
            s["A"]["items"],
            json!({"enum": ["bot", "applications.commands"], "type": "string"})
        );
        assert_eq!(s["B"], json!({"enum": [1, 2], "type": "integer"}));
        assert_eq!(s["C"]["allOf"][0]["$ref"], json!("#/components/schemas/S"));
        assert_eq!(n, 2);
    }

    #[test]
    fn an_allof_cycle_is_an_error_with_its_pointer() {
        let direct = json!({"components": {"schemas": {"A": {"allOf": [{"$ref": "#/components/schemas/A"}]}}}});
        let err = run("reject-allof-cycles", direct).expect_err("cycle");
        assert_eq!(err.pointer, "/components/schemas/A/allOf/0/$ref");
        let indirect = json!({"components": {"schemas": {
            "A": {"allOf": [{"type": "object"}, {"$ref": "#/components/schemas/B"}]},
            "B": {"allOf": [{"$ref": "#/components/schemas/A"}]}}}});
        let err = run("reject-allof-cycles", indirect).expect_err("cycle");
        assert_eq!(err.pointer, "/components/schemas/A/allOf/1/$ref");
        let fine = json!({"components": {"schemas": {
            "A": {"type": "object", "properties": {"child": {"$ref": "#/components/schemas/A"}}},
            "B": {"allOf": [{"$ref": "#/components/schemas/A"}]}}}});
        assert_eq!(run("reject-allof-cycles", fine).expect("no cycle").1, 0);
    }
}
