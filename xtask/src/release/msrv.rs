//! `cargo xtask release msrv`: is the workspace's declared `rust-version` true for the lock?
//!
//! Only one toolchain can be installed on the machines this project is built on, so the claim is
//! not checked by building with the old compiler. It is checked from what the lock's packages
//! declare: every member declares the same `rust-version`, and no locked dependency declares a
//! higher one (a dependency that declares more would not build with ours). Our own code's use of
//! newer standard-library items is caught by clippy's `incompatible_msrv` lint, which reads the
//! same `rust-version` (README "Releasing").

use std::fmt;

use super::{Metadata, ReleaseError};

/// A `rust-version` value: `1.88` or `1.88.1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RustVersion {
    major: u64,
    minor: u64,
    patch: u64,
}

impl RustVersion {
    /// Parses `MAJOR.MINOR[.PATCH]`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().split('.').map(|p| p.parse::<u64>().ok());
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(Some(major)), Some(Some(minor)), None, None) => Some(Self { major, minor, patch: 0 }),
            (Some(Some(major)), Some(Some(minor)), Some(Some(patch)), None) => Some(Self { major, minor, patch }),
            _ => None,
        }
    }
}

impl fmt::Display for RustVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.patch {
            0 => write!(f, "{}.{}", self.major, self.minor),
            p => write!(f, "{}.{}.{p}", self.major, self.minor),
        }
    }
}

/// What the check found.
#[derive(Debug)]
pub struct Report {
    /// The members' common `rust-version`.
    pub declared: RustVersion,
    /// The highest `rust-version` a locked dependency declares, and which one.
    pub highest: Option<(String, RustVersion)>,
    /// Locked dependencies that need a newer Rust than declared: `name version (rust-version)`.
    pub too_new: Vec<String>,
    /// READMEs that state another minimum Rust than declared: `path: what it says`.
    pub stale_readmes: Vec<String>,
}

impl Report {
    /// Whether the declaration holds.
    pub fn ok(&self) -> bool {
        self.too_new.is_empty() && self.stale_readmes.is_empty()
    }

    /// What to print.
    pub fn render(&self) -> String {
        let mut out = format!("declared rust-version: {}\n", self.declared);
        if let Some((who, v)) = &self.highest {
            out.push_str(&format!("highest in the lock:   {v} ({who})\n"));
            if *v < self.declared {
                out.push_str(&format!(
                    "note: the lock allows {v}; the declared {} is higher (fine when the workspace's own code needs it)\n",
                    self.declared
                ));
            }
        }
        for line in &self.stale_readmes {
            out.push_str(&format!(
                "FAIL: {line} (the declared rust-version is {})\n",
                self.declared
            ));
        }
        if self.too_new.is_empty() {
            out.push_str("ok: no locked dependency needs a newer Rust\n");
        } else {
            out.push_str(&format!(
                "FAIL: {} locked dependencies need a newer Rust than {} (raise `rust-version` in the workspace's Cargo.toml, or pin older versions in Cargo.lock):\n",
                self.too_new.len(),
                self.declared
            ));
            for line in &self.too_new {
                out.push_str(&format!("  {line}\n"));
            }
        }
        out
    }
}

/// Checks `metadata`'s members and lock.
pub fn check(metadata: &Metadata) -> Result<Report, ReleaseError> {
    let mut declared: Option<RustVersion> = None;
    for member in metadata.members() {
        let value = member.rust_version.as_deref().ok_or_else(|| ReleaseError::Manifest {
            package: member.name.clone(),
            problem: "no rust-version: add `rust-version.workspace = true` to its [package]".into(),
        })?;
        let version = parse(&member.name, value)?;
        match declared {
            Some(d) if d != version => {
                return Err(ReleaseError::Manifest {
                    package: member.name.clone(),
                    problem: format!(
                        "rust-version {version} differs from the other members' {d}: inherit the workspace's"
                    ),
                })
            }
            _ => declared = Some(version),
        }
    }
    let declared = declared.ok_or_else(|| ReleaseError::Metadata("the workspace has no members".into()))?;
    let mut highest: Option<(String, RustVersion)> = None;
    let mut too_new = Vec::new();
    for dep in metadata.dependencies() {
        let Some(value) = dep.rust_version.as_deref() else {
            continue;
        };
        let version = parse(&dep.name, value)?;
        if version > declared {
            too_new.push(format!("{} {} (rust-version {version})", dep.name, dep.version));
        }
        if highest.as_ref().is_none_or(|(_, h)| version > *h) {
            highest = Some((format!("{} {}", dep.name, dep.version), version));
        }
    }
    too_new.sort();
    let mut stale_readmes = Vec::new();
    for member in metadata.members() {
        let Some(readme) = member.manifest_path.parent().map(|dir| dir.join("README.md")) else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(&readme) else {
            continue;
        };
        for stated in stated_minimums(&text) {
            if RustVersion::parse(stated) != Some(declared) {
                stale_readmes.push(format!("{}: \"{MSRV_PHRASE} {stated}\"", readme.display()));
            }
        }
    }
    Ok(Report {
        declared,
        highest,
        too_new,
        stale_readmes,
    })
}

