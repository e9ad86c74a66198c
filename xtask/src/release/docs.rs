//! `cargo xtask release docs`: the workspace's docs built as docs.rs builds each crate.
//!
//! Each publishable crate's `[package.metadata.docs.rs]` names the features a user should see
//! documented and the rustdoc arguments (`--cfg docsrs`, which turns on the `doc_cfg` badges
//! saying which feature an item needs). One `cargo doc` builds them all with the union of those
//! features and warnings denied. That documents a crate with its neighbours' features on, which
//! docs.rs does not do; the features are additive, so the union only adds items, and one build
//! compiles the dependencies once instead of once per crate's feature set. docs.rs runs a nightly rustdoc; here rustdoc runs through
//! `scripts/docsrs-rustdoc`, which allows nightly features for rustdoc alone, so no dependency is
//! recompiled for it.

use std::path::Path;

use super::{cargo, run, Metadata, Package, ReleaseError};

/// The wrapper that runs rustdoc as docs.rs does, relative to the workspace root.
pub const RUSTDOC_WRAPPER: &str = "scripts/docsrs-rustdoc";

/// The docs.rs settings of the publishable crates, as one `cargo doc`.
#[derive(Debug, PartialEq, Eq)]
pub struct Plan {
    /// `crate/feature` for every feature some crate asks docs.rs to document.
    pub features: Vec<String>,
    /// The rustdoc arguments (the same for every crate).
    pub rustdoc_args: Vec<String>,
}

impl Plan {
    /// Reads the plan from each publishable crate's metadata; every crate must have a
    /// `[package.metadata.docs.rs]` with the same `rustdoc-args`.
    pub fn from_metadata(metadata: &Metadata) -> Result<Self, ReleaseError> {
        let mut features = Vec::new();
        let mut rustdoc_args: Option<(String, Vec<String>)> = None;
        for package in metadata.publishable() {
            let settings =
                package
                    .metadata
                    .get("docs")
                    .and_then(|d| d.get("rs"))
                    .ok_or_else(|| ReleaseError::Manifest {
                        package: package.name.clone(),
                        problem: "no [package.metadata.docs.rs]: say which features docs.rs documents".into(),
                    })?;
            if settings.get("all-features").is_some() {
                return Err(ReleaseError::Manifest {
                    package: package.name.clone(),
                    problem: "all-features in [package.metadata.docs.rs]: list the features a user should see documented instead".into(),
                });
            }
            for feature in strings(package, settings, "features")? {
                features.push(format!("{}/{feature}", package.name));
            }
            let args = strings(package, settings, "rustdoc-args")?;
            match &rustdoc_args {
                Some((first, seen)) if *seen != args => {
                    return Err(ReleaseError::Manifest {
                        package: package.name.clone(),
                        problem: format!("rustdoc-args {args:?} differ from {first}'s {seen:?}"),
                    })
                }
                Some(_) => {}
                None => rustdoc_args = Some((package.name.clone(), args)),
            }
        }
        let (_, rustdoc_args) =
            rustdoc_args.ok_or_else(|| ReleaseError::Metadata("the workspace has no publishable crate".into()))?;
        Ok(Self { features, rustdoc_args })
    }
}

/// The list at `key` of a docs.rs table (absent: empty).
fn strings(package: &Package, settings: &serde_json::Value, key: &str) -> Result<Vec<String>, ReleaseError> {
    let Some(value) = settings.get(key) else {
        return Ok(Vec::new());
    };
    value
        .as_array()
        .and_then(|items| items.iter().map(|i| i.as_str().map(str::to_owned)).collect())
        .ok_or_else(|| ReleaseError::Manifest {
            package: package.name.clone(),
            problem: format!("[package.metadata.docs.rs] {key} must be a list of strings"),
        })
}

