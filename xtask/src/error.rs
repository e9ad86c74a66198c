//! The one error type of the xtask: every failure names the file and, where it applies, the JSON
//! pointer of the offending node, so a spec author can jump straight to it.

use std::fmt;
use std::path::PathBuf;

/// A problem with a spec or with generating code from it.
#[derive(Debug)]
pub struct SpecError {
    /// The spec file the problem was found in.
    pub file: PathBuf,
    /// JSON pointer of the offending node (`""` for the document itself).
    pub pointer: String,
    /// What is wrong, in words a spec author can act on.
    pub message: String,
}

impl SpecError {
    /// An error at `pointer` in `file`.
    pub fn new(file: impl Into<PathBuf>, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pointer.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}#{}: {}", self.file.display(), self.pointer, self.message)
        }
    }
}

impl std::error::Error for SpecError {}

/// Escapes one JSON-pointer segment (RFC 6901).
pub fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}
