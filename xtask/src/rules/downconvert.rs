//! OpenAPI 3.1 → 3.0 down-conversion on the raw JSON, before `openapiv3` parses it: `openapiv3`
//! 2.x rejects 3.1 type arrays and numeric exclusive bounds and silently drops `const`, `examples`
//! and `$ref` siblings, so each of those is rewritten here into its 3.0 spelling.

use serde_json::{json, Map, Value};

use super::walk;
use super::{Options, Rule, RuleError};

/// The down-conversion rules, in the order they run.
pub const RULES: &[Rule] = &[
    Rule {
        name: "set-openapi-3.0",
        doc: "Sets `openapi: 3.0.3` and removes 3.1-only top-level sections (`webhooks`, `jsonSchemaDialect`, `components.pathItems`, `info.summary`, `info.license.identifier`); webhook payload schemas stay in `components`.",
        apply: set_openapi_30,
    },
    Rule {
        name: "defs-to-components",
        doc: "Moves every referenced JSON Schema `$defs` entry into `components.schemas` (named by its key, or `<Owner><Key>` when the key is taken) and points the `$ref`s into it there; `$defs` nothing references are dropped. 3.0 and progenitor know only components.",
        apply: super::defs::defs_to_components,
    },
    Rule {
        name: "reject-unsupported-3.1-keywords",
        doc: "Fails with the schema's pointer on 3.1 keywords 3.0 cannot express (`prefixItems`, `if`/`then`/`else`, `dependentSchemas`, `unevaluatedProperties`, `patternProperties`), and drops annotation-only ones (`$schema`, `$id`, `$comment`, `contentMediaType`, `contentEncoding`).",
        apply: reject_unsupported,
    },
    Rule {
        name: "const-to-enum",
        doc: "Rewrites `const: v` as `enum: [v]` (openapiv3 drops `const`, which would lose the constraint).",
        apply: const_to_enum,
    },
    Rule {
        name: "null-branch-to-nullable",
        doc: "Removes `{type: null}` branches from `anyOf`/`oneOf` and marks the schema `nullable` (progenitor panics on a null branch); a lone remaining `$ref` branch becomes `allOf: [$ref]`.",
        apply: null_branch_to_nullable,
    },
    Rule {
        name: "type-array-to-nullable",
        doc: "Rewrites `type: [T, \"null\"]` as `type: T, nullable: true`, and `type: [A, B]` as `anyOf` of single types.",
        apply: type_array_to_nullable,
    },
    Rule {
        name: "examples-to-example",
        doc: "Replaces a schema's 3.1 `examples` array by a 3.0 `example` holding its first entry.",
        apply: examples_to_example,
    },
    Rule {
        name: "exclusive-bounds-to-boolean",
        doc: "Rewrites numeric `exclusiveMinimum`/`exclusiveMaximum` as `minimum`/`maximum` plus the 3.0 boolean flag.",
        apply: exclusive_bounds,
    },
    Rule {
        name: "ref-siblings-to-allof",
        doc: "Wraps a `$ref` that has constraint siblings (e.g. `nullable`) as `allOf: [$ref]` plus the siblings, and drops annotation-only siblings, which 3.0 ignores beside `$ref`.",
        apply: ref_siblings,
    },
];

fn set_openapi_30(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let Some(root) = doc.as_object_mut() else {
        return Err(RuleError {
            pointer: String::new(),
            message: "document is not a JSON object".into(),
        });
    };
    let mut n = 0;
    root.insert("openapi".into(), json!("3.0.3"));
    n += 1;
    for key in ["webhooks", "jsonSchemaDialect"] {
        n += usize::from(root.remove(key).is_some());
    }
    if let Some(c) = root.get_mut("components").and_then(Value::as_object_mut) {
        n += usize::from(c.remove("pathItems").is_some());
    }
    if let Some(info) = root.get_mut("info").and_then(Value::as_object_mut) {
        n += usize::from(info.remove("summary").is_some());
        if let Some(l) = info.get_mut("license").and_then(Value::as_object_mut) {
            n += usize::from(l.remove("identifier").is_some());
        }
    }
    Ok(n)
}

const UNSUPPORTED: &[&str] = &[
    "prefixItems",
    "if",
    "then",
    "else",
    "dependentSchemas",
    "unevaluatedProperties",
    "patternProperties",
];
const ANNOTATIONS_31: &[&str] = &["$schema", "$id", "$comment", "contentMediaType", "contentEncoding"];

