//! When progenitor fails on a whole document, find the smallest piece that fails alone: a
//! component schema (with the schemas it references) and, inside it, the deepest sub-schema; or
//! else an operation. The failure message then carries that piece's JSON pointer.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use super::progenitor::{self, Failure};
use crate::error::escape;
use crate::rules::walk;

const SCHEMAS: &str = "/components/schemas/";

/// The smallest piece of a document on which progenitor fails alone.
#[derive(Debug)]
pub enum Culprit {
    /// A component schema or a node inside one (shared: nothing can be left out).
    Schema {
        /// Its JSON pointer.
        pointer: String,
        /// progenitor's message for it alone.
        message: String,
    },
    /// Operations that each fail alone (with the schemas they reference); every one of them.
    Operations(Vec<(String, String)>),
}

/// The smallest piece of `doc` on which progenitor fails alone: schemas are tried first, because
/// an operation that uses a failing schema fails too.
pub fn culprit(doc: &Value) -> Option<Culprit> {
    schema_culprit(doc)
        .map(|(pointer, message)| Culprit::Schema { pointer, message })
        .or_else(|| {
            Some(Culprit::Operations(failing_operations(doc)))
                .filter(|c| !matches!(c, Culprit::Operations(v) if v.is_empty()))
        })
}

fn fails(doc: &Value) -> Option<String> {
    match progenitor::run(doc) {
        Ok(_) => None,
        Err(Failure::Generator(message)) => Some(message),
        Err(Failure::Invalid { pointer, message }) => Some(format!("{message} (at {pointer})")),
    }
}

fn components(doc: &Value) -> Map<String, Value> {
    doc.pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// `doc` without operations and component schemas: what every probe starts from, copied once.
fn skeleton(doc: &Value) -> Value {
    let mut out = Value::Object(Default::default());
    if let Some(root) = doc.as_object() {
        for (key, value) in root {
            if key != "paths" && key != "components" {
                out[key] = value.clone();
            }
        }
        if let Some(components) = root.get("components").and_then(Value::as_object) {
            out["components"] = Value::Object(
                components
                    .iter()
                    .filter(|(k, _)| *k != "schemas")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            );
        }
    }
    out["paths"] = json!({});
    out
}

/// The name a probed sub-schema stands under as a component.
const PROBE: &str = "XtaskBisectProbe";

/// The skeleton with only the named component schemas (and `probe` as [`PROBE`]).
fn with_schemas(skeleton: &Value, all: &Map<String, Value>, names: &BTreeSet<String>, probe: Option<&Value>) -> Value {
    let mut out = skeleton.clone();
    let kept: Map<String, Value> = names
        .iter()
        .filter_map(|n| Some((n.clone(), all.get(n)?.clone())))
        .collect();
    let mut kept = kept;
    if let Some(probe) = probe {
        kept.insert(PROBE.into(), probe.clone());
    }
    out["components"]["schemas"] = Value::Object(kept);
    out
}

/// Names of the component schemas `value` references, directly.
fn refs(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                out.insert(name.replace("~1", "/").replace("~0", "~"));
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// Every component schema `value` needs: those it references and what they reference in turn.
fn needed(value: &Value, closures: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    let mut direct = BTreeSet::new();
    refs(value, &mut direct);
    direct
        .iter()
        .filter_map(|r| closures.get(r))
        .flatten()
        .cloned()
        .collect()
}

/// Each schema's transitive closure of references (itself included).
fn closures(all: &Map<String, Value>) -> BTreeMap<String, BTreeSet<String>> {
    let direct: BTreeMap<&String, BTreeSet<String>> = all
        .iter()
        .map(|(name, schema)| {
            let mut r = BTreeSet::new();
            refs(schema, &mut r);
            (name, r)
        })
        .collect();
    all.keys()
        .map(|name| {
            let mut seen = BTreeSet::from([name.clone()]);
            let mut todo = vec![name.clone()];
            while let Some(next) = todo.pop() {
                for r in direct.get(&next).into_iter().flatten() {
                    if all.contains_key(r) && seen.insert(r.clone()) {
                        todo.push(r.clone());
                    }
                }
            }
            (name.clone(), seen)
        })
        .collect()
}

fn schema_culprit(doc: &Value) -> Option<(String, String)> {
    let all = components(doc);
    if all.is_empty() {
        return None;
    }
    let skeleton = skeleton(doc);
    let everything: BTreeSet<String> = all.keys().cloned().collect();
    fails(&with_schemas(&skeleton, &all, &everything, None))?;
    let closures = closures(&all);
    let mut order: Vec<(&String, &BTreeSet<String>)> = closures.iter().collect();
    order.sort_by_key(|(name, closure)| (closure.len(), name.as_str()));
    let (name, message) = order
        .into_iter()
        .find_map(|(name, closure)| Some((name.clone(), fails(&with_schemas(&skeleton, &all, closure, None))?)))?;
    let base = format!("{SCHEMAS}{}", escape(&name));
    Some(deepest_in(&skeleton, &all, &closures, &name, &base).unwrap_or((base, message)))
}

/// Inside failing schema `name`, the deepest sub-schema that fails when it stands alone as a
/// component with the schemas it references (which pass alone: their closures are smaller).
fn deepest_in(
    skeleton: &Value,
    all: &Map<String, Value>,
    closures: &BTreeMap<String, BTreeSet<String>>,
    name: &str,
    base: &str,
) -> Option<(String, String)> {
    let mut schema = all.get(name)?.clone();
    let mut found = None;
    walk::walk_schema(&mut schema, base, &mut |sub, ptr| {
        // A bare `$ref` standing alone as a component is no construct of the document's own.
        if found.is_some() || ptr == base || (sub.len() == 1 && sub.contains_key("$ref")) {
            return;
        }
        let sub = Value::Object(sub.clone());
        let names = needed(&sub, closures);
        if names.contains(name) {
            return; // it refers back to the failing schema, so it would fail for that reason
        }
        if let Some(message) = fails(&with_schemas(skeleton, all, &names, Some(&sub))) {
            found = Some((ptr.to_owned(), message));
        }
    });
    found
}

fn failing_operations(doc: &Value) -> Vec<(String, String)> {
    let all = components(doc);
    let closures = &closures(&all);
    let skeleton = skeleton(doc);
    walk::each_operation(doc)
        .filter_map(|o| {
            let op = Value::Object(o.op.clone());
            let names = needed(&op, closures);
            let mut single = with_schemas(&skeleton, &all, &names, None);
            single["paths"] = json!({ o.path: { o.method: op } });
            Some((o.pointer(), fails(&single)?))
        })
        .collect()
}
