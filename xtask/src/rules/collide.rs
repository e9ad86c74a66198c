//! Names that would collide in Rust: progenitor and typify turn `StartTime`, `StartTime<` and
//! `StartTime>` into one `start_time`, `foo-bar` and `foo_bar` into one field, `a-b` and `a_b` into
//! one variant, and the generated code does not compile (or typify refuses the enum). The rule
//! gives every member of such a group but the plainest a distinct name, written so that the
//! generated item gets it (`StartTimeLt` → `start_time_lt`), and records the name on the wire
//! beside it; the generator puts the wire name back in every string literal
//! ([`crate::generate::wire_names`]), so requests and payloads are unchanged.

use std::collections::{BTreeMap, HashSet};

use heck::{ToSnakeCase, ToUpperCamelCase};
use serde_json::{Map, Value};

use super::walk;
use super::{Options, Rule, RuleError};
use crate::syntax::{progenitor_name, typify_name};

/// On a renamed parameter: its name on the wire.
pub const WIRE_NAME: &str = "x-wire-name";
/// On an object or enum schema: `{written name: name on the wire}` for renamed properties or
/// values.
pub const WIRE_NAMES: &str = "x-wire-names";

/// The collision rules.
pub const RULES: &[Rule] = &[Rule {
    name: "distinct-colliding-names",
    doc: "Gives parameters of one operation, properties of one object and values of one enum that would get the same Rust name distinct ones (`StartTime`, `StartTime<`, `StartTime>` → `start_time`, `start_time_lt`, `start_time_gt`; `foo-bar` beside `foo_bar` → `foo_bar2`), keeping the name on the wire in `x-wire-name`/`x-wire-names`, which the generator writes back into the code: otherwise the generated code does not compile (E0416, E0124) or typify refuses the enum.",
    apply: distinct_colliding_names,
}];

fn distinct_colliding_names(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let mut taken = HashSet::new();
    strings(doc, &mut taken);
    let mut n = 0;
    // Parameters, per operation (path-item parameters are in the operations by now).
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else { continue };
            for method in walk::methods() {
                let Some(params) = item
                    .get_mut(*method)
                    .and_then(|op| op.get_mut("parameters"))
                    .and_then(Value::as_array_mut)
                else {
                    continue;
                };
                n += distinct_parameters(params, &mut taken);
            }
        }
    }
    walk::schemas(doc, &mut |s, _| {
        n += distinct_properties(s, &mut taken);
        n += distinct_values(s, &mut taken);
    });
    Ok(n)
}

/// Renames all but the first parameter of each group with one Rust name; a path parameter keeps
/// its name (the path template spells it).
fn distinct_parameters(params: &mut [Value], taken: &mut HashSet<String>) -> usize {
    let names: Vec<(String, bool)> = params
        .iter()
        .map(|p| {
            let name = p.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
            (name, p.get("in").and_then(Value::as_str) == Some("path"))
        })
        .collect();
    let plan = plan(&names, progenitor_name, Written::Camel, taken);
    for (index, written) in &plan {
        if let Some(param) = params.get_mut(*index).and_then(Value::as_object_mut) {
            if let Some(wire) = param.insert("name".into(), Value::String(written.clone())) {
                param.insert(WIRE_NAME.into(), wire);
            }
        }
    }
    plan.len()
}

fn distinct_properties(s: &mut Map<String, Value>, taken: &mut HashSet<String>) -> usize {
    let Some(props) = s.get("properties").and_then(Value::as_object) else {
        return 0;
    };
    let names: Vec<(String, bool)> = props.keys().map(|k| (k.clone(), false)).collect();
    let plan = plan(&names, progenitor_name, Written::Camel, taken);
    if plan.is_empty() {
        return 0;
    }
    let mut renamed = BTreeMap::new();
    for (index, written) in &plan {
        if let Some((wire, _)) = names.get(*index) {
            renamed.insert(wire.clone(), written.clone());
        }
    }
    if let Some(Value::Object(props)) = s.get_mut("properties") {
        // Rebuilt in order, so the struct's fields keep the document's order.
        let old = std::mem::take(props);
        for (key, value) in old {
            let key = renamed.get(&key).cloned().unwrap_or(key);
            props.insert(key, value);
        }
    }
    if let Some(Value::Array(required)) = s.get_mut("required") {
        for name in required.iter_mut() {
            if let Some(written) = name.as_str().and_then(|n| renamed.get(n)) {
                *name = Value::String(written.clone());
            }
        }
    }
    record(s, &renamed);
    plan.len()
}

