//! `spec import` is all-or-nothing (JSON and YAML), refuses what CI would refuse (the `specs`
//! gate, a workspace that no longer compiles), picks a label when the vendor's repeats; the
//! semver gate fails an unbumped breaking change and passes a bumped one. Everything runs in a
//! scratch workspace.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{base, FIXTURE};
use serde_json::{json, Value};
use xtask::diff::Impact;

/// A scratch workspace with the fixture API at version `label` of `doc`.
fn workspace(doc: &Value, label: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let write = |rel: &str, text: &str| {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    let text = format!("{}\n", serde_json::to_string_pretty(doc).expect("json"));
    write(FIXTURE.spec, &text);
    write(
        FIXTURE.manifest,
        &format!(
            "[package]\nname = \"fixture-client\"\nversion = \"0.1.0+spec.{label}\"\n\n[dependencies]\nserde = \"1\"\n"
        ),
    );
    write(
        "Cargo.lock",
        &format!("[[package]]\nname = \"fixture-client\"\nversion = \"0.1.0+spec.{label}\"\n"),
    );
    write(
        "Cargo.toml",
        "[workspace]\nmembers = []\n\n[workspace.dependencies]\n\
         fixture-client = { path = \"crates/fixture-client\", version = \"0.1.0\" }\n",
    );
    let lock = json!({"fixture": {"current": label, "versions": {label: {
        "sha256": xtask::spec::sha256_hex(text.as_bytes()), "source": "test", "imported": "2026-01-01",
        "crate_version": format!("0.1.0+spec.{label}")}}}});
    write(
        xtask::spec::LOCK_FILE,
        &serde_json::to_string_pretty(&lock).expect("json"),
    );
    dir
}

/// Every file under `root` with its bytes, and every directory.
fn snapshot(root: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir").flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(root).expect("under root").display().to_string();
            if path.is_dir() {
                out.insert(format!("{rel}/"), None);
                stack.push(path);
            } else {
                out.insert(rel, Some(std::fs::read(&path).expect("read")));
            }
        }
    }
    out
}

fn options(label: &str) -> xtask::import::Options {
    xtask::import::Options {
        label: Some(label.into()),
        source: Some("the vendor".into()),
        date: Some("2026-11-30".into()),
        // The scratch workspace is no Cargo workspace; the build check has its own tests below.
        build: xtask::import::BuildCheck::Skip,
        allow_broken: false,
    }
}

