//! `cargo xtask spec diff --check`: the semver gate. For each API whose current spec replaced an
//! earlier version, the diff between the two must not need a larger crate version bump than the
//! client crate got; and the crate's build metadata must name the current spec version.

use std::path::Path;

use crate::apis::ApiEntry;
use crate::diff::{self, Report};
use crate::error::SpecError;
use crate::spec;
use crate::versions::{self, Version};

/// The gate's finding for one API.
#[derive(Debug)]
pub struct Verdict {
    /// The API.
    pub api: &'static str,
    /// Whether the gate passes.
    pub ok: bool,
    /// One line saying why.
    pub message: String,
    /// The diff the decision rests on, when there is an earlier version.
    pub report: Option<Report>,
}

/// Runs the gate for `apis`.
pub fn check(root: &Path, apis: &[&'static ApiEntry]) -> Result<Vec<Verdict>, SpecError> {
    let lock = spec::read_lock(root)?;
    let mut verdicts = Vec::new();
    for api in apis {
        let Some(api_lock) = lock.get(api.name) else {
            verdicts.push(Verdict {
                api: api.name,
                ok: false,
                message: format!("no lock entry; run `cargo xtask lock {}`", api.name),
                report: None,
            });
            continue;
        };
        let manifest = std::fs::read_to_string(root.join(api.manifest))
            .map_err(|e| SpecError::new(api.manifest, "", format!("cannot read: {e}")))?;
        let version = versions::manifest_version(api.manifest, &manifest)?;
        let expected_build = versions::spec_build(&api_lock.current);
        if version.build.as_deref() != Some(expected_build.as_str()) {
            verdicts.push(Verdict {
                api: api.name,
                ok: false,
                message: format!(
                    "{} is {version}, but its build metadata must name the current spec: +{expected_build}",
                    api.manifest
                ),
                report: None,
            });
            continue;
        }
        let current = api_lock.current_entry().ok_or_else(|| {
            SpecError::new(
                spec::LOCK_FILE,
                "",
                format!("{}: the current version has no entry", api.name),
            )
        })?;
        let Some(previous_label) = &current.previous else {
            verdicts.push(Verdict {
                api: api.name,
                ok: true,
                message: format!("{} {version}: first version, nothing to compare", api.package),
                report: None,
            });
            continue;
        };
        let previous = api_lock.versions.get(previous_label).ok_or_else(|| {
            SpecError::new(
                spec::LOCK_FILE,
                "",
                format!("{}: previous version {previous_label:?} has no entry", api.name),
            )
        })?;
        let old_version = Version::parse(&previous.crate_version).ok_or_else(|| {
            SpecError::new(
                spec::LOCK_FILE,
                "",
                format!("{}: bad crate version {:?}", api.name, previous.crate_version),
            )
        })?;
        let old = spec::load(root, &api_lock.file_of(api, previous_label))?;
        let new = spec::load(root, &api_lock.file_of(api, &api_lock.current))?;
        let report = diff::diff(
            api,
            (previous_label, &old.doc),
            (&api_lock.current, &new.doc),
            Some(&old_version),
        )?;
        let required = report.required_version(&old_version);
        let (ok, message) = match &required {
            Some(required) if version.core() < required.core() => (
                false,
                format!(
                    "{}: the spec change from {previous_label} is {} and needs {} ≥ {}, but it is {version}",
                    api.name,
                    report.impact.map_or("", |i| i.label()),
                    api.package,
                    required.core_string()
                ),
            ),
            _ => (
                true,
                format!(
                    "{} {version}: bump from {old_version} covers the spec change from {previous_label}",
                    api.package
                ),
            ),
        };
        verdicts.push(Verdict {
            api: api.name,
            ok,
            message,
            report: Some(report),
        });
    }
    Ok(verdicts)
}