/// Builds the docs of the whole workspace with `plan`, warnings denied.
pub fn build(root: &Path, plan: &Plan) -> Result<(), ReleaseError> {
    let mut flags = plan.rustdoc_args.join(" ");
    flags.push_str(" -D warnings");
    let real = std::env::var_os("RUSTDOC").unwrap_or_else(|| "rustdoc".into());
    let mut command = cargo();
    command
        .current_dir(root)
        .env("RUSTDOCFLAGS", flags.trim())
        .env("RUSTDOC", root.join(RUSTDOC_WRAPPER))
        .env("AGENTAPIS_REAL_RUSTDOC", real)
        .args(["doc", "--workspace", "--no-deps", "--locked"]);
    if !plan.features.is_empty() {
        command.args(["--features", &plan.features.join(",")]);
    }
    run(&mut command)
}

#[cfg(test)]
mod tests {
    use super::super::tests::metadata;
    use super::*;

    fn with_docs_rs(mut m: Metadata, name: &str, table: serde_json::Value) -> Metadata {
        for p in &mut m.packages {
            if p.name == name {
                p.metadata = serde_json::json!({"docs": {"rs": table}});
            }
        }
        m
    }

    #[test]
    fn the_plan_unites_each_crates_features() {
        let m = metadata(
            &[
                ("rt", "0.1.0", Some("1.88"), true),
                ("facade", "0.1.0", Some("1.88"), true),
                ("xtask", "0.1.0", Some("1.88"), false),
            ],
            &[],
        );
        let args = serde_json::json!(["--cfg", "docsrs"]);
        let m = with_docs_rs(
            m,
            "rt",
            serde_json::json!({"features": ["redis"], "rustdoc-args": args}),
        );
        let m = with_docs_rs(m, "facade", serde_json::json!({"rustdoc-args": args}));
        let plan = Plan::from_metadata(&m).expect("plan");
        assert_eq!(
            plan,
            Plan {
                features: vec!["rt/redis".into()],
                rustdoc_args: vec!["--cfg".into(), "docsrs".into()]
            }
        );
    }

    #[test]
    fn a_crate_without_settings_or_with_other_args_is_refused() {
        let m = metadata(
            &[
                ("rt", "0.1.0", Some("1.88"), true),
                ("facade", "0.1.0", Some("1.88"), true),
            ],
            &[],
        );
        let m = with_docs_rs(m, "rt", serde_json::json!({"rustdoc-args": ["--cfg", "docsrs"]}));
        let err = Plan::from_metadata(&m).expect_err("facade has none").to_string();
        assert!(err.contains("facade: no [package.metadata.docs.rs]"), "{err}");
        let m = with_docs_rs(m, "facade", serde_json::json!({"rustdoc-args": ["--cfg", "other"]}));
        assert!(Plan::from_metadata(&m)
            .expect_err("differs")
            .to_string()
            .contains("differ"));
        let m = with_docs_rs(m, "facade", serde_json::json!({"rustdoc-args": "--cfg docsrs"}));
        assert!(Plan::from_metadata(&m)
            .expect_err("not a list")
            .to_string()
            .contains("list of strings"));
        let m = with_docs_rs(
            m,
            "facade",
            serde_json::json!({"all-features": true, "rustdoc-args": ["--cfg", "docsrs"]}),
        );
        assert!(Plan::from_metadata(&m)
            .expect_err("all")
            .to_string()
            .contains("all-features"));
    }

    #[test]
    fn the_workspace_crates_document_their_optional_features() {
        let manifest = |c: &str| {
            std::fs::read_to_string(crate::workspace_root().join("crates").join(c).join("Cargo.toml"))
                .expect("manifest")
        };
        assert!(manifest("agentapis").contains("[package.metadata.docs.rs]\nfeatures = [\"redis\"]"));
        assert!(manifest("agentapis-runtime").contains("[package.metadata.docs.rs]\nfeatures = [\"redis\"]"));
        for client in ["invent-client", "agentiv-client", "archastro-client"] {
            assert!(
                manifest(client).contains("features = [\"type-builders\", \"mock\"]"),
                "{client}"
            );
        }
    }
}