#[test]
fn a_failed_import_leaves_the_tree_byte_for_byte_unchanged() {
    let dir = workspace(&base(), "v1");
    let root = dir.path();
    let before = snapshot(root);
    let inputs = tempfile::tempdir().expect("tempdir");
    let cases: [(&str, String); 4] = [
        ("malformed.json", "{\"openapi\": \"3.0.3\", ".to_owned()),
        ("malformed.yaml", "openapi: [unclosed\n".to_owned()),
        ("dangling-ref.json", {
            let mut doc = base();
            doc["components"]["schemas"]["Agent"]["properties"]["team"] = json!({"$ref": "#/components/schemas/Nope"});
            doc.to_string()
        }),
        ("not-openapi.json", "[1, 2, 3]".to_owned()),
    ];
    for (name, text) in &cases {
        let file = inputs.path().join(name);
        std::fs::write(&file, text).expect("write input");
        let err = xtask::import::import(root, &FIXTURE, &file, &options("v2")).expect_err(name);
        assert!(err.to_string().contains(name), "{name}: {err}");
        assert_eq!(snapshot(root), before, "{name} changed the tree");
    }
    let mut doc = base();
    doc["paths"]["/teams/{team}"].as_object_mut().map(|p| p.remove("get"));
    let file = inputs.path().join("good.json");
    std::fs::write(&file, doc.to_string()).expect("write input");
    // A workspace manifest whose dependency on the client cannot be bumped (spread over lines):
    // refused, since the workspace would no longer resolve, or would ask for too low a version.
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("manifest");
    let spread = manifest.replace(
        "fixture-client = { path = \"crates/fixture-client\", version = \"0.1.0\" }",
        "[workspace.dependencies.fixture-client]\npath = \"crates/fixture-client\"\nversion = \"0.1.0\"",
    );
    std::fs::write(root.join("Cargo.toml"), &spread).expect("write");
    let before = snapshot(root);
    let err = xtask::import::import(root, &FIXTURE, &file, &options("v2")).expect_err("no entry to bump");
    assert!(
        err.to_string().contains("Cargo.toml") && err.to_string().contains("fixture-client"),
        "{err}"
    );
    assert_eq!(snapshot(root), before, "a refused import left changes behind");
    std::fs::write(root.join("Cargo.toml"), manifest).expect("write");
    // A file to replace that cannot be read (the changelog's path is a directory): refused
    // before the first write.
    std::fs::create_dir_all(root.join(FIXTURE.changelog)).expect("mkdir");
    let before = snapshot(root);
    let err = xtask::import::import(root, &FIXTURE, &file, &options("v2")).expect_err("changelog unreadable");
    assert!(err.to_string().contains("cannot read before replacing"), "{err}");
    assert_eq!(snapshot(root), before, "a refused import left changes behind");
    std::fs::remove_dir(root.join(FIXTURE.changelog)).expect("rmdir");
    // The last write failing (its temporary file's name is taken by a directory): every earlier
    // write is undone.
    let blocker = root.join(format!(
        "crates/fixture-client/.CHANGELOG.md.tmp-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&blocker).expect("mkdir");
    let before = snapshot(root);
    let err = xtask::import::import(root, &FIXTURE, &file, &options("v2")).expect_err("changelog unwritable");
    assert!(
        err.to_string().contains("every file written so far was restored"),
        "{err}"
    );
    assert_eq!(snapshot(root), before, "a failed write left changes behind");
}

#[test]
fn a_missing_or_changed_current_spec_stops_the_import() {
    let dir = workspace(&base(), "v1");
    let root = dir.path();
    let inputs = tempfile::tempdir().expect("tempdir");
    let file = inputs.path().join("next.json");
    std::fs::write(&file, base().to_string().replace("Diff fixture", "Diff fixture 2")).expect("write");
    std::fs::write(root.join(FIXTURE.spec), "{}").expect("edit by hand");
    let before = snapshot(root);
    let err = xtask::import::import(root, &FIXTURE, &file, &options("v2")).expect_err("changed current");
    assert!(err.to_string().contains("does not match the pinned"), "{err}");
    assert_eq!(snapshot(root), before);
    std::fs::remove_file(root.join(FIXTURE.spec)).expect("rm");
    let before = snapshot(root);
    let err = xtask::import::import(root, &FIXTURE, &file, &options("v2")).expect_err("missing current");
    assert!(err.to_string().contains("cannot read"), "{err}");
    assert_eq!(snapshot(root), before);
}

#[test]
fn a_yaml_import_keeps_the_old_version_bumps_the_crate_and_passes_the_gate() {
    let dir = workspace(&base(), "v1");
    let root = dir.path();
    let mut doc = base();
    doc["paths"]["/teams/{team}"].as_object_mut().map(|p| p.remove("get"));
    doc["components"]["schemas"]["Kind"]["anyOf"][0]["enum"] = json!(["chat", "batch", "voice"]);
    let inputs = tempfile::tempdir().expect("tempdir");
    let file = inputs.path().join("vendor.yaml");
    std::fs::write(&file, yaml_serde::to_string(&doc).expect("yaml")).expect("write");

    let imported = xtask::import::import(root, &FIXTURE, &file, &options("v2")).expect("import");
    assert_eq!(imported.report.impact, Some(Impact::Breaking));
    assert_eq!(imported.crate_version.to_string(), "0.2.0+spec.v2");
    // The new spec is stored as JSON; the old one is kept; provenance is in the lock.
    let stored: Value = serde_json::from_slice(&std::fs::read(root.join(FIXTURE.spec)).expect("spec")).expect("json");
    assert_eq!(stored, doc);
    let kept: Value =
        serde_json::from_slice(&std::fs::read(root.join("specs/fixture/versions/v1/openapi.json")).expect("kept"))
            .expect("json");
    assert_eq!(kept, base());
    let lock = xtask::spec::read_lock(root).expect("lock");
    let entry = &lock["fixture"].versions["v2"];
    assert_eq!(
        (lock["fixture"].current.as_str(), entry.previous.as_deref()),
        ("v2", Some("v1"))
    );
    assert_eq!(
        (entry.source.as_str(), entry.imported.as_str()),
        ("the vendor", "2026-11-30")
    );
    let manifest = std::fs::read_to_string(root.join(FIXTURE.manifest)).expect("manifest");
    assert!(manifest.contains("version = \"0.2.0+spec.v2\""), "{manifest}");
    let lockfile = std::fs::read_to_string(root.join("Cargo.lock")).expect("Cargo.lock");
    assert!(lockfile.contains("version = \"0.2.0+spec.v2\""), "{lockfile}");
    let workspace = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    assert!(
        workspace.contains("fixture-client = { path = \"crates/fixture-client\", version = \"0.2.0\" }"),
        "{workspace}"
    );
    let copy = std::fs::read_to_string(root.join("crates/standin/specs/fixture.json")).expect("stand-in copy");
    assert_eq!(
        copy,
        std::fs::read_to_string(root.join(FIXTURE.spec)).expect("spec"),
        "the stand-in's copy is the new spec"
    );
    let generated = std::fs::read_to_string(root.join(FIXTURE.output)).expect("generated");
    assert!(generated.contains("pub const SPEC_VERSION: &str = \"v2\";"));
    assert!(generated.contains(&format!("pub const SPEC_SHA256: &str = \"{}\";", entry.sha256)));
    let changelog = std::fs::read_to_string(root.join(FIXTURE.changelog)).expect("changelog");
    assert!(
        changelog.contains("## 0.2.0+spec.v2 (2026-11-30)") && changelog.contains("operation-removed"),
        "{changelog}"
    );

    // The gate passes with the bump import made...
    let verdicts = xtask::gate::check(root, &[&FIXTURE]).expect("gate");
    assert!(verdicts[0].ok, "{}", verdicts[0].message);
    // ...and fails when the crate version is put back (an unbumped breaking change).
    let unbumped = manifest.replace("0.2.0+spec.v2", "0.1.1+spec.v2");
    std::fs::write(root.join(FIXTURE.manifest), unbumped).expect("write");
    let verdicts = xtask::gate::check(root, &[&FIXTURE]).expect("gate");
    assert!(!verdicts[0].ok, "{}", verdicts[0].message);
    assert!(verdicts[0].message.contains("0.2.0"), "{}", verdicts[0].message);
    // Build metadata that does not name the current spec fails too.
    std::fs::write(root.join(FIXTURE.manifest), manifest.replace("+spec.v2", "+spec.v1")).expect("write");
    assert!(!xtask::gate::check(root, &[&FIXTURE]).expect("gate")[0].ok);

    // The same document again is refused, and so is a label already taken by another document.
    let again = xtask::import::import(root, &FIXTURE, &file, &options("v2")).expect_err("already imported");
    assert!(again.to_string().contains("already imported"), "{again}");
    let other = inputs.path().join("other.json");
    std::fs::write(&other, base().to_string()).expect("write");
    let taken = xtask::import::import(root, &FIXTURE, &other, &options("v2")).expect_err("label taken");
    assert!(taken.to_string().contains("pass --version"), "{taken}");
    let bad_label = xtask::import::import(root, &FIXTURE, &other, &options("v1..3")).expect_err("bad label");
    assert!(bad_label.to_string().contains("no empty part"), "{bad_label}");
}

/// A stand-in for cargo: a script that records its arguments and prints `messages` (cargo's
/// JSON lines) as `cargo check --message-format=json` would, exiting with `code`.
fn fake_cargo(dir: &Path, messages: &[Value], code: i32) -> xtask::import::BuildCheck {
    use std::os::unix::fs::PermissionsExt;
    let lines: String = messages.iter().map(|m| format!("{m}\n")).collect();
    std::fs::write(dir.join("messages.jsonl"), lines).expect("write");
    let script = dir.join("cargo");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@\" > '{args}'\ncat '{messages}'\nexit {code}\n",
            args = dir.join("args").display(),
            messages = dir.join("messages.jsonl").display()
        ),
    )
    .expect("write");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    xtask::import::BuildCheck::Cargo(script)
}

