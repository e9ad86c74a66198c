//! `cargo xtask specs`: the summary table, and the per-operation index that snapshot tests keep
//! so that a spec change shows up in review as a readable diff.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use crate::apis::{ApiEntry, APIS};
use crate::error::SpecError;
use crate::pagination;
use crate::rules::walk;
use crate::spec;

pub use crate::pipeline::{normalize, Normalized};

/// Loads, validates and normalizes one API's spec.
pub fn normalized(root: &Path, api: &ApiEntry) -> Result<Normalized, SpecError> {
    let loaded = spec::load(root, api.spec)?;
    normalize(&loaded.path, loaded.doc, &api.options)
}

/// The summary table for every bundled spec; `false` when any spec has errors, when its
/// generated files are stale, when its contract test does not cover every operation (or its
/// channel contract test every channel entry), or when a
/// paginated operation has no walkable stream. Each client is generated in memory, so the table
/// counts what the generator produces, not what a file happens to contain.
pub fn summary(root: &Path) -> (String, bool) {
    let mut out = String::new();
    let mut ok = true;
    let _ = writeln!(
        out,
        "{:<10} {:>5} {:>5} {:>7} {:>9} {:>7} {:>9} {:>8} {:>6}  {:<36} auth schemes",
        "api", "paths", "ops", "schemas", "paginated", "streams", "contract", "channels", "fresh", "pagination styles"
    );
    let mut problems = String::new();
    let lock = match spec::read_lock(root) {
        Ok(lock) => lock,
        Err(e) => return (format!("error: {e}\n"), false),
    };
    for api in APIS {
        let result = normalized(root, api).and_then(|n| Ok((n, crate::regen::regen_one(root, api, &lock)?)));
        match result {
            Ok((n, outcome)) => {
                let doc = &n.doc;
                let count = |p: &str| doc.pointer(p).and_then(Value::as_object).map_or(0, |m| m.len());
                let mut styles: BTreeMap<&str, usize> = BTreeMap::new();
                let mut ops = 0;
                for o in walk::each_operation(doc) {
                    ops += 1;
                    if let Some(style) = pagination::detect(o.method, o.op) {
                        *styles.entry(style.label()).or_default() += 1;
                    }
                }
                let paginated: usize = styles.values().sum();
                let styles = styles
                    .iter()
                    .map(|(k, v)| format!("{k}:{v}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                let schemes = doc
                    .pointer("/components/securitySchemes")
                    .and_then(Value::as_object)
                    .map(|m| m.keys().cloned().collect::<Vec<_>>().join(", "))
                    .unwrap_or_default();
                let generated = &outcome.generated;
                let streams = paginated - generated.unwalkable.len();
                let covered = generated.coverage.operations;
                let fresh = outcome.stale.is_empty();
                // Channel entries (joins, messages, pushes) with a generated item and a contract
                // test, of those the spec describes; `-` for an API without channel code.
                let channels = generated.channels.as_ref().map(|c| &c.coverage);
                let _ = writeln!(
                    out,
                    "{:<10} {:>5} {:>5} {:>7} {:>9} {:>7} {:>9} {:>8} {:>6}  {:<36} {}",
                    api.name,
                    count("/paths"),
                    ops,
                    count("/components/schemas"),
                    paginated,
                    streams,
                    format!("{covered}/{ops}"),
                    channels.map_or("-".to_owned(), |c| format!("{}/{}", c.covered, c.entries)),
                    if fresh { "yes" } else { "STALE" },
                    styles,
                    schemes
                );
                if !fresh {
                    ok = false;
                    let _ = writeln!(
                        problems,
                        "error: {}: stale generated files ({}); run `cargo xtask regen {}`",
                        api.name,
                        outcome.stale.join(", "),
                        api.name
                    );
                }
                for error in generated.gate_errors(api) {
                    ok = false;
                    let _ = writeln!(problems, "error: {error}");
                }
                let described = doc
                    .get("x-channels")
                    .and_then(Value::as_array)
                    .is_some_and(|c| !c.is_empty());
                if described && api.channels.is_none() {
                    let _ = writeln!(
                        problems,
                        "warning: {}: the spec describes realtime channels, but the API table names no channel module",
                        api.name
                    );
                }
                for skip in &generated.skipped {
                    let _ = writeln!(problems, "error: {}: operation skipped: {skip}", api.name);
                }
                for w in &n.warnings {
                    let _ = writeln!(problems, "warning: {w}");
                }
            }
            Err(e) => {
                ok = false;
                let _ = writeln!(out, "{:<10} ERROR", api.name);
                let _ = writeln!(problems, "error: {e}");
            }
        }
    }
    out.push_str(&problems);
    (out, ok)
}

fn schema_label(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_owned();
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("array") => format!("[{}]", schema.get("items").map(schema_label).unwrap_or_default()),
        Some(t) => t.to_owned(),
        None if schema.get("allOf").is_some() => "allOf".into(),
        None if schema.get("oneOf").is_some() => "oneOf".into(),
        None if schema.get("anyOf").is_some() => "anyOf".into(),
        None => "any".into(),
    }
}

/// One line per operation: id, method, path, parameters, body and success response shape.
pub fn operation_index(doc: &Value) -> String {
    let mut lines = Vec::new();
    for walk::Operation { op, method, path } in walk::each_operation(doc) {
        let id = op.get("operationId").and_then(Value::as_str).unwrap_or("?");
        let params: Vec<String> = op
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|p| {
                let name = p.get("name").and_then(Value::as_str).unwrap_or("?");
                let location = p.get("in").and_then(Value::as_str).unwrap_or("?");
                let required = if p.get("required").and_then(Value::as_bool).unwrap_or(false) {
                    "!"
                } else {
                    ""
                };
                format!("{location}:{name}{required}")
            })
            .collect();
        let body = op
            .get("requestBody")
            .and_then(|b| b.get("content"))
            .and_then(Value::as_object)
            .and_then(|c| c.iter().next())
            .map(|(mt, m)| format!(" body={mt}:{}", m.get("schema").map(schema_label).unwrap_or_default()))
            .unwrap_or_default();
        let responses: Vec<String> = op
            .get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(code, _)| code.starts_with('2') || code.starts_with('1'))
            .map(|(code, r)| {
                let shape = r
                    .get("content")
                    .and_then(Value::as_object)
                    .and_then(|c| c.values().next())
                    .and_then(|m| m.get("schema"))
                    .map(schema_label)
                    .unwrap_or_else(|| "empty".into());
                format!("{code}:{shape}")
            })
            .collect();
        lines.push(format!(
            "{id} {} {path} ({}){body} -> {}",
            method.to_uppercase(),
            params.join(" "),
            responses.join(" ")
        ));
    }
    lines.sort();
    lines.join("\n") + "\n"
}
