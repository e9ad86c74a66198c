//! `cargo xtask spec diff`: what changed between two versions of a spec, classified for a
//! consumer of the *generated Rust client*.
//!
//! Both documents go through the same normalization as `regen` first, so the comparison is made
//! on what progenitor sees (3.0 dialect, parameters inlined, REST operation names). The rules,
//! following Rust's API-evolution rules (RFC 1105) for what progenitor generates:
//!
//! - an operation, parameter, type, field, enum value or response status removed; a parameter
//!   added as required, made required or retyped; a body or response retyped (success or error:
//!   the error type is part of the method's signature); a response status added with a body type
//!   the operation did not return before; a composition change (`allOf`, `additionalProperties`);
//!   auth changed; pagination changed or removed: **breaking**;
//! - a field added to an object type: **breaking**, because progenitor's structs are exhaustive
//!   (a struct literal must name every field), whether the field is optional or not;
//! - a value added to an enum: **breaking**, even to an *open* enum (known values plus
//!   `Other(String)`): typify generates the known values as their own exhaustive enum, and the
//!   value stops arriving as `Other`;
//! - an operation, optional parameter, type, pagination, or a response status reusing a known body
//!   type added: **additive**;
//! - descriptions, examples, `deprecated`, vendor extensions the generator ignores: **internal**
//!   (a patch release);
//! - realtime channels (`x-channels`), for an API with a generated channel module: a join,
//!   message or push removed, or one taking or giving another type: **breaking**; one added
//!   (push enums are non-exhaustive): **additive**; a new topic pattern: **internal**. Their
//!   params, reply and payload types are components, compared like the others. For an API
//!   without channel code every channel change is **internal**.

mod channels;
mod operations;
mod schema;
mod security;

use serde_json::Value;

use crate::apis::ApiEntry;
use crate::error::SpecError;
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
    api: &ApiEntry,
    (old_name, old): (&str, &Value),
    (new_name, new): (&str, &Value),
    crate_version: Option<&Version>,
) -> Result<Report, SpecError> {
    let normalize = |name: &str, doc: &Value| -> Result<Value, SpecError> {
        Ok(crate::pipeline::normalize(name, doc.clone(), &api.options)?.doc)
    };
    let (old_doc, new_doc) = (normalize(old_name, old)?, normalize(new_name, new)?);
    let mut changes = Vec::new();
    operations::compare(&old_doc, &new_doc, &mut changes);
    schema::components(&old_doc, &new_doc, &mut changes);
    channels::compare(&old_doc, &new_doc, api.channels.is_some(), &mut changes);
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

/// A [`Change`].
fn change(kind: &'static str, subject: String, detail: String, impact: Impact, rust: Vec<String>) -> Change {
    Change {
        kind,
        subject,
        detail,
        impact,
        rust,
    }
}