fn distinct_values(s: &mut Map<String, Value>, taken: &mut HashSet<String>) -> usize {
    let Some(values) = s.get("enum").and_then(Value::as_array) else {
        return 0;
    };
    // Only string enums become Rust enums with a variant per value.
    let Some(names) = values
        .iter()
        .map(|v| v.as_str().map(|v| (v.to_owned(), false)))
        .collect::<Option<Vec<_>>>()
    else {
        return 0;
    };
    let plan = plan(&names, typify_name, Written::Snake, taken);
    if plan.is_empty() {
        return 0;
    }
    let mut renamed = BTreeMap::new();
    if let Some(Value::Array(values)) = s.get_mut("enum") {
        for (index, written) in &plan {
            if let Some(value) = values.get_mut(*index) {
                if let Some(wire) = value.as_str() {
                    renamed.insert(wire.to_owned(), written.clone());
                }
                *value = Value::String(written.clone());
            }
        }
    }
    record(s, &renamed);
    plan.len()
}

/// Adds `{written: wire}` entries to the schema's `x-wire-names`.
fn record(s: &mut Map<String, Value>, renamed: &BTreeMap<String, String>) {
    let entry = s.entry(WIRE_NAMES).or_insert_with(|| Value::Object(Map::new()));
    if let Some(map) = entry.as_object_mut() {
        for (wire, written) in renamed {
            map.insert(written.clone(), Value::String(wire.clone()));
        }
    }
}

/// How a new name is written so that the generator derives the intended Rust name from it *and*
/// spells the wire name in a literal (a `#[serde(rename)]`, a query key): a field or parameter
/// written in camel case (`StartTimeLt` → `start_time_lt`), a variant in snake case (`a_b2` →
/// `AB2`).
#[derive(Clone, Copy)]
enum Written {
    Camel,
    Snake,
}

/// For each group of `names` with one Rust name (as `rust` derives it), the members to rename
/// (their index) and their new written names. The plainest member keeps its name: a fixed one
/// (a path parameter), else one of letters, digits and `_` only, else the first in sorted order.
/// New names are not used anywhere in the document (`taken`), so a literal holding one can only
/// come from this rename.
fn plan(
    names: &[(String, bool)],
    rust: fn(&str) -> String,
    written: Written,
    taken: &mut HashSet<String>,
) -> Vec<(usize, String)> {
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, (name, _)) in names.iter().enumerate() {
        groups.entry(rust(name)).or_default().push(index);
    }
    let mut used: HashSet<String> = groups.keys().cloned().collect();
    let mut out = Vec::new();
    for (_, mut members) in groups {
        if members.len() < 2 {
            continue;
        }
        members.sort_by_key(|&i| {
            let (name, fixed) = names.get(i).map(|(n, f)| (n.as_str(), *f)).unwrap_or_default();
            let plain = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            (!fixed, !plain, name.to_owned())
        });
        for &index in members.iter().skip(1) {
            let Some((name, fixed)) = names.get(index) else {
                continue;
            };
            if *fixed {
                // Two path parameters with one Rust name: nothing to rename safely.
                continue;
            }
            let base = spelled(name);
            let new = (1u32..)
                .map(|i| if i == 1 { base.clone() } else { format!("{base}{i}") })
                .map(|candidate| match written {
                    Written::Camel => candidate.to_upper_camel_case(),
                    Written::Snake => candidate.to_snake_case(),
                })
                .find(|w| !taken.contains(w) && !used.contains(&rust(w)) && rust(w) != *w);
            if let Some(new) = new {
                used.insert(rust(&new));
                taken.insert(new.clone());
                out.push((index, new));
            }
        }
    }
    out
}

/// A name with its punctuation spelled out (`StartTime<` → `StartTime_lt`), so the new Rust name
/// says which one it is.
fn spelled(name: &str) -> String {
    const WORDS: &[(&str, &str)] = &[
        ("<=", "lte"),
        (">=", "gte"),
        ("!=", "ne"),
        ("<", "lt"),
        (">", "gt"),
        ("=", "eq"),
        ("!", "not"),
        ("~", "like"),
        ("+", "plus"),
        ("*", "star"),
        ("@", "at"),
        ("$", "dollar"),
        ("%", "percent"),
        ("&", "and"),
        ("|", "or"),
        ("#", "hash"),
        ("?", "q"),
        (".", "dot"),
        ("/", "slash"),
        (":", "colon"),
        ("[]", "list"),
    ];
    let mut out = name.to_owned();
    for (symbol, word) in WORDS {
        out = out.replace(symbol, &format!("_{word}_"));
    }
    out
}

