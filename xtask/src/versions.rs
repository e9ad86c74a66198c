//! Crate versions that carry the spec version: reading and writing a client crate's version,
//! the semver bump a spec change requires, version labels, and today's date.

use std::fmt;

use crate::error::SpecError;

/// A crate version `MAJOR.MINOR.PATCH`, with optional build metadata (ignored when comparing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Major.
    pub major: u64,
    /// Minor.
    pub minor: u64,
    /// Patch.
    pub patch: u64,
    /// Build metadata after `+` (e.g. `spec.archastro-v1-2026-11-23`).
    pub build: Option<String>,
}

impl Version {
    /// Parses `1.2.3` or `1.2.3+meta` (no pre-release tags: the workspace uses none).
    pub fn parse(text: &str) -> Option<Self> {
        let (core, build) = match text.trim().split_once('+') {
            Some((core, build)) => (core, Some(build.to_owned())),
            None => (text.trim(), None),
        };
        let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
        let (Some(Some(major)), Some(Some(minor)), Some(Some(patch)), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        Some(Self {
            major,
            minor,
            patch,
            build,
        })
    }

    /// `MAJOR.MINOR.PATCH` without build metadata.
    pub fn core_string(&self) -> String {
        format!("{}.{}.{}", self.major, self.minor, self.patch)
    }

    /// The same version without build metadata.
    pub fn core(&self) -> (u64, u64, u64) {
        (self.major, self.minor, self.patch)
    }

    /// The smallest version after `self` that a change of `impact` needs (Cargo's reading of
    /// semver: below 1.0 the minor version is the breaking one).
    pub fn bumped(&self, impact: Impact) -> Version {
        let (major, minor, patch) = match (impact, self.major) {
            // Cargo treats every 0.0.z as incompatible with every other.
            (_, 0) if self.minor == 0 => (0, 0, self.patch + 1),
            (Impact::Breaking, 0) => (0, self.minor + 1, 0),
            (Impact::Breaking, m) => (m + 1, 0, 0),
            (Impact::Additive, 0) => (0, self.minor, self.patch + 1),
            (Impact::Additive, m) => (m, self.minor + 1, 0),
            (Impact::Internal, m) => (m, self.minor, self.patch + 1),
        };
        Version {
            major,
            minor,
            patch,
            build: None,
        }
    }

    /// This version with build metadata `spec.<label>` (a label that passed [`check_label`] is a
    /// valid build identifier).
    pub fn with_spec(&self, label: &str) -> Version {
        Version {
            build: Some(spec_build(label)),
            ..self.clone()
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if let Some(build) = &self.build {
            write!(f, "+{build}")?;
        }
        Ok(())
    }
}

/// The build metadata that names spec version `label`: `spec.<label>`.
pub fn spec_build(label: &str) -> String {
    format!("spec.{label}")
}

/// What a spec change means for a consumer of the generated client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Impact {
    /// No change to the Rust API (docs, examples): a patch release.
    Internal,
    /// Something new that existing code does not notice.
    Additive,
    /// Existing code may stop compiling or behave differently.
    Breaking,
}

impl Impact {
    /// Upper-case label for reports.
    pub fn label(self) -> &'static str {
        match self {
            Impact::Internal => "internal",
            Impact::Additive => "additive",
            Impact::Breaking => "BREAKING",
        }
    }
}

/// A version label is a directory name under `specs/<api>/versions/` and a semver build
/// identifier (`+spec.<label>`): letters, digits and `-`, in dot-separated parts, none empty.
pub fn check_label(label: &str) -> Result<(), SpecError> {
    let ok = !label.is_empty()
        && label.len() <= 80
        && label
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if ok {
        Ok(())
    } else {
        Err(SpecError::new(
            "",
            "",
            format!(
                "version label {label:?} must be 1 to 80 letters, digits and '-', in '.'-separated parts (no empty part)"
            ),
        ))
    }
}

/// Today's date (UTC) as `YYYY-MM-DD`.
pub fn today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0);
    civil_date(days)
}