fn reject_unsupported(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let mut n = 0;
    let mut err = None;
    walk::schemas(doc, &mut |s, ptr| {
        if let Some(key) = UNSUPPORTED.iter().find(|k| s.contains_key(**k)) {
            err.get_or_insert(RuleError {
                pointer: format!("{ptr}/{key}"),
                message: format!("`{key}` has no OpenAPI 3.0 equivalent; rewrite the schema without it"),
            });
        }
        for key in ANNOTATIONS_31 {
            n += usize::from(s.remove(*key).is_some());
        }
    });
    err.map_or(Ok(n), Err)
}

fn const_to_enum(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let mut n = 0;
    walk::schemas(doc, &mut |s, _| {
        if let Some(v) = s.remove("const") {
            s.insert("enum".into(), Value::Array(vec![v]));
            n += 1;
        }
    });
    Ok(n)
}

fn is_null_schema(v: &Value) -> bool {
    match v.get("type") {
        Some(Value::String(t)) => t == "null",
        Some(Value::Array(ts)) => ts.iter().all(|t| t == "null"),
        _ => v.get("enum").is_some_and(|e| e == &json!([null])),
    }
}

fn null_branch_to_nullable(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let mut n = 0;
    walk::schemas(doc, &mut |s, _| {
        for key in ["anyOf", "oneOf"] {
            let Some(branches) = s.get_mut(key).and_then(Value::as_array_mut) else {
                continue;
            };
            let before = branches.len();
            branches.retain(|b| !is_null_schema(b));
            if branches.len() == before {
                continue;
            }
            n += 1;
            s.insert("nullable".into(), Value::Bool(true));
            let remaining = match s.get(key).and_then(Value::as_array) {
                Some(b) if b.len() == 1 => b.first().cloned(),
                Some(b) if b.is_empty() => None,
                _ => continue,
            };
            s.remove(key);
            match remaining {
                Some(Value::Object(only)) if only.contains_key("$ref") => {
                    s.insert("allOf".into(), Value::Array(vec![Value::Object(only)]));
                }
                Some(Value::Object(only)) => {
                    for (k, v) in only {
                        s.entry(k).or_insert(v);
                    }
                }
                _ => {}
            }
        }
    });
    Ok(n)
}

fn type_array_to_nullable(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let mut n = 0;
    walk::schemas(doc, &mut |s, _| {
        let types: Vec<String> = match s.get("type") {
            Some(Value::Array(ts)) => ts.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect(),
            Some(Value::String(t)) if t == "null" => vec![t.clone()],
            _ => return,
        };
        n += 1;
        s.remove("type");
        let non_null: Vec<&String> = types.iter().filter(|t| *t != "null").collect();
        if non_null.len() < types.len() {
            s.insert("nullable".into(), Value::Bool(true));
        }
        match non_null.as_slice() {
            [] => {}
            [one] => {
                s.insert("type".into(), json!(one));
            }
            many => {
                let branches = many.iter().map(|t| json!({ "type": t })).collect();
                s.insert("anyOf".into(), Value::Array(branches));
            }
        }
    });
    Ok(n)
}

fn examples_to_example(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let mut n = 0;
    walk::schemas(doc, &mut |s, _| {
        if let Some(Value::Array(examples)) = s.get("examples").cloned() {
            s.remove("examples");
            if let Some(first) = examples.into_iter().next() {
                s.entry("example").or_insert(first);
            }
            n += 1;
        }
    });
    Ok(n)
}

fn exclusive_bounds(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let mut n = 0;
    walk::schemas(doc, &mut |s, _| {
        for (exclusive, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
            if let Some(v) = s.get(exclusive).filter(|v| v.is_number()).cloned() {
                s.insert(bound.into(), v);
                s.insert(exclusive.into(), Value::Bool(true));
                n += 1;
            }
        }
    });
    Ok(n)
}

const ANNOTATIONS: &[&str] = &[
    "description",
    "title",
    "example",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "summary",
];

