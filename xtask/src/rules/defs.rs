//! `defs-to-components`: JSON Schema `$defs` (OpenAPI 3.1) become component schemas. OpenAPI 3.0
//! and progenitor know only `components.schemas`; documents written by JSON Schema tools keep
//! shared shapes under a schema's `$defs` and point at them there
//! (`#/components/schemas/Run/$defs/Step`), or carry `$defs` nobody references.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::walk;
use super::{Options, RuleError};
use crate::error::escape;

/// One `$defs` entry taken out of the document.
struct Def {
    /// Where it was: `/components/schemas/Run/$defs/Step`.
    pointer: String,
    /// Its key under `$defs`.
    key: String,
    /// The component the `$defs` belonged to (its first segment), for a name that is taken.
    owner: Option<String>,
    schema: Value,
}

/// Hoists every referenced `$defs` entry into `components.schemas` (named by its key, or
/// `<Owner><Key>` when that is taken, then numbered), rewrites the `$ref`s that pointed into it,
/// and drops the entries nothing references. Counts the entries hoisted or dropped.
pub(super) fn defs_to_components(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let mut defs = Vec::new();
    if let Some(root) = doc.as_object_mut().and_then(|r| r.remove("$defs")) {
        take(root, "", None, &mut defs);
    }
    walk::schemas(doc, &mut |s, ptr| {
        if let Some(found) = s.remove("$defs") {
            take(found, ptr, owner(ptr), &mut defs);
        }
    });
    if defs.is_empty() {
        return Ok(0);
    }
    // Live: referenced from the document, or from a live entry.
    let mut live: BTreeSet<usize> = BTreeSet::new();
    let mut queue: Vec<String> = refs(doc);
    while let Some(target) = queue.pop() {
        for (i, def) in defs.iter().enumerate() {
            if points_into(&target, &def.pointer) && live.insert(i) {
                queue.extend(refs(&def.schema));
            }
        }
    }
    let count = defs.len();
    let mut taken: BTreeSet<String> = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let mut renames: BTreeMap<String, String> = BTreeMap::new();
    let mut hoisted = Vec::new();
    for (i, def) in defs.into_iter().enumerate() {
        if !live.contains(&i) {
            continue;
        }
        let name = free_name(&def, &taken);
        taken.insert(name.clone());
        renames.insert(def.pointer.clone(), format!("/components/schemas/{}", escape(&name)));
        hoisted.push((name, def.schema));
    }
    let root = doc.as_object_mut().ok_or_else(|| RuleError {
        pointer: String::new(),
        message: "document is not a JSON object".into(),
    })?;
    let components = root.entry("components").or_insert_with(|| Value::Object(Map::new()));
    let Some(components) = components.as_object_mut() else {
        return Err(RuleError {
            pointer: "/components".into(),
            message: "`components` is not an object".into(),
        });
    };
    let schemas = components.entry("schemas").or_insert_with(|| Value::Object(Map::new()));
    let Some(schemas) = schemas.as_object_mut() else {
        return Err(RuleError {
            pointer: "/components/schemas".into(),
            message: "`components.schemas` is not an object".into(),
        });
    };
    for (name, schema) in hoisted {
        schemas.insert(name, schema);
    }
    rewrite_refs(doc, &renames);
    Ok(count)
}

fn take(found: Value, ptr: &str, owner: Option<String>, out: &mut Vec<Def>) {
    let Value::Object(entries) = found else { return };
    for (key, schema) in entries {
        out.push(Def {
            pointer: format!("{ptr}/$defs/{}", escape(&key)),
            key,
            owner: owner.clone(),
            schema,
        });
    }
}

/// The component a schema pointer lies in (`/components/schemas/Run/...` → `Run`).
fn owner(ptr: &str) -> Option<String> {
    let rest = ptr.strip_prefix("/components/schemas/")?;
    let first = rest.split('/').next()?;
    Some(first.replace("~1", "/").replace("~0", "~"))
}

