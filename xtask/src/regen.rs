//! `regen`, `regen --check` and `lock`: writing, checking and pinning.

use std::path::Path;

use similar::TextDiff;

use crate::apis::Api;
use crate::error::SpecError;
use crate::generate::{generate, Generated};
use crate::spec::{self, LoadedSpec};

/// The outcome of regenerating one API.
pub struct Outcome {
    /// Which API.
    pub api: &'static Api,
    /// The generated code and report.
    pub generated: Generated,
    /// `None` when the file on disk is identical; otherwise a unified diff (for `--check`).
    pub diff: Option<String>,
}

/// Loads, lock-checks and generates `api`, comparing with what is on disk.
pub fn regen_one(root: &Path, api: &'static Api, lock: &spec::Lock) -> Result<Outcome, SpecError> {
    let loaded: LoadedSpec = spec::load(root, api.spec)?;
    spec::check_lock(lock, api.name, &loaded)?;
    let label = lock.get(api.name).map(|l| l.current.as_str()).unwrap_or_default();
    let generated = generate(api, &loaded, label)?;
    let diff_of = |path: &str, fresh: &str| {
        let current = std::fs::read_to_string(root.join(path)).unwrap_or_default();
        (current != fresh).then(|| {
            TextDiff::from_lines(current.as_str(), fresh)
                .unified_diff()
                .context_radius(3)
                .header(&format!("{path} (checked in)"), &format!("{path} (regenerated)"))
                .to_string()
        })
    };
    let diffs: Vec<String> = [
        diff_of(api.output, &generated.code),
        diff_of(api.contract, &generated.contract),
    ]
    .into_iter()
    .flatten()
    .collect();
    let diff = (!diffs.is_empty()).then(|| diffs.join("\n"));
    Ok(Outcome { api, generated, diff })
}

/// Writes the generated file when it changed.
pub fn write(root: &Path, outcome: &Outcome) -> Result<bool, SpecError> {
    if outcome.diff.is_none() {
        return Ok(false);
    }
    for (path, code) in [
        (outcome.api.output, &outcome.generated.code),
        (outcome.api.contract, &outcome.generated.contract),
    ] {
        if let Some(dir) = root.join(path).parent() {
            std::fs::create_dir_all(dir).map_err(|e| SpecError::new(path, "", format!("cannot create: {e}")))?;
        }
        if std::fs::read_to_string(root.join(path)).ok().as_deref() != Some(code.as_str()) {
            spec::write_atomic(&root.join(path), code.as_bytes())
                .map_err(|e| SpecError::new(path, "", format!("cannot write: {e}")))?;
        }
    }
    Ok(true)
}

/// Pins each API's spec in the lock file when it has no lock entry yet (its label is the
/// document's `info.version`, its crate version the manifest's). A spec whose hash no longer
/// matches is refused: a changed document is accepted with `cargo xtask spec import`, which keeps
/// the old version, diffs and bumps the crate.
pub fn lock(root: &Path, apis: &[&'static Api]) -> Result<Vec<(String, String)>, SpecError> {
    let mut lock = spec::read_lock(root)?;
    let mut pinned = Vec::new();
    for api in apis {
        let loaded = spec::load(root, api.spec)?;
        if let Some(entry) = lock.get(api.name) {
            spec::check_lock(&lock, api.name, &loaded)?;
            pinned.push((api.name.to_owned(), format!("{} (already pinned)", entry.current)));
            continue;
        }
        let label = loaded
            .doc
            .pointer("/info/version")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("initial")
            .to_owned();
        crate::versions::check_label(&label).map_err(|e| SpecError::new(api.spec, "/info/version", e.message))?;
        let manifest = std::fs::read_to_string(root.join(api.manifest))
            .map_err(|e| SpecError::new(api.manifest, "", format!("cannot read: {e}")))?;
        let version = crate::versions::manifest_version(api.manifest, &manifest)?;
        let entry = spec::VersionEntry {
            sha256: loaded.sha256.clone(),
            source: api.spec.to_owned(),
            imported: crate::versions::today(),
            crate_version: version.to_string(),
            previous: None,
        };
        lock.insert(
            api.name.to_owned(),
            spec::ApiLock {
                current: label.clone(),
                versions: [(label.clone(), entry)].into_iter().collect(),
            },
        );
        pinned.push((api.name.to_owned(), format!("{label} = {}", loaded.sha256)));
    }
    spec::write_lock(root, &lock)?;
    Ok(pinned)
}