/// Every string in the document, keys and values.
fn strings(v: &Value, out: &mut HashSet<String>) {
    match v {
        Value::String(s) => {
            out.insert(s.clone());
        }
        Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Object(map) => {
            for (k, v) in map {
                out.insert(k.clone());
                strings(v, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::rules::testing::run;

    const RULE: &str = "distinct-colliding-names";

    #[test]
    fn parameters_differing_in_punctuation_get_distinct_names_and_keep_their_wire_names() {
        let doc = json!({"openapi": "3.0.3", "paths": {"/events/{id}": {"get": {"parameters": [
            {"name": "StartTime>", "in": "query", "schema": {"type": "string"}},
            {"name": "StartTime", "in": "query", "schema": {"type": "string"}},
            {"name": "StartTime<", "in": "query", "schema": {"type": "string"}},
            {"name": "Id", "in": "query", "schema": {"type": "string"}},
            {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": {"204": {"description": ""}}}}}});
        let (doc, n) = run(RULE, doc);
        let params = &doc["paths"]["/events/{id}"]["get"]["parameters"];
        let names: Vec<(&str, &str)> = params
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                (
                    p["name"].as_str().unwrap_or_default(),
                    p[WIRE_NAME].as_str().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            names,
            vec![
                ("StartTimeGt", "StartTime>"),
                ("StartTime", ""),
                ("StartTimeLt", "StartTime<"),
                ("Id2", "Id"),
                ("id", ""),
            ],
            "the plain one and the path parameter keep their names"
        );
        assert_eq!(n, 3);
        let rust: HashSet<String> = names.iter().map(|(n, _)| progenitor_name(n)).collect();
        assert_eq!(rust.len(), 5, "{rust:?}");
        assert_eq!(run(RULE, doc.clone()), (doc, 0), "a second run changes nothing");
    }

    #[test]
    fn colliding_properties_and_enum_values_are_renamed_with_their_wire_names_recorded() {
        let doc = json!({"openapi": "3.0.3", "paths": {}, "components": {"schemas": {"Event": {
            "type": "object", "required": ["foo-bar"],
            "properties": {"foo-bar": {"type": "string"}, "foo_bar": {"type": "integer"},
                "kind": {"type": "string", "enum": ["a-b", "a_b", "c"]}}}}}});
        let (doc, n) = run(RULE, doc);
        let event = &doc["components"]["schemas"]["Event"];
        let keys: Vec<&String> = event["properties"]
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys, ["FooBar2", "foo_bar", "kind"], "order kept");
        assert_eq!(event["required"], json!(["FooBar2"]));
        assert_eq!(event[WIRE_NAMES], json!({"FooBar2": "foo-bar"}));
        let kind = &event["properties"]["kind"];
        assert_eq!(kind["enum"], json!(["a_b2", "a_b", "c"]));
        assert_eq!(kind[WIRE_NAMES], json!({"a_b2": "a-b"}));
        assert_eq!(typify_name("a_b2"), "AB2");
        assert_eq!(n, 2);
    }

    #[test]
    fn a_new_name_already_in_the_document_is_not_used() {
        // `StartTimeLt` is a real name elsewhere: a literal holding it must stay as it is.
        let doc = json!({"openapi": "3.0.3", "paths": {"/a": {"get": {"parameters": [
            {"name": "StartTime", "in": "query", "schema": {"type": "string"}},
            {"name": "StartTime<", "in": "query", "schema": {"type": "string"}}],
            "responses": {"204": {"description": ""}}}}},
            "components": {"schemas": {"X": {"type": "object", "properties": {"StartTimeLt": {"type": "string"}}}}}});
        let (doc, _) = run(RULE, doc);
        assert_eq!(
            doc["paths"]["/a"]["get"]["parameters"][1]["name"],
            json!("StartTimeLt2")
        );
    }

    #[test]
    fn names_without_collisions_are_left_alone() {
        let doc = json!({"openapi": "3.0.3", "paths": {"/a": {"get": {"parameters": [
            {"name": "page", "in": "query", "schema": {"type": "integer"}}],
            "responses": {"204": {"description": ""}}}}},
            "components": {"schemas": {"X": {"type": "object", "properties": {"a": {"type": "string",
                "enum": ["x", "y", 3]}}}}}});
        assert_eq!(run(RULE, doc.clone()), (doc, 0));
    }
}
