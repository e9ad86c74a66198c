//! `cargo xtask spec import`: accept a new vendor document in one step that either fully
//! succeeds or leaves the tree byte-for-byte unchanged.
//!
//! Everything that can fail on the document runs first, in memory: parsing (JSON or YAML),
//! validation, normalization, generating the client with progenitor and parsing the generated
//! code, emitting the contract test, and the diff against the current version. Only then are the
//! files written, as one transaction that restores every file (and removes every directory) it
//! touched if any write fails: the new spec at `specs/<api>/openapi.json`, the old one kept at
//! `specs/<api>/versions/<label>/openapi.json`, the lock entry with its provenance, the client
//! crate's version (bumped as the diff requires, with `+spec.<label>` build metadata) in its
//! manifest, in the workspace's dependency on it and in `Cargo.lock`, the stand-in's copy of the
//! spec, the regenerated client and contract test, and the changelog.
//!
//! What CI would then refuse is refused here too, so an import cannot leave the test command red:
//! before anything is written, the `specs` gate's checks of the new client (every operation in
//! the contract test, every paginated operation with a stream); after the writes, `cargo check`
//! of the whole workspace (see [`build`]), and every write is undone when a hand-written item (the
//! facade, an example such as the tour, a test) no longer compiles. `allow_broken` imports anyway
//! and reports them.

pub mod build;

use std::path::Path;

use crate::apis::ApiEntry;
use crate::diff::{self, Impact, Report};
use crate::error::SpecError;
use crate::generate::generate;
use crate::spec::{self, ApiLock, LoadedSpec, VersionEntry, LOCK_FILE};
use crate::versions::{self, Version};
pub use build::{Broken, BuildCheck};

/// The workspace manifest, relative to the root.
const WORKSPACE_MANIFEST: &str = "Cargo.toml";

/// What `import` was asked to do beyond the document itself.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The version label (default: the document's `info.version`).
    pub label: Option<String>,
    /// Where the document came from (default: the file name).
    pub source: Option<String>,
    /// The date recorded (default: today, UTC).
    pub date: Option<String>,
    /// Import even when the `specs` gate refuses the new client or hand-written code no longer
    /// compiles against it (what broke is in [`Imported`]).
    pub allow_broken: bool,
    /// How the workspace's build is checked.
    pub build: BuildCheck,
}

/// What an import did.
#[derive(Debug)]
pub struct Imported {
    /// The new version's label.
    pub label: String,
    /// The diff against the version it replaced.
    pub report: Report,
    /// The client crate's new version.
    pub crate_version: Version,
    /// Every file written, relative to the workspace root.
    pub written: Vec<String>,
    /// What the `specs` gate refuses in the new client (only with `allow_broken`).
    pub gate_errors: Vec<String>,
    /// Hand-written code that no longer compiles (only with `allow_broken`).
    pub broken: Vec<Broken>,
}

