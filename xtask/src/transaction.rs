//! Writes that all happen or none do: `spec import`, `lock` and `regen` change several files
//! (spec, lock, generated code, manifest, changelog), and a failure halfway must not leave a tree
//! where the spec moved on and the generated code did not.

use std::path::{Path, PathBuf};

use crate::error::SpecError;
use crate::spec;

/// Writes that all happen or none do.
pub struct Transaction<'a> {
    root: &'a Path,
    writes: Vec<(String, Vec<u8>)>,
}

impl<'a> Transaction<'a> {
    /// No writes yet, under `root`.
    pub fn new(root: &'a Path) -> Self {
        Self {
            root,
            writes: Vec::new(),
        }
    }

    /// Queues `bytes` for `rel` (relative to the root).
    pub fn write(&mut self, rel: &str, bytes: Vec<u8>) {
        self.writes.push((rel.to_owned(), bytes));
    }

    /// Writes everything; on the first failure, restores what was written and removes the
    /// directories it created. Every original is read before the first write, so a file that
    /// cannot be read stops the import before anything changes.
    pub fn commit(self) -> Result<Vec<String>, SpecError> {
        self.commit_undoable().map(Committed::keep)
    }

    /// As [`commit`](Self::commit), keeping the originals so that checks of the written tree
    /// (a build) can still undo every write.
    pub fn commit_undoable(self) -> Result<Committed, SpecError> {
        let mut originals = Vec::with_capacity(self.writes.len());
        for (rel, _) in &self.writes {
            match std::fs::read(self.root.join(rel)) {
                Ok(bytes) => originals.push(Some(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => originals.push(None),
                Err(e) => return Err(SpecError::new(rel, "", format!("cannot read before replacing it: {e}"))),
            }
        }
        let mut done: Vec<(PathBuf, Option<Vec<u8>>)> = Vec::new();
        let mut created: Vec<PathBuf> = Vec::new();
        for ((rel, bytes), original) in self.writes.iter().zip(originals) {
            let path = self.root.join(rel);
            let mut missing = Vec::new();
            let mut dir = path.parent();
            while let Some(d) = dir.filter(|d| !d.exists()) {
                missing.push(d.to_path_buf());
                dir = d.parent();
            }
            if let Err(e) = spec::write_atomic(&path, bytes) {
                created.extend(missing.into_iter().rev());
                let unrestored = rollback(&done, &created);
                return Err(SpecError::new(
                    rel,
                    "",
                    format!("cannot write ({e}); {}", outcome(&unrestored)),
                ));
            }
            created.extend(missing.into_iter().rev());
            done.push((path, original));
        }
        Ok(Committed {
            written: self.writes.into_iter().map(|(rel, _)| rel).collect(),
            done,
            created,
        })
    }
}

/// Writes made, still undoable.
#[must_use = "keep() or undo() it"]
pub struct Committed {
    written: Vec<String>,
    done: Vec<(PathBuf, Option<Vec<u8>>)>,
    created: Vec<PathBuf>,
}

impl Committed {
    /// Keeps the writes; returns the files written, relative to the root.
    pub fn keep(self) -> Vec<String> {
        self.written
    }

    /// Puts every file back as it was and removes the directories created. The message says
    /// whether that worked, to append to the reason for undoing.
    pub fn undo(self) -> String {
        outcome(&rollback(&self.done, &self.created))
    }
}

fn outcome(unrestored: &[String]) -> String {
    if unrestored.is_empty() {
        "every file written so far was restored".to_owned()
    } else {
        format!("these could NOT be restored, check them: {}", unrestored.join(", "))
    }
}

/// Puts back every file written and removes the directories created; returns what it could not.
fn rollback(done: &[(PathBuf, Option<Vec<u8>>)], created: &[PathBuf]) -> Vec<String> {
    let mut failed = Vec::new();
    for (path, original) in done.iter().rev() {
        let restored = match original {
            Some(bytes) => spec::write_atomic(path, bytes),
            None => std::fs::remove_file(path),
        };
        if restored.is_err() {
            failed.push(path.display().to_string());
        }
    }
    for dir in created.iter().rev() {
        if std::fs::remove_dir(dir).is_err() {
            failed.push(dir.display().to_string());
        }
    }
    failed
}
