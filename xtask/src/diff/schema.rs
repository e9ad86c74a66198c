//! Comparing schemas: component types, and the inline schemas of parameters, bodies and
//! responses. A `$ref` on both sides to the same component is compared once, as that component.

use heck::{ToSnakeCase, ToUpperCamelCase};
use serde_json::{Map, Value};

use super::{change, Change, Impact};

/// Deeper than this, a schema is compared as a whole (cycles and giant inline trees).
const MAX_DEPTH: usize = 12;

/// The Rust type typify generates for component `name`.
fn type_item(name: &str) -> String {
    format!("types::{}", name.to_upper_camel_case())
}

/// Component schemas: added, removed, changed.
pub(super) fn components(old_doc: &Value, new_doc: &Value, out: &mut Vec<Change>) {
    let schemas = |doc: &Value| {
        doc.pointer("/components/schemas")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let (old, new) = (schemas(old_doc), schemas(new_doc));
    for (name, schema) in &old {
        let subject = format!("#/components/schemas/{name}");
        match new.get(name) {
            None => out.push(change(
                "type-removed",
                subject,
                format!("schema `{name}` removed"),
                Impact::Breaking,
                vec![type_item(name)],
            )),
            Some(next) => inline(schema, next, &subject, &type_item(name), false, 0, out),
        }
    }
    for name in new.keys().filter(|n| !old.contains_key(*n)) {
        out.push(change(
            "type-added",
            format!("#/components/schemas/{name}"),
            format!("new schema `{name}`"),
            Impact::Additive,
            vec![type_item(name)],
        ));
    }
}

/// Compares the schemas at one place (a parameter, a body, a response); `rust` names the items
/// that place generates.
pub(super) fn compare(
    _old_doc: &Value,
    _new_doc: &Value,
    old: Option<&Value>,
    new: Option<&Value>,
    subject: &str,
    rust: &[String],
    out: &mut Vec<Change>,
) {
    // `rust` is [the inline type, ..., the operation]: a `$ref` schema has no inline type.
    let inline_both = old.is_some_and(|s| reference(s).is_none()) && new.is_some_and(|s| reference(s).is_none());
    let item = if inline_both { rust.first() } else { rust.last() }
        .cloned()
        .unwrap_or_default();
    match (old, new) {
        (None, None) => {}
        (Some(_), None) | (None, Some(_)) => out.push(change(
            "type-changed",
            subject.to_owned(),
            format!("{} → {}", describe(old), describe(new)),
            Impact::Breaking,
            rust.to_vec(),
        )),
        (Some(a), Some(b)) => inline(a, b, subject, &item, false, 0, out),
    }
}

fn reference(schema: &Value) -> Option<&str> {
    schema.get("$ref")?.as_str()?.rsplit('/').next()
}

fn describe(schema: Option<&Value>) -> String {
    match schema {
        None => "nothing".into(),
        Some(s) => match (reference(s), s.get("type").and_then(Value::as_str)) {
            (Some(r), _) => format!("`{r}`"),
            (None, Some(t)) => t.to_owned(),
            (None, None) => "a composite schema".into(),
        },
    }
}

/// Keys that do not change what progenitor generates: documentation, examples, access hints,
/// and vendor extensions other than the ones the generator reads.
fn is_annotation(key: &str) -> bool {
    const GENERATOR_EXTENSIONS: [&str; 7] = [
        "x-rust-type",
        "x-deep-query",
        "x-multipart",
        "x-dropshot-websocket",
        "x-open-enum",
        "x-structured-header",
        "x-key-prefix",
    ];
    matches!(
        key,
        "description" | "example" | "examples" | "summary" | "externalDocs" | "deprecated" | "readOnly" | "writeOnly"
    ) || (key.starts_with("x-") && !GENERATOR_EXTENSIONS.contains(&key))
}

/// The schema without annotations (text that does not change generated types).
pub(super) fn shape(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !is_annotation(k))
                .map(|(k, v)| (k.clone(), shape(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        other => other.clone(),
    }
}

/// The known values of an open enum, as a closed enum schema to compare (the `open-enum-flat`
/// rule marks them `x-open-enum`).
fn open_enum(schema: &Value) -> Option<Value> {
    let values = schema.get(crate::rules::open_enum::MARK)?;
    Some(serde_json::json!({"type": "string", "enum": values}))
}

fn required_names(schema: &Value) -> Vec<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

fn properties(schema: &Value) -> Map<String, Value> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

#[allow(clippy::too_many_arguments)]
fn inline(old: &Value, new: &Value, subject: &str, item: &str, open: bool, depth: usize, out: &mut Vec<Change>) {
    if shape(old) == shape(new) {
        return;
    }
    let retyped = |out: &mut Vec<Change>, detail: String| {
        out.push(change(
            "type-changed",
            subject.to_owned(),
            detail,
            Impact::Breaking,
            vec![item.to_owned()],
        ));
    };
    match (reference(old), reference(new)) {
        (Some(a), Some(b)) if a == b => return, // compared as the component itself
        (None, None) => {}
        _ => return retyped(out, format!("{} → {}", describe(Some(old)), describe(Some(new)))),
    }
    if depth >= MAX_DEPTH {
        return retyped(out, "the schema changed".into());
    }
    if let (Some(a), Some(b)) = (open_enum(old), open_enum(new)) {
        if old.get("nullable") != new.get("nullable") {
            return retyped(out, "nullability changed (T ↔ Option<T>)".into());
        }
        return inline(&a, &b, subject, item, true, depth + 1, out);
    }
    let field = |k: &str| (old.get(k), new.get(k));
    let (type_a, type_b) = field("type");
    let (null_a, null_b) = field("nullable");
    if type_a != type_b || null_a != null_b || field("format").0 != field("format").1 {
        return retyped(out, format!("{} → {}", describe(Some(old)), describe(Some(new))));
    }
    if let (Some(Value::Array(a)), Some(Value::Array(b))) = field("enum") {
        for value in a.iter().filter(|v| !b.contains(v)) {
            out.push(change(
                "enum-value-removed",
                subject.to_owned(),
                format!("value {value} removed"),
                Impact::Breaking,
                vec![item.to_owned()],
            ));
        }
        for value in b.iter().filter(|v| !a.contains(v)) {
            // An open enum is generated flat and `#[non_exhaustive]`: a new variant breaks no
            // match, but the value now arrives as that variant instead of `Other(..)`.
            let (why, impact) = if open {
                (
                    "open enum: a new variant of a non-exhaustive enum; the value no longer arrives as `Other`",
                    Impact::Additive,
                )
            } else {
                ("closed enum: exhaustive matches must handle it", Impact::Breaking)
            };
            out.push(change(
                "enum-value-added",
                subject.to_owned(),
                format!("value {value} added ({why})"),
                impact,
                vec![item.to_owned()],
            ));
        }
        return;
    }
    if let (Some(a), Some(b)) = (old.get("items"), new.get("items")) {
        return inline(a, b, &format!("{subject}[]"), item, false, depth + 1, out);
    }
    let (props_a, props_b) = (properties(old), properties(new));
    if props_a.is_empty() && props_b.is_empty() {
        return retyped(out, "the schema changed".into());
    }
    let (req_a, req_b) = (required_names(old), required_names(new));
    let field_item = |name: &str| format!("{item}::{}", name.to_snake_case());
    for (name, schema) in &props_a {
        match props_b.get(name) {
            None => out.push(change(
                "field-removed",
                subject.to_owned(),
                format!("field `{name}` removed"),
                Impact::Breaking,
                vec![field_item(name)],
            )),
            Some(next) => {
                let (was, is) = (req_a.contains(&name.as_str()), req_b.contains(&name.as_str()));
                if was != is {
                    out.push(change(
                        if is {
                            "field-made-required"
                        } else {
                            "field-made-optional"
                        },
                        subject.to_owned(),
                        format!(
                            "field `{name}` is now {} (its type changes between T and Option<T>)",
                            if is { "required" } else { "optional" }
                        ),
                        Impact::Breaking,
                        vec![field_item(name)],
                    ));
                }
                inline(
                    schema,
                    next,
                    &format!("{subject}.{name}"),
                    &field_item(name),
                    false,
                    depth + 1,
                    out,
                );
            }
        }
    }
    // `allOf`, `additionalProperties` and the like change the generated struct too.
    let rest = |schema: &Value| match shape(schema) {
        Value::Object(mut map) => {
            map.remove("properties");
            map.remove("required");
            Value::Object(map)
        }
        other => other,
    };
    if rest(old) != rest(new) {
        retyped(
            out,
            "the schema's composition changed (allOf, additionalProperties, ...)".into(),
        );
    }
    for name in props_b.keys().filter(|n| !props_a.contains_key(*n)) {
        let how = if req_b.contains(&name.as_str()) {
            "required"
        } else {
            "optional"
        };
        out.push(change(
            if how == "required" {
                "field-added-required"
            } else {
                "field-added"
            },
            subject.to_owned(),
            format!("new {how} field `{name}` (generated structs are exhaustive: struct literals must add it)"),
            Impact::Breaking,
            vec![field_item(name)],
        ));
    }
}