/// Imports `file` as the current spec of `api` under `root`.
pub fn import(root: &Path, api: &'static ApiEntry, file: &Path, options: &Options) -> Result<Imported, SpecError> {
    let name = file.display().to_string();
    let bytes = std::fs::read(file).map_err(|e| SpecError::new(&name, "", format!("cannot read: {e}")))?;
    let mut doc = spec::parse_document(&name, &bytes)?;
    // A Swagger 2.0 document is stored converted: the stand-in, the diff and later imports read
    // OpenAPI 3.
    let converted =
        crate::rules::swagger2::upgrade(&mut doc).map_err(|e| SpecError::new(&name, e.pointer, e.message))? > 0;
    // Stored as pretty JSON whatever it came as, so diffs and the stand-in read one format.
    let mut text = serde_json::to_string_pretty(&doc).map_err(|e| SpecError::new(&name, "", e.to_string()))?;
    text.push('\n');
    let sha256 = spec::sha256_hex(text.as_bytes());
    let mut lock = spec::read_lock(root)?;
    let previous = lock.get(api.name).cloned();
    let date = options.date.clone().unwrap_or_else(versions::today);
    let label = match &options.label {
        Some(label) => label.clone(),
        None => default_label(root, api, &name, &doc, previous.as_ref(), &sha256, &date)?,
    };
    versions::check_label(&label).map_err(|e| SpecError::new(&name, "/info/version", e.message))?;
    if let Some(known) = previous.as_ref().and_then(|l| l.versions.get(&label)) {
        let why = if known.sha256 == sha256 {
            "this document is already imported under that label"
        } else {
            "another document is already imported under that label; pass --version <new label>"
        };
        return Err(SpecError::new(
            &name,
            "",
            format!("version {label:?} of {}: {why}", api.name),
        ));
    }

    // Everything that can fail on the document, before anything is written.
    let loaded = LoadedSpec {
        path: api.spec.to_owned(),
        sha256: sha256.clone(),
        doc,
    };
    // Errors name the input file (the generated header names where the spec will live).
    let at_input = |e: SpecError| SpecError::new(&name, e.pointer, e.message);
    let generated = generate(api, &loaded, &label).map_err(at_input)?;
    let gate_errors = generated.gate_errors(api);
    if !gate_errors.is_empty() && !options.allow_broken {
        return Err(SpecError::new(
            &name,
            "",
            format!(
                "the `specs` gate (so the test command) would refuse the new client; nothing was written (--allow-broken imports anyway):\n  {}",
                gate_errors.join("\n  ")
            ),
        ));
    }
    let manifest = read_text(root, api.manifest)?;
    let old_version = versions::manifest_version(api.manifest, &manifest)?;
    // With a lock entry, the current spec must be there and be the locked one: it is what the
    // diff (and so the version bump) is measured against, and what is kept as the old version.
    let current = match &previous {
        None => None,
        Some(l) => {
            let loaded = spec::load(root, api.spec)?;
            spec::check_lock(&lock, api.name, &loaded)?;
            let bytes = std::fs::read(root.join(api.spec))
                .map_err(|e| SpecError::new(api.spec, "", format!("cannot read: {e}")))?;
            Some((l.current.clone(), bytes))
        }
    };
    let report = match &current {
        Some((current_label, bytes)) => {
            let old_doc = spec::parse_document(api.spec, bytes)?;
            diff::diff(
                api,
                (current_label, &old_doc),
                (&label, &loaded.doc),
                Some(&old_version),
            )
            .map_err(at_input)?
        }
        None => diff::diff(api, ("(none)", &serde_json::json!({})), (&label, &loaded.doc), None)?,
    };
    let new_version = match (&current, report.impact) {
        (Some(_), Some(impact)) => old_version.bumped(impact),
        (Some(_), None) => old_version.bumped(Impact::Internal),
        (None, _) => old_version.clone(),
    }
    .with_spec(&label);

    let mut source = options.source.clone().unwrap_or_else(|| name.clone());
    if converted {
        source.push_str(" (Swagger 2.0, converted to OpenAPI 3.0 by rule swagger-2-to-openapi-3)");
    }
    let mut api_lock = previous.clone().unwrap_or_else(|| ApiLock {
        current: label.clone(),
        versions: Default::default(),
    });
    // The version replaced was last shipped as the crate's version now: the base the bump was
    // measured from, and what `spec diff` and its gate measure from later.
    if let Some((current_label, _)) = &current {
        if let Some(entry) = api_lock.versions.get_mut(current_label) {
            entry.crate_version = old_version.to_string();
        }
    }
    api_lock.versions.insert(
        label.clone(),
        VersionEntry {
            sha256,
            source: source.clone(),
            imported: date.clone(),
            crate_version: new_version.to_string(),
            previous: current.as_ref().map(|(l, _)| l.clone()),
        },
    );
    api_lock.current = label.clone();
    lock.insert(api.name.to_owned(), api_lock);

    let mut tx = crate::transaction::Transaction::new(root);
    if let Some((current_label, bytes)) = &current {
        tx.write(&spec::version_path(api.name, current_label), bytes.clone());
    }
    // The stand-in's embedded copy (see `crate::packaging`) moves with the spec.
    tx.write(&crate::packaging::standin_spec(api), text.clone().into_bytes());
    tx.write(api.spec, text.into_bytes());
    tx.write(LOCK_FILE, spec::lock_text(&lock)?.into_bytes());
    tx.write(
        api.manifest,
        versions::set_manifest_version(api.manifest, &manifest, &new_version)?.into_bytes(),
    );
    // The workspace's dependency on the client asks for the new version (cargo refuses a path
    // dependency whose version requirement its crate no longer meets).
    if let Ok(workspace) = std::fs::read_to_string(root.join(WORKSPACE_MANIFEST)) {
        let updated = versions::set_workspace_dependency_version(&workspace, api.package, &new_version)
            .ok_or_else(|| {
                SpecError::new(
                    WORKSPACE_MANIFEST,
                    "",
                    format!(
                        "no `{} = {{ path = \"...\", version = \"...\" }}` line under [workspace.dependencies] to bump; \
                         write the entry on one line (the import changes nothing until it can)",
                        api.package
                    ),
                )
            })?;
        tx.write(WORKSPACE_MANIFEST, updated.into_bytes());
    }
    if let Ok(lockfile) = std::fs::read_to_string(root.join("Cargo.lock")) {
        let updated = versions::set_lockfile_version(&lockfile, api.package, &old_version, &new_version)?;
        tx.write("Cargo.lock", updated.into_bytes());
    }
    for (path, text) in generated.files(api) {
        tx.write(path, text.as_bytes().to_vec());
    }
    let mut changelog = std::fs::read_to_string(root.join(api.changelog))
        .unwrap_or_else(|_| format!("# Changelog of `{}`\n", api.package));
    changelog.push_str(&changelog_section(&report, &new_version, &label, &source, &date));
    tx.write(api.changelog, changelog.into_bytes());
    let committed = tx.commit_undoable()?;
    let outcome = match build::run(root, api, &options.build) {
        Ok(outcome) => outcome,
        Err(e) => {
            let restored = committed.undo();
            return Err(SpecError::new(&name, "", format!("{}; {restored}", e.message)));
        }
    };
    let refusal = if !outcome.generated.is_empty() {
        Some((
            "the generated client does not compile (a generator bug: please report it)",
            &outcome.generated,
        ))
    } else if !outcome.hand_written.is_empty() && !options.allow_broken {
        Some((
            "hand-written code no longer compiles against the new client (--allow-broken imports anyway)",
            &outcome.hand_written,
        ))
    } else {
        None
    };
    if let Some((why, errors)) = refusal {
        let list: Vec<String> = errors.iter().map(Broken::to_string).collect();
        let restored = committed.undo();
        return Err(SpecError::new(
            &name,
            "",
            format!("{why}; {restored}:\n  {}", list.join("\n  ")),
        ));
    }
    Ok(Imported {
        label,
        report,
        crate_version: new_version,
        written: committed.keep(),
        gate_errors,
        broken: outcome.hand_written,
    })
}

