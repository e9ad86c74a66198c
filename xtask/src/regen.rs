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
    let generated = generate(api, &loaded)?;
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

/// Pins the current hash of each API's spec in the lock file.
pub fn lock(root: &Path, apis: &[&'static Api]) -> Result<Vec<(String, String)>, SpecError> {
    let mut lock = spec::read_lock(root)?;
    let mut pinned = Vec::new();
    for api in apis {
        let loaded = spec::load(root, api.spec)?;
        lock.insert(api.name.to_owned(), loaded.sha256.clone());
        pinned.push((api.name.to_owned(), loaded.sha256));
    }
    spec::write_lock(root, &lock)?;
    Ok(pinned)
}
