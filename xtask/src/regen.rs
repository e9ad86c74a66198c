//! `regen`, `regen --check` and `lock`: writing, checking and pinning.

use std::path::Path;

use std::time::{Duration, Instant};

use crate::apis::ApiEntry;
use crate::error::SpecError;
use crate::generate::{generate, Generated};
use crate::spec::{self, LoadedSpec};
use crate::transaction::Transaction;

/// The outcome of regenerating one API.
pub struct Outcome {
    /// Which API.
    pub api: &'static ApiEntry,
    /// The generated code and report.
    pub generated: Generated,
    /// The generated files whose checked-in copy differs (compared byte for byte; no diff is
    /// built unless asked for).
    pub stale: Vec<&'static str>,
}

impl Outcome {
    /// The files and what to write to each (the client, its contract test, and for an API with
    /// channels the channel module and its contract test).
    fn files(&self) -> Vec<(&'static str, &str)> {
        self.generated.files(self.api)
    }

    /// A unified diff of every stale file against its checked-in copy (for `--check`).
    pub fn diff(&self, root: &Path) -> String {
        self.files()
            .into_iter()
            .filter(|(path, _)| self.stale.contains(path))
            .map(|(path, fresh)| {
                let current = std::fs::read_to_string(root.join(path)).unwrap_or_default();
                bounded_diff(path, &current, fresh)
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A unified diff whose cost stays linear in practice: the common head and tail are skipped by a
/// plain scan, and the diff of the changed middle gets a deadline (after it, `similar` falls back
/// to a coarser but still correct diff instead of running on).
pub fn bounded_diff(path: &str, old: &str, new: &str) -> String {
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let new_lines: Vec<&str> = new.split_inclusive('\n').collect();
    let head = old_lines.iter().zip(&new_lines).take_while(|(a, b)| a == b).count();
    let tail = old_lines[head..]
        .iter()
        .rev()
        .zip(new_lines[head..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let context = 3;
    let from = head.saturating_sub(context);
    let old_middle: String = old_lines[from..old_lines.len() - tail].concat();
    let new_middle: String = new_lines[from..new_lines.len() - tail].concat();
    let diff = similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Myers)
        .deadline(Instant::now() + Duration::from_secs(2))
        .diff_lines(old_middle.as_str(), new_middle.as_str());
    let body = diff.unified_diff().context_radius(context).to_string();
    // Hunk headers count from the start of the middle; say where the middle starts.
    format!(
        "--- {path} (checked in)\n+++ {path} (regenerated)\n(first difference after line {head}; hunk lines below count from line {})\n{body}",
        from + 1
    )
}

/// Loads, lock-checks and generates `api`, comparing with what is on disk.
pub fn regen_one(root: &Path, api: &'static ApiEntry, lock: &spec::Lock) -> Result<Outcome, SpecError> {
    let loaded: LoadedSpec = spec::load(root, api.spec)?;
    spec::check_lock(lock, api.name, &loaded)?;
    let label = lock.get(api.name).map(|l| l.current.as_str()).unwrap_or_default();
    let generated = generate(api, &loaded, label)?;
    let mut outcome = Outcome {
        api,
        generated,
        stale: Vec::new(),
    };
    outcome.stale = outcome
        .files()
        .into_iter()
        .filter(|(path, fresh)| std::fs::read(root.join(path)).ok().as_deref() != Some(fresh.as_bytes()))
        .map(|(path, _)| path)
        .collect();
    Ok(outcome)
}

impl Outcome {
    /// Queues the stale generated files on `tx`; `false` when nothing was stale.
    pub fn queue(&self, tx: &mut Transaction<'_>) -> bool {
        for (path, code) in self.files() {
            if self.stale.contains(&path) {
                tx.write(path, code.as_bytes().to_vec());
            }
        }
        !self.stale.is_empty()
    }
}

/// A generated file that belongs to no single API (the runtime's `Api` enum, the stand-in's
/// spec table, the packaging files of [`crate::packaging`]), when stale.
pub struct Shared {
    /// Where it goes, relative to the workspace root.
    pub path: String,
    /// What it should contain.
    pub text: String,
}

/// The workspace-wide generated files that differ from what is checked in.
pub fn shared_stale(root: &Path) -> Result<Vec<Shared>, SpecError> {
    let mut facts = Vec::with_capacity(crate::apis::APIS.len());
    for api in crate::apis::APIS {
        let loaded = spec::load(root, api.spec)?;
        facts.push(crate::api_table::SpecFacts::read(&loaded.doc).map_err(|e| SpecError::new(api.spec, "", e))?);
    }
    let files = crate::api_table::sources(crate::apis::APIS, &facts).map_err(|e| {
        SpecError::new(
            crate::api_table::RUNTIME_OUTPUT,
            "",
            format!("the generated API table does not parse: {e}"),
        )
    })?;
    let files = files
        .into_iter()
        .map(|(path, text)| (path.to_owned(), text))
        .chain(crate::packaging::sources(root, crate::apis::APIS)?);
    Ok(files
        .filter(|(path, text)| std::fs::read(root.join(path)).ok().as_deref() != Some(text.as_bytes()))
        .map(|(path, text)| Shared { path, text })
        .collect())
}

/// Writes the stale generated files of every outcome and the shared files, all or none.
pub fn write(root: &Path, outcomes: &[Outcome], shared: &[Shared]) -> Result<(), SpecError> {
    let mut tx = Transaction::new(root);
    for outcome in outcomes {
        outcome.queue(&mut tx);
    }
    for file in shared {
        tx.write(&file.path, file.text.clone().into_bytes());
    }
    tx.commit().map(|_| ())
}

/// Pins each API's spec in the lock file when it has no lock entry yet (its label is the
/// document's `info.version`, its crate version the manifest's), and regenerates its client in
/// the same step: every spec is generated first, and the lock and the generated files are written
/// together or not at all. A spec whose hash no longer matches is refused: a changed document is
/// accepted with `cargo xtask spec import`, which keeps the old version, diffs and bumps the crate.
pub fn lock(root: &Path, apis: &[&'static ApiEntry]) -> Result<Vec<(String, String)>, SpecError> {
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
    // Generate everything against the new lock before writing anything.
    let outcomes = apis
        .iter()
        .map(|api| regen_one(root, api, &lock))
        .collect::<Result<Vec<_>, _>>()?;
    let mut tx = Transaction::new(root);
    tx.write(spec::LOCK_FILE, spec::lock_text(&lock)?.into_bytes());
    for outcome in &outcomes {
        outcome.queue(&mut tx);
    }
    tx.commit()?;
    Ok(pinned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diff_covers_only_the_changed_middle() {
        let old: String = (0..10_000).map(|i| format!("line {i}\n")).collect();
        let new = old.replace("line 5000\n", "line five thousand\n");
        let diff = bounded_diff("f.rs", &old, &new);
        assert!(diff.contains("-line 5000\n+line five thousand\n"), "{diff}");
        assert!(diff.contains("first difference after line 5000"), "{diff}");
        assert!(diff.lines().count() < 20, "{diff}");
        let appended = format!("{old}tail\n");
        assert!(bounded_diff("f.rs", &old, &appended).contains("+tail"));
        assert!(bounded_diff("f.rs", &old, "").contains("-line 0"));
    }
}
