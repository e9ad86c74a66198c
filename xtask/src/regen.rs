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
    let current = std::fs::read_to_string(root.join(api.output)).unwrap_or_default();
    let diff = (current != generated.code).then(|| {
        TextDiff::from_lines(&current, &generated.code)
            .unified_diff()
            .context_radius(3)
            .header(
                &format!("{} (checked in)", api.output),
                &format!("{} (regenerated)", api.output),
            )
            .to_string()
    });
    Ok(Outcome { api, generated, diff })
}

/// Writes the generated file when it changed.
pub fn write(root: &Path, outcome: &Outcome) -> Result<bool, SpecError> {
    if outcome.diff.is_none() {
        return Ok(false);
    }
    spec::write_atomic(&root.join(outcome.api.output), outcome.generated.code.as_bytes())
        .map_err(|e| SpecError::new(outcome.api.output, "", format!("cannot write: {e}")))?;
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