fn compile_error(file: &str, text: &str) -> Value {
    json!({"reason": "compiler-message", "package_id": "facade", "message": {"level": "error",
        "message": text, "rendered": text,
        "spans": [{"file_name": file, "line_start": 7, "is_primary": true}]}})
}

/// The vendor removed `get_team`, which hand-written code calls.
fn import_removing_get_team(
    build: xtask::import::BuildCheck,
    allow_broken: bool,
) -> (
    tempfile::TempDir,
    Result<xtask::import::Imported, xtask::error::SpecError>,
) {
    let dir = workspace(&base(), "v1");
    let mut doc = base();
    doc["paths"]["/teams/{team}"].as_object_mut().map(|p| p.remove("get"));
    let inputs = tempfile::tempdir().expect("tempdir");
    let file = inputs.path().join("vendor.json");
    std::fs::write(&file, doc.to_string()).expect("write");
    let options = xtask::import::Options {
        build,
        allow_broken,
        ..options("v2")
    };
    let result = xtask::import::import(dir.path(), &FIXTURE, &file, &options);
    (dir, result)
}

#[test]
fn hand_written_code_that_no_longer_compiles_undoes_the_import() {
    let tools = tempfile::tempdir().expect("tempdir");
    let error = compile_error(
        "crates/agentapis/src/teams.rs",
        "no method named `get_team` found for struct `Client`",
    );
    let build = fake_cargo(tools.path(), &[error], 101);
    let before = snapshot(workspace(&base(), "v1").path());
    let (dir, result) = import_removing_get_team(build.clone(), false);
    let err = result.expect_err("refused");
    let text = err.to_string();
    assert!(
        text.contains("hand-written code no longer compiles")
            && text.contains("crates/agentapis/src/teams.rs:7: no method named `get_team`")
            && text.contains("every file written so far was restored")
            && text.contains("--allow-broken"),
        "{text}"
    );
    assert_eq!(snapshot(dir.path()), before, "the tree is as it was");
    let args = std::fs::read_to_string(tools.path().join("args")).expect("cargo was run");
    assert_eq!(
        args.trim(),
        "check --workspace --all-targets --all-features --keep-going --message-format=json"
    );

    // With --allow-broken the import stays and says what broke.
    let (dir, result) = import_removing_get_team(build, true);
    let imported = result.expect("imported anyway");
    assert_eq!(imported.broken.len(), 1);
    assert_eq!(imported.broken[0].file, "crates/agentapis/src/teams.rs");
    let lock = xtask::spec::read_lock(dir.path()).expect("lock");
    assert_eq!(lock["fixture"].current, "v2");
}