fn ref_siblings(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let mut n = 0;
    walk::schemas(doc, &mut |s, _| {
        if !s.contains_key("$ref") || s.len() == 1 {
            return;
        }
        n += 1;
        let constraints: Map<String, Value> = s
            .iter()
            .filter(|(k, _)| *k != "$ref" && !ANNOTATIONS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let Some(reference) = s.remove("$ref") else { return };
        s.clear();
        if constraints.is_empty() {
            s.insert("$ref".into(), reference);
        } else {
            s.extend(constraints);
            s.insert("allOf".into(), json!([{ "$ref": reference }]));
        }
    });
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::run;

    fn with_schema(schema: Value) -> Value {
        json!({ "openapi": "3.1.0", "components": { "schemas": { "S": schema } } })
    }

    fn schema(doc: &Value) -> &Value {
        &doc["components"]["schemas"]["S"]
    }

    #[test]
    fn set_openapi_30_drops_31_sections() {
        let (doc, n) = run(
            "set-openapi-3.0",
            json!({"openapi": "3.1.0", "webhooks": {}, "jsonSchemaDialect": "x", "info": {"summary": "s", "license": {"name": "MIT", "identifier": "MIT"}}}),
        );
        assert_eq!(doc, json!({"openapi": "3.0.3", "info": {"license": {"name": "MIT"}}}));
        assert_eq!(n, 5);
    }

    #[test]
    fn unsupported_keyword_is_an_error_with_pointer() {
        let doc = with_schema(json!({"type": "array", "prefixItems": [{"type": "string"}]}));
        let err =
            crate::rules::testing::try_run("reject-unsupported-3.1-keywords", doc).expect_err("prefixItems rejected");
        assert_eq!(err.pointer, "/components/schemas/S/prefixItems");
        let (doc, n) = run(
            "reject-unsupported-3.1-keywords",
            with_schema(json!({"type": "string", "$comment": "c"})),
        );
        assert_eq!((schema(&doc), n), (&json!({"type": "string"}), 1));
    }

    #[test]
    fn const_becomes_single_enum() {
        let (doc, n) = run(
            "const-to-enum",
            with_schema(json!({"properties": {"ok": {"const": true}}})),
        );
        assert_eq!(schema(&doc)["properties"]["ok"], json!({"enum": [true]}));
        assert_eq!(n, 1);
    }

    #[test]
    fn null_branch_with_ref_becomes_nullable_allof() {
        let (doc, n) = run(
            "null-branch-to-nullable",
            with_schema(json!({"anyOf": [{"$ref": "#/components/schemas/T"}, {"type": "null"}]})),
        );
        assert_eq!(
            schema(&doc),
            &json!({"nullable": true, "allOf": [{"$ref": "#/components/schemas/T"}]})
        );
        assert_eq!(n, 1);
    }

    #[test]
    fn null_branch_with_inline_schema_is_merged() {
        let (doc, _) = run(
            "null-branch-to-nullable",
            with_schema(json!({"oneOf": [{"type": "string"}, {"type": "null"}]})),
        );
        assert_eq!(schema(&doc), &json!({"nullable": true, "type": "string"}));
    }

    #[test]
    fn type_array_becomes_nullable() {
        let (doc, n) = run(
            "type-array-to-nullable",
            with_schema(json!({"type": ["string", "null"], "format": "date-time"})),
        );
        assert_eq!(
            schema(&doc),
            &json!({"type": "string", "nullable": true, "format": "date-time"})
        );
        assert_eq!(n, 1);
        let (doc, _) = run(
            "type-array-to-nullable",
            with_schema(json!({"type": ["string", "integer"]})),
        );
        assert_eq!(
            schema(&doc),
            &json!({"anyOf": [{"type": "string"}, {"type": "integer"}]})
        );
    }

    #[test]
    fn examples_array_becomes_example() {
        let (doc, n) = run(
            "examples-to-example",
            with_schema(json!({"type": "string", "examples": ["c", "d"]})),
        );
        assert_eq!(schema(&doc), &json!({"type": "string", "example": "c"}));
        assert_eq!(n, 1);
    }

    #[test]
    fn numeric_exclusive_bound_becomes_boolean() {
        let (doc, n) = run(
            "exclusive-bounds-to-boolean",
            with_schema(json!({"type": "integer", "exclusiveMinimum": 0})),
        );
        assert_eq!(
            schema(&doc),
            &json!({"type": "integer", "minimum": 0, "exclusiveMinimum": true})
        );
        assert_eq!(n, 1);
    }

    #[test]
    fn ref_siblings_are_wrapped_or_dropped() {
        let (doc, n) = run(
            "ref-siblings-to-allof",
            with_schema(json!({"properties": {
                "a": {"$ref": "#/components/schemas/T", "description": "d"},
                "b": {"$ref": "#/components/schemas/T", "nullable": true}
            }})),
        );
        assert_eq!(
            schema(&doc)["properties"]["a"],
            json!({"$ref": "#/components/schemas/T"})
        );
        assert_eq!(
            schema(&doc)["properties"]["b"],
            json!({"nullable": true, "allOf": [{"$ref": "#/components/schemas/T"}]})
        );
        assert_eq!(n, 2);
    }
}
