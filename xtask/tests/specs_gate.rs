//! `cargo xtask specs` as a gate: it fails when generated files are stale (here: a copy of the
//! workspace's specs and generated files in a temporary directory, one file then edited).

use xtask::apis::APIS;
use xtask::{index, spec, workspace_root};

fn copy_workspace(to: &std::path::Path) {
    let root = workspace_root();
    let mut files = vec![spec::LOCK_FILE.to_owned()];
    for api in APIS {
        files.extend([api.spec, api.output, api.contract].map(str::to_owned));
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
