//! `cargo xtask spec diff`: what changed between two versions of a spec, classified for a
//! consumer of the *generated Rust client*.
//!
//! Both documents go through the same normalization as `regen` first, so the comparison is made
//! on what progenitor sees (3.0 dialect, parameters inlined, REST operation names). The rules,
//! following Rust's API-evolution rules (RFC 1105) for what progenitor generates:
//!
//! - an operation removed, a parameter removed, added as required, made required or retyped,
//!   a success response retyped, a pagination style changed or removed, an auth requirement
//!   changed: **breaking**;
//! - a field added to an object type: **breaking**, because progenitor's structs are exhaustive
//!   (a struct literal must name every field), whether the field is optional or not;
//! - a value added to a *closed* enum: **breaking** (exhaustive `match`); to an *open* enum (known
//!   values plus `Other(String)`): **additive**; a value removed: **breaking**;
//! - an operation, optional parameter, type or pagination added: **additive**;
//! - descriptions, examples and the like: **internal** (a patch release);
//! - realtime channels (`x-channels`): joins, messages and pushes added, removed or changed are
//!   listed, but the generated crate has no channel items yet, so they are **internal** for it.

mod schema;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::apis::Api;
use crate::error::SpecError;
use crate::generate::progenitor_name;
use crate::pagination;
use crate::rules::{self, walk};
pub use crate::versions::Impact;
use crate::versions::Version;

/// One difference between two versions.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    /// What kind of change (`operation-removed`, `parameter-added`, ...).
    pub kind: &'static str,
    /// Where: an operation (`GET /api/v1/agents`), a schema (`#/components/schemas/Agent`), a
    /// channel.
    pub subject: String,
    /// What exactly, in a few words.
    pub detail: String,
    /// What it means for a consumer of the generated client.
    pub impact: Impact,
    /// The Rust items affected.
    pub rust: Vec<String>,
}

/// Everything that changed, with a verdict.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// The API.
    pub api: String,
    /// What the old document is (a version label or a file).
    pub old: String,
    /// What the new document is.
    pub new: String,
    /// The changes, breaking first.
    pub changes: Vec<Change>,
    /// The largest impact (`None` when nothing changed).
    pub impact: Option<Impact>,
    /// The client crate's version before, and the smallest version the change needs.
    pub semver: Option<(String, String)>,
}

impl Report {
    /// The smallest crate version after `from` this diff needs (`None` when nothing changed).
    pub fn required_version(&self, from: &Version) -> Option<Version> {
        self.impact.map(|impact| from.bumped(impact))
    }

    /// One word: `breaking`, `additive`, `internal` or `unchanged`.
    pub fn verdict(&self) -> &'static str {
        match self.impact {
            Some(Impact::Breaking) => "breaking",
            Some(Impact::Additive) => "additive",
            Some(Impact::Internal) => "internal",
            None => "unchanged",
        }
    }

    /// Human-readable report.
    pub fn render(&self) -> String {
        let mut out = format!("{}: {} → {}\n", self.api, self.old, self.new);
        if self.changes.is_empty() {
            out.push_str("no changes\n");
        }
        for c in &self.changes {
            out.push_str(&format!(
                "  {:<9} {:<28} {}: {}\n",
                c.impact.label(),
                c.kind,
                c.subject,
                c.detail
            ));
            if !c.rust.is_empty() {
                out.push_str(&format!("  {:<9} {:<28} affects {}\n", "", "", c.rust.join(", ")));
            }
        }
        let count = |i: Impact| self.changes.iter().filter(|c| c.impact == i).count();
        out.push_str(&format!(
            "summary: {} breaking, {} additive, {} internal\n",
            count(Impact::Breaking),
            count(Impact::Additive),
            count(Impact::Internal)
        ));
        match &self.semver {
            Some((from, to)) => out.push_str(&format!(
                "verdict: {}; the client crate goes from {from} to at least {to}\n",
                self.verdict()
            )),
            None => out.push_str(&format!("verdict: {}\n", self.verdict())),
        }
        out
    }
}