fn free_name(def: &Def, taken: &BTreeSet<String>) -> String {
    let mut candidates = vec![def.key.clone()];
    if let Some(owner) = &def.owner {
        candidates.push(format!("{owner}{}", upper_first(&def.key)));
    }
    if let Some(free) = candidates.iter().find(|c| !taken.contains(*c)) {
        return free.clone();
    }
    let base = candidates.last().cloned().unwrap_or_default();
    (2..)
        .map(|n| format!("{base}{n}"))
        .find(|c| !taken.contains(c))
        .unwrap_or(base)
}

fn upper_first(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Whether `$ref` target `target` (a pointer without `#`) is `def` or a node inside it.
fn points_into(target: &str, def: &str) -> bool {
    target
        .strip_prefix(def)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Every local `$ref` target (without `#`) under `node`, vendor extensions included: channel
/// schemas are data to OpenAPI but the generator reads them.
fn refs(node: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![node];
    while let Some(node) = stack.pop() {
        match node {
            Value::Object(map) => {
                if let Some(target) = map
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix('#'))
                {
                    out.push(target.to_owned());
                }
                stack.extend(
                    map.iter()
                        .filter(|(k, _)| !matches!(k.as_str(), "example" | "examples"))
                        .map(|(_, v)| v),
                );
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    out
}

fn rewrite_refs(node: &mut Value, renames: &BTreeMap<String, String>) {
    match node {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref") {
                if let Some(target) = r.strip_prefix('#') {
                    let moved = renames
                        .iter()
                        .find(|(from, _)| points_into(target, from))
                        .map(|(from, to)| format!("#{to}{}", &target[from.len()..]));
                    if let Some(moved) = moved {
                        *r = moved;
                    }
                }
            }
            for (key, value) in map.iter_mut() {
                if !matches!(key.as_str(), "example" | "examples") {
                    rewrite_refs(value, renames);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_refs(v, renames)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::try_run as run;
    use serde_json::json;

    #[test]
    fn referenced_defs_become_components_and_unreferenced_ones_go() {
        let doc = json!({"openapi": "3.1.0", "paths": {"/runs": {"get": {"responses": {"200": {"content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Run"}}}}}}}},
            "components": {"schemas": {
                "Step": {"type": "string"},
                "Run": {"type": "object",
                    "properties": {"steps": {"type": "array", "items": {"$ref": "#/components/schemas/Run/$defs/Step"}},
                        "meta": {"$ref": "#/components/schemas/Run/$defs/Meta/properties/owner"}},
                    "$defs": {
                        "Step": {"type": "object", "properties": {"tool": {"$ref": "#/components/schemas/Run/$defs/Tool"}}},
                        "Tool": {"type": "string", "enum": ["search"]},
                        "Meta": {"type": "object", "properties": {"owner": {"type": "string"}}},
                        "Dead": {"type": "object", "properties": {"x": {"$ref": "#/components/schemas/Run/$defs/AlsoDead"}}},
                        "AlsoDead": {"type": "string"}}}}},
            "$defs": {"Orphan": {"type": "string"}}});
        let (doc, n) = run("defs-to-components", doc).expect("applies");
        assert_eq!(n, 6, "three hoisted, three dropped: {doc:#}");
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        let names: Vec<&str> = schemas.keys().map(String::as_str).collect();
        // `Step` is taken by another component, so the hoisted one is named after its owner.
        assert_eq!(names, ["Step", "Run", "RunStep", "Tool", "Meta"]);
        assert_eq!(
            doc["components"]["schemas"]["Run"]["properties"]["steps"]["items"]["$ref"],
            "#/components/schemas/RunStep"
        );
        assert_eq!(
            doc["components"]["schemas"]["Run"]["properties"]["meta"]["$ref"],
            "#/components/schemas/Meta/properties/owner"
        );
        assert_eq!(
            doc["components"]["schemas"]["RunStep"]["properties"]["tool"]["$ref"],
            "#/components/schemas/Tool"
        );
        assert!(doc.get("$defs").is_none() && doc["components"]["schemas"]["Run"].get("$defs").is_none());
    }

    #[test]
    fn a_document_without_defs_is_unchanged() {
        let doc = json!({"openapi": "3.1.0", "paths": {}, "components": {"schemas": {"A": {"type": "string"}}}});
        let (out, n) = run("defs-to-components", doc.clone()).expect("applies");
        assert_eq!((out, n), (doc, 0));
    }
}
