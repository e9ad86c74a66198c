//! The build half of import's checks: `cargo check` of the whole workspace (the facade, the
//! examples with the tour, the cross-crate tests) against the newly written client, and which of
//! its errors are in hand-written code.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::apis::ApiEntry;
use crate::error::SpecError;

/// How import checks that the workspace still compiles with the new client.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum BuildCheck {
    /// `cargo check --workspace --all-targets --all-features --keep-going` run with this cargo program.
    Cargo(PathBuf),
    /// No build: for a tree that is not a Cargo workspace.
    Skip,
}

impl Default for BuildCheck {
    /// The cargo that runs the xtask (`$CARGO`), else `cargo` on the `PATH`.
    fn default() -> Self {
        BuildCheck::Cargo(crate::cargo_program())
    }
}

/// One compile error, where the compiler puts it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Broken {
    /// The file, relative to the workspace root, as cargo reports it.
    pub file: String,
    /// The 1-based line.
    pub line: u64,
    /// The compiler's message (`cannot find type `Acl` in module `types``).
    pub message: String,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// What the build said.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Errors in hand-written files: what the import would break.
    pub hand_written: Vec<Broken>,
    /// Errors in generated files: the generator's fault, never imported.
    pub generated: Vec<Broken>,
}

/// At most this many errors are kept of each kind; a vendor rename can break hundreds of lines.
const MAX_ERRORS: usize = 200;

/// Runs the check under `root`. A build that fails with no compile error (a bad manifest, no
/// cargo) is an error of its own, with the end of cargo's output.
pub fn run(root: &Path, api: &ApiEntry, check: &BuildCheck) -> Result<Outcome, SpecError> {
    let BuildCheck::Cargo(cargo) = check else {
        return Ok(Outcome::default());
    };
    let output = std::process::Command::new(cargo)
        .current_dir(root)
        .args([
            "check",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--keep-going",
            "--message-format=json",
        ])
        .output()
        .map_err(|e| SpecError::new("", "", format!("cannot run `{} check`: {e}", cargo.display())))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let outcome = read_messages(&stdout, api);
    if !output.status.success() && outcome.hand_written.is_empty() && outcome.generated.is_empty() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(SpecError::new(
            "",
            "",
            format!(
                "`cargo check` of the workspace failed ({}) without a compile error:\n{}",
                output.status,
                tail.join("\n")
            ),
        ));
    }
    Ok(outcome)
}

/// The compile errors in cargo's JSON messages (one JSON object per line), split into those in
/// generated files (of `api` or any bundled API) and the rest. Lines that are not JSON, and
/// warnings, are ignored.
pub fn read_messages(stdout: &str, api: &ApiEntry) -> Outcome {
    let mut generated = outputs(api);
    generated.extend(crate::apis::APIS.iter().flat_map(outputs));
    let mut out = Outcome::default();
    for line in stdout.lines() {
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if message.get("reason").and_then(Value::as_str) != Some("compiler-message") {
            continue;
        }
        let Some(diagnostic) = message.get("message") else {
            continue;
        };
        if diagnostic.get("level").and_then(Value::as_str) != Some("error") {
            continue;
        }
        let text = diagnostic.get("message").and_then(Value::as_str).unwrap_or_default();
        let primary = diagnostic.get("spans").and_then(Value::as_array).and_then(|spans| {
            spans
                .iter()
                .find(|s| s.get("is_primary").and_then(Value::as_bool) == Some(true))
        });
        let Some(span) = primary else {
            // "aborting due to N previous errors" and the like: no place, nothing to fix there.
            continue;
        };
        let file = span.get("file_name").and_then(Value::as_str).unwrap_or_default();
        let broken = Broken {
            file: file.to_owned(),
            line: span.get("line_start").and_then(Value::as_u64).unwrap_or_default(),
            message: text.to_owned(),
        };
        let list = if generated.iter().any(|g| file.ends_with(g)) {
            &mut out.generated
        } else {
            &mut out.hand_written
        };
        if list.len() < MAX_ERRORS && !list.contains(&broken) {
            list.push(broken);
        }
    }
    out
}

/// Every file the generator writes for `api`.
fn outputs(api: &ApiEntry) -> Vec<&'static str> {
    api.outputs()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(level: &str, file: &str, line: u64, text: &str) -> String {
        serde_json::json!({"reason": "compiler-message", "package_id": "x", "message": {
            "level": level, "message": text, "rendered": text,
            "spans": [{"file_name": file, "line_start": line, "is_primary": true}]}})
        .to_string()
    }

    #[test]
    fn errors_are_split_into_hand_written_and_generated_and_the_rest_ignored() {
        let stdout = [
            "not json".to_owned(),
            message(
                "error",
                "crates/agentapis/src/archastro.rs",
                12,
                "cannot find type `Acl` in module `types`",
            ),
            message(
                "error",
                "crates/agentapis/src/archastro.rs",
                12,
                "cannot find type `Acl` in module `types`",
            ),
            message("warning", "crates/agentapis/src/lib.rs", 3, "unused import"),
            message(
                "error",
                "crates/archastro-client/src/generated.rs",
                9,
                "mismatched types",
            ),
            serde_json::json!({"reason": "compiler-message", "message": {"level": "error",
                "message": "aborting due to 1 previous error", "spans": []}})
            .to_string(),
            serde_json::json!({"reason": "build-finished", "success": false}).to_string(),
        ]
        .join("\n");
        let outcome = read_messages(&stdout, &crate::apis::APIS[0]);
        assert_eq!(
            outcome.hand_written,
            vec![Broken {
                file: "crates/agentapis/src/archastro.rs".into(),
                line: 12,
                message: "cannot find type `Acl` in module `types`".into(),
            }]
        );
        assert_eq!(outcome.generated.len(), 1);
        assert_eq!(
            outcome.hand_written[0].to_string(),
            "crates/agentapis/src/archastro.rs:12: cannot find type `Acl` in module `types`"
        );
    }

    #[test]
    fn a_flood_of_errors_is_capped() {
        let stdout: Vec<String> = (0..1000)
            .map(|i| message("error", "tests/x.rs", i, "no such method"))
            .collect();
        assert_eq!(
            read_messages(&stdout.join("\n"), &crate::apis::APIS[0])
                .hand_written
                .len(),
            MAX_ERRORS
        );
    }

    #[test]
    fn a_missing_cargo_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let check = BuildCheck::Cargo(dir.path().join("no-such-cargo"));
        let api = &crate::apis::APIS[0];
        let err = run(dir.path(), api, &check).expect_err("no cargo");
        assert!(err.message.contains("no-such-cargo"), "{err}");
        assert_eq!(run(dir.path(), api, &BuildCheck::Skip).ok(), Some(Outcome::default()));
    }
}