/// Compares `old` and `new` (raw documents) as `api` would generate them. `crate_version` is the
/// client crate's version that went with `old`, for the semver recommendation.
pub fn diff(
    api: &Api,
    (old_name, old): (&str, &Value),
    (new_name, new): (&str, &Value),
    crate_version: Option<&Version>,
) -> Result<Report, SpecError> {
    let normalize = |name: &str, doc: &Value| -> Result<Value, SpecError> {
        let mut doc = doc.clone();
        rules::apply_all(&mut doc, &api.options).map_err(|e| SpecError::new(name, e.pointer, e.message))?;
        Ok(doc)
    };
    let (old_doc, new_doc) = (normalize(old_name, old)?, normalize(new_name, new)?);
    let mut changes = Vec::new();
    operations(&old_doc, &new_doc, &mut changes);
    schema::components(&old_doc, &new_doc, &mut changes);
    channels(&old_doc, &new_doc, &mut changes);
    if changes.is_empty() && old != new {
        changes.push(Change {
            kind: "document-changed",
            subject: "#".into(),
            detail: "descriptions, examples or other text".into(),
            impact: Impact::Internal,
            rust: vec![],
        });
    }
    changes.sort_by(|a, b| b.impact.cmp(&a.impact).then_with(|| a.subject.cmp(&b.subject)));
    let impact = changes.iter().map(|c| c.impact).max();
    let semver = crate_version
        .zip(impact)
        .map(|(v, i)| (v.to_string(), v.bumped(i).to_string()));
    Ok(Report {
        api: api.name.to_owned(),
        old: old_name.to_owned(),
        new: new_name.to_owned(),
        changes,
        impact,
        semver,
    })
}

/// What the diff needs to know about one operation.
struct Operation {
    method: String,
    path: String,
    name: String,
    op: Map<String, Value>,
}

impl Operation {
    fn subject(&self) -> String {
        format!("{} {}", self.method.to_uppercase(), self.path)
    }

    fn items(&self) -> Vec<String> {
        use heck::ToUpperCamelCase;
        vec![
            format!("Client::{}", self.name),
            format!("builder::{}", self.name.to_upper_camel_case()),
        ]
    }

    /// The type progenitor names an inline schema of this operation (`Body`, `Response`).
    fn inline_type(&self, suffix: &str) -> String {
        use heck::ToUpperCamelCase;
        format!("types::{}{suffix}", self.name.to_upper_camel_case())
    }

    fn setter(&self, param: &str) -> String {
        use heck::ToUpperCamelCase;
        format!(
            "builder::{}::{}",
            self.name.to_upper_camel_case(),
            progenitor_name(param.trim_end_matches("[]"))
        )
    }

    /// Parameters by (location, name).
    fn params(&self) -> BTreeMap<(String, String), Value> {
        self.op
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| {
                let location = p.get("in")?.as_str()?.to_owned();
                let name = p.get("name")?.as_str()?.to_owned();
                Some(((location, name), p.clone()))
            })
            .collect()
    }

    fn security(&self, doc: &Value) -> Value {
        self.op
            .get("security")
            .or_else(|| doc.get("security"))
            .cloned()
            .unwrap_or(Value::Null)
    }
}

fn collect_operations(doc: &Value) -> BTreeMap<(String, String), Operation> {
    let mut out = BTreeMap::new();
    let mut scratch = doc.clone();
    walk::operations(&mut scratch, &mut |op, method, path, _| {
        let name = progenitor_name(op.get("operationId").and_then(Value::as_str).unwrap_or_default());
        out.insert(
            (path.to_owned(), method.to_owned()),
            Operation {
                method: method.to_owned(),
                path: path.to_owned(),
                name,
                op: op.clone(),
            },
        );
    });
    out
}

fn change(kind: &'static str, subject: String, detail: String, impact: Impact, rust: Vec<String>) -> Change {
    Change {
        kind,
        subject,
        detail,
        impact,
        rust,
    }
}

