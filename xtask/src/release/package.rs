//! `cargo xtask release package`: `cargo package --workspace`, the files every package must
//! hold, and the size of every package.
//!
//! `cargo package` builds each publishable crate from its own tarball, with its workspace
//! siblings resolved from their packaged versions, so a crate that reaches outside its folder or
//! depends on an unversioned path fails here rather than at `cargo publish`. The target
//! directory is passed explicitly: without it cargo verifies each package in a target directory
//! of its own and recompiles every dependency once per crate.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{cargo, run, Metadata, Package, ReleaseError};

/// crates.io's upload limit.
pub const REGISTRY_LIMIT: u64 = 10 * 1024 * 1024;

/// One packaged crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packaged {
    /// Package name.
    pub name: String,
    /// Version (build metadata included).
    pub version: String,
    /// The `.crate` file.
    pub file: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
}

/// Runs `cargo package --workspace --locked` into the workspace's target directory.
pub fn package(root: &Path, metadata: &Metadata) -> Result<(), ReleaseError> {
    forget_stale_unpacks(metadata);
    let mut command = cargo();
    command
        .current_dir(root)
        .env("CARGO_TARGET_DIR", &metadata.target_directory)
        // The test command runs on working trees with changes in progress; `cargo publish`
        // itself refuses a dirty one.
        .args(["package", "--workspace", "--locked", "--allow-dirty"]);
    for member in metadata.members().filter(|m| !is_publishable(m)) {
        command.args(["--exclude", &member.name]);
    }
    run(&mut command)
}

/// Removes what an earlier `cargo package` of this checkout left unpacked of our own crates.
/// Cargo verifies each package against its siblings from a temporary registry under the target
/// directory, unpacks them into `$CARGO_HOME/registry/src/<that registry>/`, and reuses an
/// unpacked copy whose version matches: a second run from the same folder would verify against
/// the siblings as they were the first time (seen here: a facade verified against yesterday's
/// runtime, which then lacked today's API). Only our crates' copies under registries other than
/// crates.io's are removed.
fn forget_stale_unpacks(metadata: &Metadata) {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let Some(sources) = home.map(|h| h.join("registry").join("src")) else {
        return;
    };
    let Ok(registries) = std::fs::read_dir(&sources) else {
        return;
    };
    for registry in registries.flatten() {
        let name = registry.file_name().to_string_lossy().into_owned();
        if name.starts_with("index.crates.io") || name.starts_with("github.com") {
            continue;
        }
        for member in metadata.members().filter(|m| is_publishable(m)) {
            let unpacked = registry.path().join(format!("{}-{}", member.name, member.version));
            if unpacked.is_dir() {
                let _ = std::fs::remove_dir_all(&unpacked);
            }
        }
    }
}

fn is_publishable(package: &Package) -> bool {
    package.publish.as_ref().is_none_or(|r| !r.is_empty())
}

/// The `.crate` file `cargo package` writes for `package`.
pub fn crate_file(metadata: &Metadata, package: &Package) -> PathBuf {
    metadata
        .target_directory
        .join("package")
        .join(format!("{}-{}.crate", package.name, package.version))
}

/// Every publishable crate's package, as `cargo package` left it; an error names a missing one.
pub fn packaged(metadata: &Metadata) -> Result<Vec<Packaged>, ReleaseError> {
    metadata
        .publishable()
        .map(|p| {
            let file = crate_file(metadata, p);
            let bytes = std::fs::metadata(&file)
                .map_err(|e| ReleaseError::Manifest {
                    package: p.name.clone(),
                    problem: format!(
                        "no package at {} ({e}): run `cargo xtask release package`",
                        file.display()
                    ),
                })?
                .len();
            Ok(Packaged {
                name: p.name.clone(),
                version: p.version.clone(),
                file,
                bytes,
            })
        })
        .collect()
}

/// The files every package must hold beside its sources.
pub const REQUIRED_FILES: [&str; 4] = ["Cargo.toml", "README.md", "LICENSE-MIT", "LICENSE-APACHE"];

/// The files of `REQUIRED_FILES` missing from a package, given the paths its tarball lists.
pub fn missing_files<'a>(package: &Packaged, listing: impl IntoIterator<Item = &'a str>) -> Vec<&'static str> {
    let prefix = format!("{}-{}/", package.name, package.version);
    let present: Vec<&str> = listing.into_iter().filter_map(|l| l.strip_prefix(&prefix)).collect();
    REQUIRED_FILES.into_iter().filter(|f| !present.contains(f)).collect()
}

/// The licence files, which every package holds as copies of the workspace root's.
pub const LICENCES: [&str; 2] = ["LICENSE-MIT", "LICENSE-APACHE"];

/// Checks that every package holds its README and licence files (read from the tarball), and
/// that each licence is the root's text (a checkout without symlinks would package the link's
/// target path instead).
pub fn check_contents(root: &Path, packages: &[Packaged]) -> Result<(), ReleaseError> {
    for p in packages {
        let listing = super::output(Command::new("tar").arg("-tzf").arg(&p.file))?;
        let missing = missing_files(p, listing.lines());
        if !missing.is_empty() {
            return Err(ReleaseError::Manifest {
                package: p.name.clone(),
                problem: format!(
                    "{} lacks {}: each crate's folder needs its README and the licence links",
                    p.file.display(),
                    missing.join(", ")
                ),
            });
        }
        for licence in LICENCES {
            let inside = format!("{}-{}/{licence}", p.name, p.version);
            let packaged = super::output(Command::new("tar").arg("-xzOf").arg(&p.file).arg(&inside))?;
            let expected = std::fs::read_to_string(root.join(licence)).map_err(ReleaseError::io(root.join(licence)))?;
            if packaged != expected {
                return Err(ReleaseError::Manifest {
                    package: p.name.clone(),
                    problem: format!("its {licence} is not the workspace root's (is it a symlink in this checkout?)"),
                });
            }
        }
    }
    Ok(())
}

