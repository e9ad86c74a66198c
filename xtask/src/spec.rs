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

/// Reads and parses `rel` under `root`, naming the line and column of a JSON syntax error.
pub fn load(root: &Path, rel: &str) -> Result<LoadedSpec, SpecError> {
    let file = root.join(rel);
    let bytes = std::fs::read(&file).map_err(|e| SpecError::new(rel, "", format!("cannot read: {e}")))?;
    let doc: Value = serde_json::from_slice(&bytes).map_err(|e| {
        SpecError::new(
            rel,
            "",
            format!("not valid JSON at line {}, column {}: {e}", e.line(), e.column()),
        )
    })?;
    if !doc.is_object() {
        return Err(SpecError::new(rel, "", "the document is not a JSON object"));
    }
    Ok(LoadedSpec {
        path: rel.to_owned(),
        sha256: sha256_hex(&bytes),
        doc,
    })
}

/// Hex-encoded sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// API name → pinned sha256.
pub type Lock = BTreeMap<String, String>;

/// Reads the lock file (an absent file is an empty lock).
pub fn read_lock(root: &Path) -> Result<Lock, SpecError> {
    let file = root.join(LOCK_FILE);
    match std::fs::read(&file) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| SpecError::new(LOCK_FILE, "", format!("not a JSON object of api → sha256: {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Lock::new()),
        Err(e) => Err(SpecError::new(LOCK_FILE, "", format!("cannot read: {e}"))),
    }
}

/// Writes the lock file.
pub fn write_lock(root: &Path, lock: &Lock) -> Result<(), SpecError> {
    let mut text = serde_json::to_string_pretty(lock).map_err(|e| SpecError::new(LOCK_FILE, "", e.to_string()))?;
    text.push('\n');
    write_atomic(&root.join(LOCK_FILE), text.as_bytes()).map_err(|e| SpecError::new(LOCK_FILE, "", e.to_string()))
}

/// Fails unless `spec`'s hash is the one pinned for `api`.
pub fn check_lock(lock: &Lock, api: &str, spec: &LoadedSpec) -> Result<(), SpecError> {
    match lock.get(api) {
        Some(pinned) if *pinned == spec.sha256 => Ok(()),
        Some(pinned) => Err(SpecError::new(
            &spec.path,
            "",
            format!(
                "sha256 {} does not match the pinned {pinned} in {LOCK_FILE}; if the change is intended, run `cargo xtask lock {api}`",
                spec.sha256
            ),
        )),
        None => Err(SpecError::new(
            &spec.path,
            "",
            format!("no hash pinned in {LOCK_FILE}; run `cargo xtask lock {api}` to pin it"),
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
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