fn operations(old_doc: &Value, new_doc: &Value, out: &mut Vec<Change>) {
    let (old, new) = (collect_operations(old_doc), collect_operations(new_doc));
    for (key, op) in &old {
        let Some(next) = new.get(key) else {
            out.push(change(
                "operation-removed",
                op.subject(),
                format!("`{}` is gone", op.name),
                Impact::Breaking,
                op.items(),
            ));
            continue;
        };
        operation(old_doc, new_doc, op, next, out);
    }
    for (key, op) in &new {
        if !old.contains_key(key) {
            out.push(change(
                "operation-added",
                op.subject(),
                format!("new `{}`", op.name),
                Impact::Additive,
                op.items(),
            ));
        }
    }
}

fn required(param: &Value) -> bool {
    param.get("required").and_then(Value::as_bool).unwrap_or(false)
}

fn operation(old_doc: &Value, new_doc: &Value, old: &Operation, new: &Operation, out: &mut Vec<Change>) {
    let subject = new.subject();
    if old.name != new.name {
        out.push(change(
            "operation-renamed",
            subject.clone(),
            format!("`{}` is now `{}`", old.name, new.name),
            Impact::Breaking,
            [old.items(), new.items()].concat(),
        ));
    }
    let (before, after) = (old.params(), new.params());
    for ((location, name), param) in &before {
        match after.get(&(location.clone(), name.clone())) {
            None => out.push(change(
                "parameter-removed",
                subject.clone(),
                format!("{location} parameter `{name}` removed"),
                Impact::Breaking,
                vec![old.setter(name)],
            )),
            Some(next) => {
                if !required(param) && required(next) {
                    out.push(change(
                        "parameter-made-required",
                        subject.clone(),
                        format!("{location} parameter `{name}` is now required"),
                        Impact::Breaking,
                        vec![new.setter(name)],
                    ));
                } else if required(param) && !required(next) {
                    out.push(change(
                        "parameter-made-optional",
                        subject.clone(),
                        format!("{location} parameter `{name}` is now optional"),
                        Impact::Additive,
                        vec![new.setter(name)],
                    ));
                }
                let (a, b) = (param.get("schema"), next.get("schema"));
                schema::compare(
                    old_doc,
                    new_doc,
                    a,
                    b,
                    &format!("{subject} {location} parameter `{name}`"),
                    &[new.setter(name)],
                    out,
                );
            }
        }
    }
    for ((location, name), param) in &after {
        if !before.contains_key(&(location.clone(), name.clone())) {
            let (kind, impact, how) = if required(param) {
                ("parameter-added-required", Impact::Breaking, "required")
            } else {
                ("parameter-added", Impact::Additive, "optional")
            };
            out.push(change(
                kind,
                subject.clone(),
                format!("new {how} {location} parameter `{name}`"),
                impact,
                vec![new.setter(name)],
            ));
        }
    }
    // Request body and success response: compared as schemas.
    let body = |op: &Operation| {
        op.op
            .get("requestBody")
            .and_then(|b| b.get("content"))
            .and_then(Value::as_object)
            .and_then(|c| c.values().next())
            .and_then(|m| m.get("schema"))
            .cloned()
    };
    let (old_body, new_body) = (body(old), body(new));
    match (&old_body, &new_body) {
        (Some(_), None) => out.push(change(
            "request-body-removed",
            subject.clone(),
            "the request body is gone".into(),
            Impact::Breaking,
            new.items(),
        )),
        (None, Some(_)) => out.push(change(
            "request-body-added",
            subject.clone(),
            "a request body is now sent".into(),
            Impact::Breaking,
            new.items(),
        )),
        // An inline body is `types::<Operation>Body`; a `$ref` body is compared as its component.
        _ => schema::compare(
            old_doc,
            new_doc,
            old_body.as_ref(),
            new_body.as_ref(),
            &format!("{subject} request body"),
            &[new.inline_type("Body"), format!("Client::{}", new.name)],
            out,
        ),
    }
    let success = |op: &Operation| {
        let responses = op.op.get("responses")?.as_object()?;
        let (_, response) = responses.iter().find(|(code, _)| code.starts_with('2'))?;
        response
            .get("content")?
            .as_object()?
            .values()
            .next()?
            .get("schema")
            .cloned()
    };
    let (old_ok, new_ok) = (success(old), success(new));
    schema::compare(
        old_doc,
        new_doc,
        old_ok.as_ref(),
        new_ok.as_ref(),
        &format!("{subject} success response"),
        &[new.inline_type("Response"), format!("Client::{}", new.name)],
        out,
    );
    let (old_auth, new_auth) = (old.security(old_doc), new.security(new_doc));
    if old_auth != new_auth {
        out.push(change(
            "auth-changed",
            subject.clone(),
            format!("security {old_auth} → {new_auth}"),
            Impact::Breaking,
            vec![format!("Client::{}", new.name)],
        ));
    }
    let (old_paging, new_paging) = (
        pagination::detect(&old.method, &old.op),
        pagination::detect(&new.method, &new.op),
    );
    let paged = |s: Option<pagination::Style>| s.map_or("none", pagination::Style::label);
    let paging_impact = match (old_paging, new_paging) {
        (a, b) if a == b => None,
        (None, Some(_)) => Some(Impact::Additive),
        _ => Some(Impact::Breaking),
    };
    if let Some(impact) = paging_impact {
        out.push(change(
            "pagination-changed",
            subject,
            format!("paging {} → {}", paged(old_paging), paged(new_paging)),
            impact,
            vec![format!("impl Paginated for builder::{}", {
                use heck::ToUpperCamelCase;
                new.name.to_upper_camel_case()
            })],
        ));
    }
}