/// Fails when a package is older than a file of its crate's folder: what was packaged is not
/// what is checked out (`cargo xtask release package` makes them again).
pub fn check_fresh(metadata: &Metadata, packages: &[Packaged]) -> Result<(), ReleaseError> {
    for p in packages {
        let made = std::fs::metadata(&p.file)
            .and_then(|m| m.modified())
            .map_err(ReleaseError::io(&p.file))?;
        let Some(package) = metadata.publishable().find(|m| m.name == p.name) else {
            continue;
        };
        let Some(dir) = package.manifest_path.parent() else {
            continue;
        };
        if let Some(newer) = newer_than(dir, made, &metadata.target_directory)? {
            return Err(ReleaseError::Manifest {
                package: p.name.clone(),
                problem: format!(
                    "{} changed after {} was made: run `cargo xtask release package` first",
                    newer.display(),
                    p.file.display()
                ),
            });
        }
    }
    Ok(())
}

/// A file under `dir` (not under `skip`) modified after `time`, if any.
fn newer_than(dir: &Path, time: std::time::SystemTime, skip: &Path) -> Result<Option<PathBuf>, ReleaseError> {
    for entry in std::fs::read_dir(dir).map_err(ReleaseError::io(dir))? {
        let path = entry.map_err(ReleaseError::io(dir))?.path();
        if path.starts_with(skip) || path.file_name().is_some_and(|n| n == "target") {
            continue;
        }
        // Follows links (the licences), as `cargo package` does.
        let meta = std::fs::metadata(&path).map_err(ReleaseError::io(&path))?;
        if meta.is_dir() {
            if let Some(found) = newer_than(&path, time, skip)? {
                return Ok(Some(found));
            }
        } else if meta.modified().map_err(ReleaseError::io(&path))? > time {
            return Ok(Some(path));
        }
    }
    Ok(None)
}

/// The size table, and whether every package is under `limit`.
pub fn sizes(packages: &[Packaged], limit: u64) -> (String, bool) {
    let mut out = String::from("| package | version | size | of the registry's limit |\n|---|---|---:|---:|\n");
    let mut ok = true;
    for p in packages {
        let over = p.bytes > limit;
        ok &= !over;
        out.push_str(&format!(
            "| {} | {} | {} KiB | {:.1}%{} |\n",
            p.name,
            p.version,
            p.bytes.div_ceil(1024),
            p.bytes as f64 * 100.0 / limit.max(1) as f64,
            if over { " **over**" } else { "" }
        ));
    }
    (out, ok)
}

#[cfg(test)]
mod tests {
    use super::super::tests::metadata;
    use super::*;

    fn packaged(name: &str, bytes: u64) -> Packaged {
        Packaged {
            name: name.into(),
            version: "0.1.0".into(),
            file: PathBuf::from(format!("{name}.crate")),
            bytes,
        }
    }

    #[test]
    fn a_package_over_the_limit_fails() {
        let (table, ok) = sizes(
            &[packaged("small", 2048), packaged("big", 11 * 1024 * 1024)],
            REGISTRY_LIMIT,
        );
        assert!(!ok, "{table}");
        assert!(table.contains("| small | 0.1.0 | 2 KiB | 0.0% |"), "{table}");
        assert!(
            table.contains("| big | 0.1.0 | 11264 KiB | 110.0% **over** |"),
            "{table}"
        );
        assert!(sizes(&[packaged("small", 2048)], REGISTRY_LIMIT).1);
    }

    #[test]
    fn a_package_without_its_licences_is_told_apart() {
        let p = packaged("lib", 1);
        let full = [
            "lib-0.1.0/Cargo.toml",
            "lib-0.1.0/README.md",
            "lib-0.1.0/LICENSE-MIT",
            "lib-0.1.0/LICENSE-APACHE",
        ];
        assert!(missing_files(&p, full).is_empty());
        let elsewhere = [
            "lib-0.1.0/Cargo.toml",
            "lib-0.1.0/README.md",
            "other-0.1.0/LICENSE-MIT",
            "lib-0.1.0/src/LICENSE-APACHE",
        ];
        assert_eq!(missing_files(&p, elsewhere), ["LICENSE-MIT", "LICENSE-APACHE"]);
    }

    #[test]
    fn a_file_changed_after_packaging_is_found() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("src")).expect("mkdir");
        std::fs::write(dir.path().join("src/lib.rs"), "").expect("write");
        let skip = dir.path().join("target");
        std::fs::create_dir_all(&skip).expect("mkdir");
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
        assert_eq!(newer_than(dir.path(), later, &skip).expect("walks"), None);
        let earlier = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        std::fs::write(skip.join("built"), "").expect("write");
        assert_eq!(
            newer_than(dir.path(), earlier, &skip).expect("walks"),
            Some(dir.path().join("src/lib.rs"))
        );
    }

    #[test]
    fn crate_files_are_named_as_cargo_names_them_and_a_missing_one_is_an_error() {
        let m = metadata(
            &[
                ("lib", "0.4.0+spec.x", Some("1.88"), true),
                ("xtask", "0.1.0", Some("1.88"), false),
            ],
            &[],
        );
        let lib = m.publishable().next().expect("lib").clone();
        assert_eq!(
            crate_file(&m, &lib),
            PathBuf::from("/w/target/package/lib-0.4.0+spec.x.crate")
        );
        let err = super::packaged(&m).expect_err("nothing packaged under /w").to_string();
        assert!(
            err.contains("lib: no package at") && err.contains("release package"),
            "{err}"
        );
    }
}
