//! `cargo xtask release ...`: the checks that make the library crates releasable, each reading
//! what cargo itself reports (`cargo metadata`) rather than a list kept by hand.
//!
//! - [`msrv`]: the declared `rust-version` is true for the lock (no locked dependency asks for
//!   more);
//! - [`package`]: `cargo package --workspace` (every crate built from its tarball) and the size
//!   of each `.crate` against the registry's limit;
//! - [`consumer`]: a crate outside the workspace built from the packaged crates, run against
//!   the stand-in;
//! - [`docs`]: `cargo doc` with each crate's docs.rs settings.

pub mod consumer;
pub mod docs;
pub mod msrv;
pub mod package;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

/// What can go wrong in a release check, with what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReleaseError {
    /// A command failed to start or exited unsuccessfully.
    #[error("`{command}` failed ({status}){}", detail(.stderr))]
    Command {
        /// The command line, for the reader to rerun.
        command: String,
        /// Its exit status, or why it could not start.
        status: String,
        /// The tail of what it printed on stderr.
        stderr: String,
    },
    /// A file or folder could not be read or written.
    #[error("{}: {source}", .path.display())]
    Io {
        /// Which.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `cargo metadata` printed something this code does not understand.
    #[error("cargo metadata: {0}")]
    Metadata(String),
    /// A manifest value is not what a release needs (named, with the fix).
    #[error("{package}: {problem}")]
    Manifest {
        /// The package.
        package: String,
        /// What is wrong and what to do.
        problem: String,
    },
}

fn detail(stderr: &str) -> String {
    if stderr.trim().is_empty() {
        String::new()
    } else {
        format!(":\n{}", stderr.trim_end())
    }
}

impl ReleaseError {
    /// An I/O error at `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}

/// The part of `cargo metadata --format-version 1` the release checks read.
#[derive(Debug, Deserialize)]
pub struct Metadata {
    /// Every package in the resolved graph (workspace members and locked dependencies).
    pub packages: Vec<Package>,
    /// Package ids of the workspace's members.
    pub workspace_members: Vec<String>,
    /// Where cargo builds (honours `CARGO_TARGET_DIR`).
    pub target_directory: PathBuf,
    /// The workspace root.
    pub workspace_root: PathBuf,
}

/// One package as `cargo metadata` describes it.
#[derive(Debug, Clone, Deserialize)]
pub struct Package {
    /// Its name.
    pub name: String,
    /// Its version (build metadata included).
    pub version: String,
    /// Its package id.
    pub id: String,
    /// Its declared minimum Rust, if any.
    pub rust_version: Option<String>,
    /// `None`: publishable to any registry; `Some([])`: `publish = false`.
    pub publish: Option<Vec<String>>,
    /// Its manifest.
    pub manifest_path: PathBuf,
    /// `[package.metadata]`.
    #[serde(default)]
    pub metadata: serde_json::Value,
}

impl Metadata {
    /// Parses `cargo metadata --format-version 1` output.
    pub fn parse(json: &str) -> Result<Self, ReleaseError> {
        serde_json::from_str(json).map_err(|e| ReleaseError::Metadata(e.to_string()))
    }

    /// Runs `cargo metadata` for the workspace at `root` (the whole locked graph).
    pub fn load(root: &Path) -> Result<Self, ReleaseError> {
        let mut cargo = cargo();
        cargo
            .current_dir(root)
            .args(["metadata", "--format-version", "1", "--locked"]);
        let stdout = output(&mut cargo)?;
        Self::parse(&stdout)
    }

    /// The workspace's members, in `cargo metadata`'s order.
    pub fn members(&self) -> impl Iterator<Item = &Package> {
        self.packages.iter().filter(|p| self.workspace_members.contains(&p.id))
    }

    /// The members that are published (no `publish = false`).
    pub fn publishable(&self) -> impl Iterator<Item = &Package> {
        self.members()
            .filter(|p| p.publish.as_ref().is_none_or(|r| !r.is_empty()))
    }

