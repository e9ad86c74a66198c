//! Named, individually tested rewrites applied to a spec before progenitor sees it.
//!
//! A Swagger 2.0 document is first converted to OpenAPI 3.0 ([`swagger2::RULE`], run by
//! [`crate::pipeline`] before validation).
//!
//! Eleven rule sets run in order: [`channels::RULES`] moves realtime channel schemas into
//! components (so every later rule sees them), [`downconvert::RULES`] turns OpenAPI 3.1 constructs into their
//! 3.0 equivalents (only for 3.1 documents), [`repair::RULES`] mends what a document says about
//! itself, [`auth::RULES`] turns vendor auth extensions into `security`, [`normalize::RULES`]
//! works around what progenitor cannot generate or would generate badly, [`open_enum::RULES`]
//! marks open enums to generate flat, [`params::RULES`]
//! reshapes parameters it cannot encode, [`names::RULES`] names operations and keeps typify from
//! giving two types one name, [`collide::RULES`] gives parameters, fields and variants that would
//! share a Rust name names of their own, [`media::RULES`] narrows each operation to one body, success
//! and error type, and [`share::RULES`] gives each repeated inline shape one type. Every rule
//! is general: it looks at the shape of the document, never at
//! particular operation ids. Each reports how many nodes it changed, and the rules that fired are
//! listed in the header of every generated file.

pub mod auth;
pub mod channels;
pub mod collide;
mod defs;
pub mod downconvert;
pub mod media;
pub mod names;
pub mod normalize;
pub mod open_enum;
pub mod params;
pub mod repair;
pub mod share;
pub mod swagger2;
pub mod walk;

use serde_json::Value;

/// Per-API switches for rules that depend on the server or on the vendor's document.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// The server is Phoenix/Plug: arrays and nested objects in the query string must use bracket
    /// keys (`kind[]=a&kind[]=b`), because a repeated plain key keeps only the last value.
    pub plug_query: bool,
    /// The vendor extensions that carry auth, when the document has no standard `security`.
    pub auth_extension: Option<auth::AuthExtension>,
}

/// A rule failed: the document has a construct the rule cannot rewrite.
#[derive(Debug)]
pub struct RuleError {
    /// JSON pointer of the offending node.
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

/// One rewrite with a stable name (used in headers, docs and reports).
pub struct Rule {
    /// Stable kebab-case name.
    pub name: &'static str,
    /// One line saying what the rule does and why.
    pub doc: &'static str,
    /// Applies the rule; returns how many nodes it changed.
    pub apply: fn(&mut Value, &Options) -> Result<usize, RuleError>,
}

/// How often each rule fired on one document.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// `(rule name, count)` in the order the rules ran, including rules that did not fire.
    pub counts: Vec<(&'static str, usize)>,
}

impl Report {
    /// Rules that changed something, as `name×count`.
    pub fn fired(&self) -> Vec<String> {
        self.counts
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(name, n)| format!("{name}×{n}"))
            .collect()
    }
}

/// Runs the down-conversion (for 3.1 documents) and every normalization rule.
pub fn apply_all(doc: &mut Value, options: &Options) -> Result<Report, RuleError> {
    let mut report = Report::default();
    let is_31 = doc
        .get("openapi")
        .and_then(Value::as_str)
        .is_some_and(|v| v.starts_with("3.1"));
    for rule in sets(is_31).into_iter().flatten() {
        let n = (rule.apply)(doc, options).map_err(|e| RuleError {
            pointer: e.pointer,
            message: format!("rule `{}`: {}", rule.name, e.message),
        })?;
        report.counts.push((rule.name, n));
    }
    Ok(report)
}

/// The rule sets in the order they run; the 3.1 down-conversion only for a 3.1 document.
fn sets(is_31: bool) -> [&'static [Rule]; 11] {
    [
        channels::RULES,
        if is_31 { downconvert::RULES } else { &[] },
        repair::RULES,
        auth::RULES,
        normalize::RULES,
        open_enum::RULES,
        params::RULES,
        names::RULES,
        collide::RULES,
        media::RULES,
        share::RULES,
    ]
}

/// Every rule in the order it runs, for docs and reports.
pub fn all() -> impl Iterator<Item = &'static Rule> {
    std::iter::once(&swagger2::RULE).chain(sets(true).into_iter().flatten())
}

/// Shared by the rule modules' unit tests: run one rule by name on a document.
#[cfg(test)]
pub(crate) mod testing {
    use serde_json::{json, Value};

    use super::{all, Options, RuleError};

    /// Runs rule `name` with `options`.
    pub fn try_run_with(name: &str, mut doc: Value, options: &Options) -> Result<(Value, usize), RuleError> {
        let rule = all().find(|r| r.name == name).expect("rule exists");
        let n = (rule.apply)(&mut doc, options)?;
        Ok((doc, n))
    }

    /// Runs rule `name` with default options.
    pub fn try_run(name: &str, doc: Value) -> Result<(Value, usize), RuleError> {
        try_run_with(name, doc, &Options::default())
    }

    /// Runs rule `name` with `options`; it must apply.
    pub fn run_with(name: &str, doc: Value, options: Options) -> (Value, usize) {
        try_run_with(name, doc, &options).unwrap_or_else(|e| panic!("{name} applies: {}", e.message))
    }

    /// Runs rule `name` with default options; it must apply.
    pub fn run(name: &str, doc: Value) -> (Value, usize) {
        run_with(name, doc, Options::default())
    }

    /// A document with one operation.
    pub fn op(path: &str, method: &str, op: Value) -> Value {
        json!({"openapi": "3.0.3", "paths": {path: {method: op}}})
    }
}