#[test]
fn generated_code_that_does_not_compile_is_never_imported() {
    let tools = tempfile::tempdir().expect("tempdir");
    let error = compile_error(FIXTURE.output, "mismatched types");
    let before = snapshot(workspace(&base(), "v1").path());
    let (dir, result) = import_removing_get_team(fake_cargo(tools.path(), &[error], 101), true);
    let text = result.expect_err("refused even with allow_broken").to_string();
    assert!(text.contains("the generated client does not compile"), "{text}");
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn a_build_that_fails_without_a_compile_error_undoes_the_import() {
    let tools = tempfile::tempdir().expect("tempdir");
    let before = snapshot(workspace(&base(), "v1").path());
    let (dir, result) = import_removing_get_team(fake_cargo(tools.path(), &[], 101), false);
    let text = result.expect_err("refused").to_string();
    assert!(
        text.contains("without a compile error") && text.contains("restored"),
        "{text}"
    );
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn what_the_specs_gate_refuses_is_refused_before_anything_is_written() {
    let dir = workspace(&base(), "v1");
    let root = dir.path();
    let before = snapshot(root);
    // A page whose entries cannot be found: two arrays and no paging field beside them.
    let mut doc = base();
    doc["components"]["schemas"]["AgentList"] = json!({"type": "object", "properties": {
        "agents": {"type": "array", "items": {"$ref": "#/components/schemas/Agent"}},
        "teams": {"type": "array", "items": {"$ref": "#/components/schemas/Team"}}}});
    let inputs = tempfile::tempdir().expect("tempdir");
    let file = inputs.path().join("vendor.json");
    std::fs::write(&file, doc.to_string()).expect("write");
    let err = xtask::import::import(root, &FIXTURE, &file, &options("v2")).expect_err("refused");
    let text = err.to_string();
    assert!(
        text.contains("`specs` gate") && text.contains("`list_agents` is paginated but has no stream"),
        "{text}"
    );
    assert_eq!(snapshot(root), before);
    let allowed = xtask::import::Options {
        allow_broken: true,
        ..options("v2")
    };
    let imported = xtask::import::import(root, &FIXTURE, &file, &allowed).expect("imported anyway");
    assert_eq!(imported.gate_errors.len(), 1, "{:?}", imported.gate_errors);
}

#[test]
fn a_repeated_info_version_gets_a_dated_label_and_versions_are_measured_from_the_manifest() {
    // The current version's document says `v1`, as the vendor's next one does.
    let dir = workspace(&base(), "fixture-v1-2026-11-23");
    let root = dir.path();
    // The crate moved on since that spec was imported (a generator change).
    let manifest = std::fs::read_to_string(root.join(FIXTURE.manifest)).expect("manifest");
    std::fs::write(
        root.join(FIXTURE.manifest),
        manifest.replace("0.1.0+spec", "0.3.1+spec"),
    )
    .expect("write");
    let lockfile = std::fs::read_to_string(root.join("Cargo.lock")).expect("lock");
    std::fs::write(root.join("Cargo.lock"), lockfile.replace("0.1.0+spec", "0.3.1+spec")).expect("write");
    let workspace_manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    std::fs::write(
        root.join("Cargo.toml"),
        workspace_manifest.replace("\"0.1.0\"", "\"0.3.1\""),
    )
    .expect("write");
    let mut doc = base();
    doc["paths"]["/teams/{team}"].as_object_mut().map(|p| p.remove("get"));
    assert_eq!(doc["info"]["version"], "v1");
    let inputs = tempfile::tempdir().expect("tempdir");
    let file = inputs.path().join("vendor.json");
    std::fs::write(&file, doc.to_string()).expect("write");
    let unlabelled = xtask::import::Options {
        label: None,
        ..options("")
    };
    let imported = xtask::import::import(root, &FIXTURE, &file, &unlabelled).expect("import");
    assert_eq!(imported.label, "fixture-v1-2026-11-30");
    assert_eq!(imported.crate_version.to_string(), "0.4.0+spec.fixture-v1-2026-11-30");
    // The same document again is recognized under its label.
    let again = xtask::import::import(root, &FIXTURE, &file, &unlabelled).expect_err("again");
    assert!(again.to_string().contains("already imported"), "{again}");
    // `spec diff` measures from what import measured from: 0.3.1, not the 0.1.0 of long ago.
    let lock = xtask::spec::read_lock(root).expect("lock");
    assert_eq!(
        lock["fixture"].versions["fixture-v1-2026-11-23"].crate_version,
        "0.3.1+spec.fixture-v1-2026-11-23"
    );
    let verdicts = xtask::gate::check(root, &[&FIXTURE]).expect("gate");
    assert!(
        verdicts[0].ok && verdicts[0].message.contains("0.3.1"),
        "{}",
        verdicts[0].message
    );
}

#[test]
fn a_swagger_2_document_is_imported_as_openapi_3() {
    let dir = workspace(&base(), "v1");
    let root = dir.path();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/swagger20.yaml");
    let imported = xtask::import::import(root, &FIXTURE, &file, &options("v2")).expect("import");
    assert_eq!(imported.report.impact, Some(Impact::Breaking));
    let stored: Value = serde_json::from_slice(&std::fs::read(root.join(FIXTURE.spec)).expect("spec")).expect("json");
    assert_eq!(stored["openapi"], "3.0.3");
    assert!(stored.get("swagger").is_none() && stored["components"]["schemas"].get("Note").is_some());
    let lock = xtask::spec::read_lock(root).expect("lock");
    let source = &lock["fixture"].versions["v2"].source;
    assert!(source.contains("converted to OpenAPI 3.0"), "{source}");
}