    /// The locked packages that are not members.
    pub fn dependencies(&self) -> impl Iterator<Item = &Package> {
        self.packages.iter().filter(|p| !self.workspace_members.contains(&p.id))
    }
}

pub use crate::cargo;

/// Runs `command` to completion, its output captured; its stdout when it succeeded.
pub fn output(command: &mut Command) -> Result<String, ReleaseError> {
    let line = CommandLine(command).to_string();
    let out = command.output().map_err(|e| ReleaseError::Command {
        command: line.clone(),
        status: format!("could not start: {e}"),
        stderr: String::new(),
    })?;
    if !out.status.success() {
        return Err(ReleaseError::Command {
            command: line,
            status: out.status.to_string(),
            stderr: tail(&String::from_utf8_lossy(&out.stderr), 40),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `command` to completion with its output shown as it goes.
pub fn run(command: &mut Command) -> Result<(), ReleaseError> {
    let line = CommandLine(command).to_string();
    eprintln!("+ {line}");
    let status = command.status().map_err(|e| ReleaseError::Command {
        command: line.clone(),
        status: format!("could not start: {e}"),
        stderr: String::new(),
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(ReleaseError::Command {
            command: line,
            status: status.to_string(),
            stderr: String::new(),
        })
    }
}

/// The last `lines` lines of `text`.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A command as a reader would type it (environment variables it sets first).
struct CommandLine<'a>(&'a Command);

impl fmt::Display for CommandLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (key, value) in self.0.get_envs() {
            if let Some(value) = value {
                write!(f, "{}={:?} ", key.to_string_lossy(), value.to_string_lossy())?;
            }
        }
        write!(f, "{}", self.0.get_program().to_string_lossy())?;
        for arg in self.0.get_args() {
            write!(f, " {}", arg.to_string_lossy())?;
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A `cargo metadata` document with the given members and dependencies:
    /// (name, version, rust-version, publish).
    pub(crate) fn metadata(
        members: &[(&str, &str, Option<&str>, bool)],
        deps: &[(&str, &str, Option<&str>)],
    ) -> Metadata {
        let package = |name: &str, version: &str, rv: Option<&str>, publish: Option<Vec<String>>| {
            serde_json::json!({
                "name": name, "version": version, "id": format!("{name} {version}"),
                "rust_version": rv, "publish": publish,
                "manifest_path": format!("/w/crates/{name}/Cargo.toml"), "metadata": null,
            })
        };
        let mut packages: Vec<serde_json::Value> = members
            .iter()
            .map(|(n, v, rv, publish)| package(n, v, *rv, if *publish { None } else { Some(vec![]) }))
            .collect();
        packages.extend(deps.iter().map(|(n, v, rv)| package(n, v, *rv, None)));
        let doc = serde_json::json!({
            "packages": packages,
            "workspace_members": members.iter().map(|(n, v, _, _)| format!("{n} {v}")).collect::<Vec<_>>(),
            "target_directory": "/w/target",
            "workspace_root": "/w",
        });
        Metadata::parse(&doc.to_string()).expect("fixture parses")
    }

    #[test]
    fn members_publishable_and_dependencies_are_told_apart() {
        let m = metadata(
            &[
                ("lib", "0.1.0", Some("1.88"), true),
                ("xtask", "0.1.0", Some("1.88"), false),
            ],
            &[("serde", "1.0.0", Some("1.61"))],
        );
        let names = |it: &mut dyn Iterator<Item = &Package>| it.map(|p| p.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&mut m.members()), ["lib", "xtask"]);
        assert_eq!(names(&mut m.publishable()), ["lib"]);
        assert_eq!(names(&mut m.dependencies()), ["serde"]);
    }

    #[test]
    fn malformed_metadata_is_an_error_not_a_panic() {
        assert!(matches!(Metadata::parse("{"), Err(ReleaseError::Metadata(_))));
        assert!(matches!(
            Metadata::parse("{\"packages\": 3}"),
            Err(ReleaseError::Metadata(_))
        ));
    }

    #[test]
    fn a_failed_command_names_itself_and_its_stderr() {
        let mut c = Command::new("sh");
        c.args(["-c", "echo oops >&2; exit 3"]).env("X", "1");
        let err = output(&mut c).expect_err("fails");
        let text = err.to_string();
        assert!(text.contains("X=\"1\" sh -c") && text.contains("oops"), "{text}");
    }
}
