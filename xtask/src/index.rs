//! `cargo xtask specs`: the summary table, and the per-operation index that snapshot tests keep
//! so that a spec change shows up in review as a readable diff.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use crate::apis::{Api, APIS};
use crate::error::SpecError;
use crate::pagination;
use crate::rules::{self, walk};
use crate::spec;

/// A normalized spec with its counts.
pub struct Normalized {
    /// The document after every rule ran.
    pub doc: Value,
    /// Warnings from validation (constructs a rule repairs).
    pub warnings: Vec<SpecError>,
}

/// Loads, validates and normalizes one API's spec.
pub fn normalized(root: &Path, api: &Api) -> Result<Normalized, SpecError> {
    let loaded = spec::load(root, api.spec)?;
    let findings = crate::validate::check(&loaded.path, &loaded.doc);
    if let Some(first) = findings.errors.into_iter().next() {
        return Err(first);
    }
    let mut doc = loaded.doc;
    rules::apply_all(&mut doc, &api.options).map_err(|e| SpecError::new(api.spec, e.pointer, e.message))?;
    Ok(Normalized {
        doc,
        warnings: findings.warnings,
    })
}

/// The summary table for every bundled spec; `false` when any spec has errors.
pub fn summary(root: &Path) -> (String, bool) {
    let mut out = String::new();
    let mut ok = true;
    let _ = writeln!(
        out,
        "{:<10} {:>5} {:>5} {:>7} {:>9} {:>7} {:>9}  {:<36} auth schemes",
        "api", "paths", "ops", "schemas", "paginated", "streams", "contract", "pagination styles"
    );
    let mut problems = String::new();
    for api in APIS {
        match normalized(root, api) {
            Ok(n) => {
                let doc = &n.doc;
                let count = |p: &str| doc.pointer(p).and_then(Value::as_object).map_or(0, |m| m.len());
                let mut styles: BTreeMap<&str, usize> = BTreeMap::new();
                let mut ops = 0;
                let mut scratch = doc.clone();
                walk::operations(&mut scratch, &mut |op, method, _, _| {
                    ops += 1;
                    if let Some(style) = pagination::detect(method, op) {
                        *styles.entry(style.label()).or_default() += 1;
                    }
                });
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
                // Streams: the pagination glue the last regen actually emitted.
                let streams = std::fs::read_to_string(root.join(api.output))
                    .map(|code| code.matches("const BACKWARD: bool").count())
                    .unwrap_or(0);
                // Contract: operations the generated contract test calls (one boxed block each).
                let contract = std::fs::read_to_string(root.join(api.contract))
                    .map(|code| code.matches("Box::pin(async").count())
                    .unwrap_or(0);
                let _ = writeln!(
                    out,
                    "{:<10} {:>5} {:>5} {:>7} {:>9} {:>7} {:>9}  {:<36} {}",
                    api.name,
                    count("/paths"),
                    ops,
                    count("/components/schemas"),
                    paginated,
                    streams,
                    format!("{contract}/{ops}"),
                    styles,
                    schemes
                );
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
    let mut scratch = doc.clone();
    walk::operations(&mut scratch, &mut |op, method, path, _| {
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
    });
    lines.sort();
    lines.join("\n") + "\n"
}
