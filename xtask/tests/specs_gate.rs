//! The gates around generated code, on a copy of the workspace's specs and generated files in a
//! temporary directory: `cargo xtask specs` fails when generated files are stale, and `lock`
//! pins a spec and regenerates in one step that either fully succeeds or changes nothing.

use xtask::apis::APIS;
use xtask::{index, spec, workspace_root};

fn copy_workspace(to: &std::path::Path) {
    let root = workspace_root();
    let mut files = vec![spec::LOCK_FILE.to_owned()];
    for api in APIS {
        files.push(api.spec.to_owned());
        files.extend(api.outputs().into_iter().map(str::to_owned));
    }
    for rel in files {
        let target = to.join(&rel);
        std::fs::create_dir_all(target.parent().expect("a parent")).expect("mkdir");
        std::fs::copy(root.join(&rel), &target).unwrap_or_else(|e| panic!("{rel}: {e}"));
    }
}

#[test]
fn specs_fails_on_stale_generated_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_workspace(dir.path());
    let (table, ok) = index::summary(dir.path());
    assert!(ok, "{table}");
    let output = dir.path().join(APIS[0].output);
    let mut code = std::fs::read_to_string(&output).expect("generated file");
    code.push_str("// edited by hand\n");
    std::fs::write(&output, code).expect("write");
    let (table, ok) = index::summary(dir.path());
    assert!(!ok, "{table}");
    assert!(
        table.contains("STALE") && table.contains("stale generated files"),
        "{table}"
    );
}

#[test]
fn lock_pins_and_regenerates_in_one_step_or_not_at_all() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_workspace(dir.path());
    let api = &APIS[0];
    let root = workspace_root();
    let manifest = dir.path().join(api.manifest);
    std::fs::create_dir_all(manifest.parent().expect("a parent")).expect("mkdir");
    std::fs::copy(root.join(api.manifest), &manifest).expect("manifest");
    // Unpin the API, and give it a spec the rules refuse (an allOf cycle).
    let lock_path = dir.path().join(spec::LOCK_FILE);
    let mut lock = spec::read_lock(dir.path()).expect("lock");
    lock.remove(api.name);
    std::fs::write(&lock_path, spec::lock_text(&lock).expect("text")).expect("write lock");
    let spec_path = dir.path().join(api.spec);
    let original_spec = std::fs::read(&spec_path).expect("spec");
    let mut doc: serde_json::Value = serde_json::from_slice(&original_spec).expect("json");
    doc["components"]["schemas"]["Loop"] = serde_json::json!({"allOf": [{"$ref": "#/components/schemas/Loop"}]});
    std::fs::write(&spec_path, serde_json::to_vec_pretty(&doc).expect("json")).expect("write spec");
    let before_lock = std::fs::read(&lock_path).expect("lock");
    let before_code = std::fs::read(dir.path().join(api.output)).expect("code");
    let err = xtask::regen::lock(dir.path(), &[api]).expect_err("generation fails");
    assert!(err.message.contains("contains itself"), "{err}");
    assert_eq!(
        std::fs::read(&lock_path).expect("lock"),
        before_lock,
        "the lock is unchanged"
    );
    assert_eq!(std::fs::read(dir.path().join(api.output)).expect("code"), before_code);
    // With the spec as it was, the same step pins it and the generated files stay fresh.
    std::fs::write(&spec_path, &original_spec).expect("restore spec");
    xtask::regen::lock(dir.path(), &[api]).expect("pins");
    assert!(spec::read_lock(dir.path()).expect("lock").contains_key(api.name));
    let (table, ok) = index::summary(dir.path());
    assert!(ok, "{table}");
}
