//! The one way a document becomes what progenitor is given: a Swagger 2.0 document converted to
//! OpenAPI 3.0 (rule `swagger-2-to-openapi-3`), then validated, then every normalization rule.
//! `regen`, `import`, `diff`, `corpus` and `cargo xtask normalize` all go through here, so they
//! cannot disagree about what a document means.

use serde_json::Value;

use crate::error::SpecError;
use crate::rules::{self, Options, Report};

/// A normalized document.
pub struct Normalized {
    /// The document after every rule ran.
    pub doc: Value,
    /// Which rules fired (the conversion from Swagger 2.0 first, when it ran).
    pub report: Report,
    /// Warnings from validation (constructs a rule repairs).
    pub warnings: Vec<SpecError>,
}

/// Converts, validates and normalizes `doc`; `file` names it in errors.
pub fn normalize(file: &str, mut doc: Value, options: &Options) -> Result<Normalized, SpecError> {
    let at = |e: rules::RuleError| SpecError::new(file, e.pointer, e.message);
    let converted = rules::swagger2::upgrade(&mut doc).map_err(at)?;
    let findings = crate::validate::check(file, &doc);
    if let Some(first) = findings.errors.into_iter().next() {
        return Err(first);
    }
    let mut report = rules::apply_all(&mut doc, options).map_err(at)?;
    report.counts.insert(0, (rules::swagger2::RULE.name, converted));
    Ok(Normalized {
        doc,
        report,
        warnings: findings.warnings,
    })
}
