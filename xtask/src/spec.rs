//! Loading a spec from disk, its sha256, and the lock file that pins every spec's hash.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::SpecError;

/// The lock file, relative to the workspace root.
pub const LOCK_FILE: &str = "specs/specs.lock.json";

/// A spec as read from disk.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    /// Path relative to the workspace root (as written in headers).
    pub path: String,
    /// Hex sha256 of the file's bytes.
    pub sha256: String,
    /// The parsed document.
    pub doc: Value,
}

/// Reads and parses `rel` under `root` (JSON, or YAML by extension), naming the line and column
/// of a syntax error.
pub fn load(root: &Path, rel: &str) -> Result<LoadedSpec, SpecError> {
    let file = root.join(rel);
    let bytes = std::fs::read(&file).map_err(|e| SpecError::new(rel, "", format!("cannot read: {e}")))?;
    let doc = parse_document(rel, &bytes)?;
    Ok(LoadedSpec {
        path: rel.to_owned(),
        sha256: sha256_hex(&bytes),
        doc,
    })
}

/// Parses a document given as JSON or YAML (by extension: `.yaml`/`.yml` is YAML, anything else
/// JSON), naming the line and column of a syntax error.
pub fn parse_document(name: &str, bytes: &[u8]) -> Result<Value, SpecError> {
    let yaml = name.ends_with(".yaml") || name.ends_with(".yml");
    let doc: Value = if yaml {
        crate::yaml::from_slice(bytes).map_err(|e| {
            let at = e
                .location()
                .map(|l| format!(" at line {}, column {}", l.line(), l.column()))
                .unwrap_or_default();
            SpecError::new(name, "", format!("not valid YAML{at}: {e}"))
        })?
    } else {
        serde_json::from_slice(bytes).map_err(|e| {
            SpecError::new(
                name,
                "",
                format!("not valid JSON at line {}, column {}: {e}", e.line(), e.column()),
            )
        })?
    };
    if !doc.is_object() {
        return Err(SpecError::new(name, "", "the document is not an object"));
    }
    Ok(doc)
}

/// Hex-encoded sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// One version of one API's spec, as the lock records it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VersionEntry {
    /// Hex sha256 of the spec file's bytes.
    pub sha256: String,
    /// Where the document came from (a file name, a URL, "bundled").
    pub source: String,
    /// The day it was accepted (`YYYY-MM-DD`).
    pub imported: String,
    /// The client crate's version while this spec was current.
    pub crate_version: String,
    /// The version it replaced (kept under `specs/<api>/versions/<label>/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
}

/// What the lock knows about one API: the current version label and every version's provenance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ApiLock {
    /// The label of the version at `specs/<api>/openapi.json`.
    pub current: String,
    /// Every version by label: the current one and those kept under `specs/<api>/versions/`.
    pub versions: BTreeMap<String, VersionEntry>,
}

impl ApiLock {
    /// The current version's entry.
    pub fn current_entry(&self) -> Option<&VersionEntry> {
        self.versions.get(&self.current)
    }

    /// Where version `label` of `api` lives: the current spec file, or its kept copy.
    pub fn file_of(&self, api: &crate::apis::ApiEntry, label: &str) -> String {
        if self.current == label {
            api.spec.to_owned()
        } else {
            version_path(api.name, label)
        }
    }
}

/// API name → what is locked for it.
pub type Lock = BTreeMap<String, ApiLock>;

/// Where an older version of `api`'s spec is kept.
pub fn version_path(api: &str, label: &str) -> String {
    format!("specs/{api}/versions/{label}/openapi.json")
}

/// Reads the lock file (an absent file is an empty lock).
pub fn read_lock(root: &Path) -> Result<Lock, SpecError> {
    let file = root.join(LOCK_FILE);
    match std::fs::read(&file) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            SpecError::new(
                LOCK_FILE,
                "",
                format!("not a lock file (api → {{current, versions}}): {e}"),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Lock::new()),
        Err(e) => Err(SpecError::new(LOCK_FILE, "", format!("cannot read: {e}"))),
    }
}

/// The lock file's text.
pub fn lock_text(lock: &Lock) -> Result<String, SpecError> {
    let mut text = serde_json::to_string_pretty(lock).map_err(|e| SpecError::new(LOCK_FILE, "", e.to_string()))?;
    text.push('\n');
    Ok(text)
}

/// Writes the lock file.
pub fn write_lock(root: &Path, lock: &Lock) -> Result<(), SpecError> {
    write_atomic(&root.join(LOCK_FILE), lock_text(lock)?.as_bytes())
        .map_err(|e| SpecError::new(LOCK_FILE, "", e.to_string()))
}

/// Fails unless `spec`'s hash is the one pinned for `api`'s current version.
pub fn check_lock(lock: &Lock, api: &str, spec: &LoadedSpec) -> Result<(), SpecError> {
    match lock.get(api).and_then(ApiLock::current_entry) {
        Some(pinned) if pinned.sha256 == spec.sha256 => Ok(()),
        Some(pinned) => Err(SpecError::new(
            &spec.path,
            "",
            format!(
                "sha256 {} does not match the pinned {} in {LOCK_FILE}; accept a new document with \
                 `cargo xtask spec import {api} <file>`",
                spec.sha256, pinned.sha256
            ),
        )),
        None => Err(SpecError::new(
            &spec.path,
            "",
            format!("no version pinned in {LOCK_FILE}; run `cargo xtask lock {api}` to pin it"),
        )),
    }
}

/// Writes through a temporary file in the same directory and renames, so a failure never
/// leaves a half-written file behind.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    // No temporary file is left behind, whichever step fails (a full disk, a directory in the way).
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
}