/// Realtime channels (`x-channels`): joins, client messages and server pushes by name.
fn channels(old_doc: &Value, new_doc: &Value, out: &mut Vec<Change>) {
    let index = |doc: &Value| -> BTreeMap<String, Value> {
        doc.get("x-channels")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| Some((c.get("name")?.as_str()?.to_owned(), c.clone())))
            .collect()
    };
    let (old, new) = (index(old_doc), index(new_doc));
    let note = "no generated Rust items yet (realtime is not generated)";
    for (name, channel) in &old {
        let Some(next) = new.get(name) else {
            out.push(change(
                "channel-removed",
                format!("channel {name}"),
                format!("removed; {note}"),
                Impact::Internal,
                vec![],
            ));
            continue;
        };
        for part in ["joins", "messages", "pushes"] {
            let names = |c: &Value| -> BTreeMap<String, Value> {
                c.get(part)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|e| {
                        let key = e.get("name").or_else(|| e.get("event"))?.as_str()?.to_owned();
                        Some((key, e.clone()))
                    })
                    .collect()
            };
            let (a, b) = (names(channel), names(next));
            for key in a.keys().filter(|k| !b.contains_key(*k)) {
                out.push(change(
                    "channel-entry-removed",
                    format!("channel {name}"),
                    format!("{part}: `{key}` removed; {note}"),
                    Impact::Internal,
                    vec![],
                ));
            }
            for key in b.keys().filter(|k| !a.contains_key(*k)) {
                out.push(change(
                    "channel-entry-added",
                    format!("channel {name}"),
                    format!("{part}: `{key}` added; {note}"),
                    Impact::Internal,
                    vec![],
                ));
            }
            for (key, entry) in &a {
                if b.get(key).is_some_and(|e| schema::shape(e) != schema::shape(entry)) {
                    out.push(change(
                        "channel-entry-changed",
                        format!("channel {name}"),
                        format!("{part}: `{key}` changed; {note}"),
                        Impact::Internal,
                        vec![],
                    ));
                }
            }
        }
    }
    for name in new.keys().filter(|k| !old.contains_key(*k)) {
        out.push(change(
            "channel-added",
            format!("channel {name}"),
            format!("added; {note}"),
            Impact::Internal,
            vec![],
        ));
    }
}
