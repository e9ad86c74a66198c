//! `cargo xtask release consumer`: a crate outside the workspace, built from the packaged
//! crates and run against the stand-in, as a user's first program would be.
//!
//! `tests/consumer/` (no member of the workspace) depends on `agentapis` and
//! `agentapis-standin` by registry version. It is copied into a scratch folder with the
//! workspace's `Cargo.lock` (so it builds with the versions CI fetched), every `.crate` of
//! `cargo xtask release package` is unpacked beside it, and cargo is told to take each of our
//! crates from its unpacked tarball (`--config patch.crates-io.<name>.path=...`). Before building,
//! `cargo metadata` must show every one of our crates in its graph coming from those folders: a
//! version requirement the packages do not meet would otherwise fall through to crates.io.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::package::Packaged;
use super::{cargo, output, run, Metadata, ReleaseError};

/// The consumer crate's sources, relative to the workspace root.
pub const SOURCE: &str = "tests/consumer";

/// The line the consumer prints when every call came through.
pub const OK_LINE: &str = "consumer: ok";

/// Builds and runs the consumer against `packages`; returns what it printed.
pub fn run_consumer(root: &Path, metadata: &Metadata, packages: &[Packaged]) -> Result<String, ReleaseError> {
    let scratch = metadata.target_directory.join("release-consumer");
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch).map_err(ReleaseError::io(&scratch))?;
    }
    let unpacked = scratch.join("packages");
    std::fs::create_dir_all(&unpacked).map_err(ReleaseError::io(&unpacked))?;
    let mut patches = Vec::with_capacity(packages.len());
    for p in packages {
        let mut tar = Command::new("tar");
        tar.arg("-xzf").arg(&p.file).arg("-C").arg(&unpacked);
        output(&mut tar)?;
        let dir = unpacked.join(format!("{}-{}", p.name, p.version));
        patches.push((p.name.clone(), dir));
    }
    let consumer = scratch.join("consumer");
    copy_tree(&root.join(SOURCE), &consumer)?;
    let lock = root.join("Cargo.lock");
    std::fs::copy(&lock, consumer.join("Cargo.lock")).map_err(ReleaseError::io(&lock))?;

    let manifest = consumer.join("Cargo.toml");
    let with_patches = |command: &mut Command| {
        command.current_dir(root).arg("--manifest-path").arg(&manifest);
        for (name, dir) in &patches {
            command.arg("--config").arg(patch(name, dir));
        }
    };
    let mut meta = cargo();
    meta.args(["metadata", "--format-version", "1"]);
    with_patches(&mut meta);
    let graph = Metadata::parse(&output(&mut meta)?)?;
    check_graph(&graph, &patches)?;

    let mut build = cargo();
    build
        .env("CARGO_TARGET_DIR", &metadata.target_directory)
        .args(["build", "--quiet"]);
    with_patches(&mut build);
    run(&mut build)?;
    let binary = metadata.target_directory.join("debug").join("agentapis-consumer");
    let printed = output(&mut Command::new(&binary))?;
    if !printed.lines().any(|l| l == OK_LINE) {
        return Err(ReleaseError::Command {
            command: binary.display().to_string(),
            status: format!("did not print {OK_LINE:?}"),
            stderr: printed,
        });
    }
    Ok(printed)
}

/// `patch.crates-io.<name>.path="<dir>"`, as `--config` takes it.
fn patch(name: &str, dir: &Path) -> String {
    // A TOML basic string: the path's backslashes and quotes escaped.
    let path = dir.display().to_string().replace('\\', "\\\\").replace('"', "\\\"");
    format!("patch.crates-io.{name}.path=\"{path}\"")
}

/// Every patched crate the consumer's graph holds comes from its unpacked package, and the
/// facade is among them.
fn check_graph(graph: &Metadata, patches: &[(String, PathBuf)]) -> Result<(), ReleaseError> {
    let mut facade_seen = false;
    for (name, dir) in patches {
        for package in graph.packages.iter().filter(|p| &p.name == name) {
            facade_seen |= name == "agentapis";
            if !package.manifest_path.starts_with(dir) {
                return Err(ReleaseError::Manifest {
                    package: name.clone(),
                    problem: format!(
                        "the consumer resolved it from {} instead of its package {}: does {SOURCE}/Cargo.toml ask for the workspace's version?",
                        package.manifest_path.display(),
                        dir.display()
                    ),
                });
            }
        }
    }
    if facade_seen {
        Ok(())
    } else {
        Err(ReleaseError::Manifest {
            package: "agentapis".into(),
            problem: format!("the consumer's graph does not contain the packaged facade: check {SOURCE}/Cargo.toml"),
        })
    }
}

/// Copies the files under `from` to `to` (folders created; no symlinks followed out).
fn copy_tree(from: &Path, to: &Path) -> Result<(), ReleaseError> {
    std::fs::create_dir_all(to).map_err(ReleaseError::io(to))?;
    for entry in std::fs::read_dir(from).map_err(ReleaseError::io(from))? {
        let entry = entry.map_err(ReleaseError::io(from))?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(ReleaseError::io(&source))?;
        if kind.is_dir() {
            copy_tree(&source, &target)?;
        } else if kind.is_file() {
            std::fs::copy(&source, &target).map_err(ReleaseError::io(&source))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::metadata;
    use super::*;

    #[test]
    fn patches_are_toml_strings() {
        assert_eq!(
            patch("agentapis", Path::new("/t/p/agentapis-0.3.1")),
            "patch.crates-io.agentapis.path=\"/t/p/agentapis-0.3.1\""
        );
        assert_eq!(
            patch("a", Path::new("C:\\x\"y")),
            "patch.crates-io.a.path=\"C:\\\\x\\\"y\""
        );
    }

    #[test]
    fn a_crate_resolved_from_anywhere_but_its_package_is_refused() {
        // The fixture's manifests are /w/crates/<name>/Cargo.toml.
        let graph = metadata(&[("consumer", "0.0.0", None, false)], &[("agentapis", "0.3.1", None)]);
        let good = [("agentapis".to_owned(), PathBuf::from("/w/crates/agentapis"))];
        check_graph(&graph, &good).expect("from its package");
        let elsewhere = [(
            "agentapis".to_owned(),
            PathBuf::from("/w/target/packages/agentapis-0.3.1"),
        )];
        let err = check_graph(&graph, &elsewhere).expect_err("from elsewhere").to_string();
        assert!(err.contains("instead of its package"), "{err}");
        let absent = metadata(&[("consumer", "0.0.0", None, false)], &[]);
        assert!(check_graph(&absent, &good)
            .expect_err("no facade")
            .to_string()
            .contains("does not contain"));
    }

    #[test]
    fn the_consumer_asks_for_the_workspace_version_of_the_facade() {
        let root = crate::workspace_root();
        let consumer = std::fs::read_to_string(root.join(SOURCE).join("Cargo.toml")).expect("consumer manifest");
        let workspace = std::fs::read_to_string(root.join("Cargo.toml")).expect("workspace manifest");
        let version = workspace
            .lines()
            .skip_while(|l| *l != "[workspace.package]")
            .find_map(|l| l.strip_prefix("version = \""))
            .and_then(|v| v.strip_suffix('"'))
            .expect("workspace version");
        assert!(
            consumer.contains(&format!("agentapis = \"{version}\"")),
            "{SOURCE}/Cargo.toml must ask for agentapis {version}"
        );
        assert!(consumer.contains(&format!("agentapis-standin = \"{version}\"")));
    }
}