/// Days since 1970-01-01 → `YYYY-MM-DD` (Howard Hinnant's civil-from-days).
fn civil_date(days: u64) -> String {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The `version = "…"` of a crate manifest's `[package]`.
pub fn manifest_version(manifest_path: &str, text: &str) -> Result<Version, SpecError> {
    package_version_line(text)
        .and_then(|(_, value)| Version::parse(value))
        .ok_or_else(|| {
            SpecError::new(
                manifest_path,
                "",
                "no `version = \"MAJOR.MINOR.PATCH[+spec.LABEL]\"` line in [package] (a client crate carries its own version)",
            )
        })
}

/// The manifest with its package version replaced.
pub fn set_manifest_version(manifest_path: &str, text: &str, version: &Version) -> Result<String, SpecError> {
    let (line, _) =
        package_version_line(text).ok_or_else(|| SpecError::new(manifest_path, "", "no package version line"))?;
    Ok(text.replacen(line, &format!("version = \"{version}\""), 1))
}

fn package_version_line(text: &str) -> Option<(&str, &str)> {
    let package = text.split("\n[").next()?;
    package.lines().find_map(|line| {
        let value = line
            .trim()
            .strip_prefix("version")?
            .trim_start()
            .strip_prefix('=')?
            .trim();
        Some((line, value.strip_prefix('"')?.strip_suffix('"')?))
    })
}

/// The workspace manifest with the `version` of its `[workspace.dependencies]` entry for
/// `package` set to `new` (without build metadata, which requirements ignore); `None` when the
/// manifest has no such entry with a version on one line.
pub fn set_workspace_dependency_version(manifest: &str, package: &str, new: &Version) -> Option<String> {
    const HEADER: &str = "[workspace.dependencies]\n";
    let body = manifest.find(&format!("\n{HEADER}"))? + 1 + HEADER.len();
    let prefix = format!("{package} = {{");
    let mut start = body;
    for line in manifest[body..].split_inclusive('\n') {
        if line.starts_with('[') {
            return None;
        }
        if line.starts_with(&prefix) {
            let value = line.find("version = \"")? + "version = \"".len();
            let len = line[value..].find('"')?;
            let (from, to) = (start + value, start + value + len);
            return Some(format!("{}{}{}", &manifest[..from], new.core_string(), &manifest[to..]));
        }
        start += line.len();
    }
    None
}

/// `Cargo.lock` with `package`'s recorded version changed from `old` to `new`.
pub fn set_lockfile_version(lockfile: &str, package: &str, old: &Version, new: &Version) -> Result<String, SpecError> {
    let from = format!("name = \"{package}\"\nversion = \"{old}\"\n");
    let to = format!("name = \"{package}\"\nversion = \"{new}\"\n");
    if !lockfile.contains(&from) {
        return Err(SpecError::new(
            "Cargo.lock",
            "",
            format!("{package} {old} is not in Cargo.lock; run `cargo update --workspace` first"),
        ));
    }
    Ok(lockfile.replacen(&from, &to, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bumps_follow_cargos_semver() {
        let v = |s: &str| Version::parse(s).expect("version");
        assert_eq!(v("0.1.3").bumped(Impact::Breaking).to_string(), "0.2.0");
        assert_eq!(v("0.1.3").bumped(Impact::Additive).to_string(), "0.1.4");
        assert_eq!(v("1.4.3").bumped(Impact::Breaking).to_string(), "2.0.0");
        assert_eq!(v("1.4.3").bumped(Impact::Additive).to_string(), "1.5.0");
        assert_eq!(v("1.4.3").bumped(Impact::Internal).to_string(), "1.4.4");
        assert_eq!(v("0.0.3").bumped(Impact::Breaking).to_string(), "0.0.4");
        assert!(v("0.2.0+spec.x").core() >= v("0.2.0").core());
        assert!(v("0.1.9").core() < v("0.2.0").core());
        assert_eq!(v("0.1.0").with_spec("v1.2-beta").to_string(), "0.1.0+spec.v1.2-beta");
        assert_eq!(Version::parse("1.2"), None);
        assert_eq!(Version::parse("1.2.3.4"), None);
    }

    #[test]
    fn labels_are_safe_path_segments() {
        for ok in ["2026-04-10", "archastro-v1-2026-11-23", "v1.2-beta"] {
            assert!(check_label(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a\\b",
            "a b",
            "v1_2",
            "v1..2",
            ".v2",
            "v2.",
            &"x".repeat(81),
        ] {
            assert!(check_label(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(20_422), "2025-11-30");
        assert_eq!(civil_date(11_016), "2000-02-29");
    }

    #[test]
    fn manifest_and_lockfile_versions() {
        let manifest =
            "[package]\nname = \"x-client\"\nversion = \"0.1.0+spec.a\"\n\n[dependencies]\nversion = \"9\"\n";
        let v = manifest_version("m", manifest).expect("version");
        assert_eq!(v.to_string(), "0.1.0+spec.a");
        let next = Version::parse("0.2.0+spec.b").expect("v");
        let out = set_manifest_version("m", manifest, &next).expect("set");
        assert!(
            out.contains("version = \"0.2.0+spec.b\"") && out.contains("version = \"9\""),
            "{out}"
        );
        let lock = "[[package]]\nname = \"x-client\"\nversion = \"0.1.0+spec.a\"\n";
        let out = set_lockfile_version(lock, "x-client", &v, &next).expect("lock");
        assert!(out.contains("version = \"0.2.0+spec.b\""));
        assert!(set_lockfile_version(lock, "y-client", &v, &next).is_err());
    }

    #[test]
    fn workspace_dependency_versions() {
        let manifest = "[workspace]\nmembers = []\n\n[workspace.dependencies]\n\
            w-client = { path = \"crates/w\", version = \"0.1.0\" }\n\
            x-client = { path = \"crates/x\", version = \"0.1.0\" }\nserde = \"1\"\n\n\
            [dependencies]\ny-client = { path = \"y\", version = \"0.1.0\" }\n";
        let next = Version::parse("0.2.0+spec.b").expect("v");
        let out = set_workspace_dependency_version(manifest, "x-client", &next).expect("entry");
        assert_eq!(
            out,
            manifest.replace("x\", version = \"0.1.0\"", "x\", version = \"0.2.0\"")
        );
        // Only an entry of [workspace.dependencies], and only one with a version.
        assert_eq!(set_workspace_dependency_version(manifest, "y-client", &next), None);
        assert_eq!(set_workspace_dependency_version(manifest, "serde", &next), None);
        let unversioned = "[workspace]\n\n[workspace.dependencies]\nx-client = { path = \"x\" }\n";
        assert_eq!(set_workspace_dependency_version(unversioned, "x-client", &next), None);
    }
}