/// How a crate's README states its minimum Rust.
pub const MSRV_PHRASE: &str = "Minimum supported Rust:";

/// The versions a README states after [`MSRV_PHRASE`].
fn stated_minimums(text: &str) -> Vec<&str> {
    text.match_indices(MSRV_PHRASE)
        .map(|(at, _)| {
            let rest = text[at + MSRV_PHRASE.len()..].trim_start();
            let end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            rest[..end].trim_end_matches('.')
        })
        .collect()
}

fn parse(package: &str, value: &str) -> Result<RustVersion, ReleaseError> {
    RustVersion::parse(value).ok_or_else(|| ReleaseError::Manifest {
        package: package.to_owned(),
        problem: format!("rust-version {value:?} is not MAJOR.MINOR[.PATCH]"),
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::metadata;
    use super::*;

    #[test]
    fn versions_parse_and_order_numerically() {
        let v = |s: &str| RustVersion::parse(s).expect(s);
        assert!(v("1.100") > v("1.88"));
        assert_eq!(v("1.88"), v("1.88.0"));
        assert!(v("1.88.1") > v("1.88"));
        assert_eq!(v("1.88.0").to_string(), "1.88");
        for bad in ["", "1", "1.x", "1.88.0.1", "-1.2", "1..2"] {
            assert_eq!(RustVersion::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_dependency_newer_than_declared_fails_the_check() {
        let m = metadata(
            &[("lib", "0.1.0", Some("1.85"), true)],
            &[
                ("old", "1.0.0", Some("1.60")),
                ("icu", "2.0.0", Some("1.88")),
                ("none", "1.0.0", None),
            ],
        );
        let report = check(&m).expect("checks");
        assert!(!report.ok());
        assert_eq!(report.too_new, ["icu 2.0.0 (rust-version 1.88)"]);
        assert!(
            report.render().contains("FAIL: 1 locked dependencies"),
            "{}",
            report.render()
        );
    }

    #[test]
    fn the_lowest_version_the_lock_allows_passes() {
        let m = metadata(
            &[
                ("lib", "0.1.0", Some("1.88"), true),
                ("xtask", "0.1.0", Some("1.88.0"), false),
            ],
            &[("icu", "2.0.0", Some("1.88")), ("old", "1.0.0", Some("1.60"))],
        );
        let report = check(&m).expect("checks");
        assert!(report.ok(), "{}", report.render());
        assert_eq!(report.highest.as_ref().map(|(w, _)| w.as_str()), Some("icu 2.0.0"));
        assert!(!report.render().contains("note:"), "{}", report.render());
    }

    #[test]
    fn readmes_state_the_declared_version() {
        let text = "Each works alone. Minimum supported Rust: 1.88. Licensed...\nMinimum supported Rust: 1.85\n";
        assert_eq!(stated_minimums(text), ["1.88", "1.85"]);
        assert!(stated_minimums("no claim").is_empty());
        // The workspace's own READMEs agree with its manifest.
        let root = crate::workspace_root();
        let metadata = super::super::Metadata::load(&root).expect("cargo metadata");
        let report = check(&metadata).expect("checks");
        assert!(report.stale_readmes.is_empty(), "{}", report.render());
    }

    #[test]
    fn members_must_all_declare_the_same_version() {
        let missing = metadata(&[("lib", "0.1.0", Some("1.88"), true), ("b", "0.1.0", None, true)], &[]);
        assert!(check(&missing)
            .expect_err("missing")
            .to_string()
            .contains("b: no rust-version"));
        let differs = metadata(
            &[("a", "0.1.0", Some("1.88"), true), ("b", "0.1.0", Some("1.85"), true)],
            &[],
        );
        assert!(check(&differs).expect_err("differs").to_string().contains("differs"));
        let garbage = metadata(&[("a", "0.1.0", Some("1.88"), true)], &[("d", "1.0.0", Some("latest"))]);
        assert!(check(&garbage).expect_err("garbage").to_string().contains("\"latest\""));
    }
}