/// The label when none is given: the document's `info.version`, unless a version of this API
/// already has that label or that `info.version` (vendors that keep `v1` for years), then
/// `<api>-<info.version>-<date>` as the bundled labels are (`archastro-v1-2026-11-30`; then `.2`,
/// `.3`, ... on the same day).
fn default_label(
    root: &Path,
    api: &ApiEntry,
    file: &str,
    doc: &serde_json::Value,
    lock: Option<&ApiLock>,
    sha256: &str,
    date: &str,
) -> Result<String, SpecError> {
    let version = doc
        .pointer("/info/version")
        .and_then(|v| v.as_str())
        .ok_or_else(|| SpecError::new(file, "/info/version", "no version label: pass --version <label>"))?;
    let version = as_label(version);
    let Some(lock) = lock else {
        return Ok(version);
    };
    // The very same document keeps its label, so importing it twice says so.
    if let Some((label, _)) = lock.versions.iter().find(|(_, v)| v.sha256 == sha256) {
        return Ok(label.clone());
    }
    let repeated = lock.versions.contains_key(&version)
        || lock
            .versions
            .keys()
            .any(|label| info_version(root, &lock.file_of(api, label)).is_some_and(|v| as_label(&v) == version));
    if !repeated {
        return Ok(version);
    }
    let dated = format!("{}-{version}-{date}", api.name);
    let free = std::iter::once(dated.clone())
        .chain((2..1000).map(|i| format!("{dated}.{i}")))
        .find(|l| !lock.versions.contains_key(l));
    free.ok_or_else(|| SpecError::new(file, "/info/version", "no free version label: pass --version <label>"))
}

fn read_text(root: &Path, rel: &str) -> Result<String, SpecError> {
    std::fs::read_to_string(root.join(rel)).map_err(|e| SpecError::new(rel, "", format!("cannot read: {e}")))
}

/// The changelog section for one import.
fn changelog_section(report: &Report, version: &Version, label: &str, source: &str, date: &str) -> String {
    let verdict = report.verdict();
    let mut out = format!(
        "\n## {version} ({date})\n\nSpec `{label}` (from {source}) replaces `{}`: {verdict}.\n\n",
        report.old
    );
    for c in &report.changes {
        out.push_str(&format!(
            "- {} `{}` {}: {}\n",
            c.impact.label(),
            c.kind,
            c.subject,
            c.detail
        ));
    }
    out
}

/// The raw `info.version` of a stored spec, when it can be read.
fn info_version(root: &Path, rel: &str) -> Option<String> {
    let bytes = std::fs::read(root.join(rel)).ok()?;
    let doc = spec::parse_document(rel, &bytes).ok()?;
    doc.pointer("/info/version")?.as_str().map(str::to_owned)
}

/// A label is a directory name and a semver build identifier: anything but letters, digits and
/// `.` becomes `-`.
fn as_label(version: &str) -> String {
    version
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '-' })
        .collect()
}
