//! Spec versions: the diff classifies each kind of change (one insta snapshot per fixture pair),
//! import is all-or-nothing (JSON and YAML), and the semver gate fails an unbumped breaking
//! change and passes a bumped one. Import and gate run in a scratch workspace.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};
use xtask::apis::ApiEntry;
use xtask::diff::{self, Impact};
use xtask::rules::Options;
use xtask::versions::Version;

static FIXTURE: ApiEntry = ApiEntry {
    name: "fixture",
    spec: "specs/fixture/openapi.json",
    output: "crates/fixture-client/src/generated.rs",
    contract: "tests/contract/fixture.rs",
    channels: None,
    manifest: "crates/fixture-client/Cargo.toml",
    package: "fixture-client",
    changelog: "crates/fixture-client/CHANGELOG.md",
    about: "a test API",
    variant: "Invent",
    limit_scope: "Client",
    scope: None,
    options: Options {
        plug_query: false,
        auth_extension: None,
    },
};

fn base() -> Value {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diff/base.json"))
        .expect("fixture");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// One fixture pair: its name, the impact it must have, and the change made to the base.
type Case = (&'static str, Impact, Box<dyn Fn(&mut Value)>);

/// The fixture pairs: base → base with one kind of change.
fn cases() -> Vec<Case> {
    vec![
        (
            "operation_removed",
            Impact::Breaking,
            Box::new(|d: &mut Value| {
                d["paths"]["/teams/{team}"].as_object_mut().map(|p| p.remove("get"));
            }),
        ),
        (
            "operation_added",
            Impact::Additive,
            Box::new(|d: &mut Value| {
                d["paths"]["/teams/{team}"]["delete"] = json!({"operationId": "delete_team",
                "parameters": [{"name": "team", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {"204": {"description": "deleted"}}});
            }),
        ),
        (
            "required_parameter_added",
            Impact::Breaking,
            Box::new(|d: &mut Value| {
                push_param(
                    d,
                    "/agents/{agent}",
                    json!({"name": "org", "in": "query", "required": true, "schema": {"type": "string"}}),
                );
            }),
        ),
        (
            "optional_parameter_added",
            Impact::Additive,
            Box::new(|d: &mut Value| {
                push_param(
                    d,
                    "/agents/{agent}",
                    json!({"name": "fields", "in": "query", "schema": {"type": "string"}}),
                );
            }),
        ),
        (
            "parameter_made_required",
            Impact::Breaking,
            Box::new(|d: &mut Value| {
                d["paths"]["/agents/{agent}"]["get"]["parameters"][1]["required"] = json!(true);
            }),
        ),
        (
            "parameter_removed",
            Impact::Breaking,
            Box::new(|d: &mut Value| {
                d["paths"]["/agents"]["get"]["parameters"]
                    .as_array_mut()
                    .map(|p| p.pop());
            }),
        ),
        (
            "parameter_retyped",
            Impact::Breaking,
            Box::new(|d: &mut Value| {
                d["paths"]["/agents/{agent}"]["get"]["parameters"][1]["schema"] = json!({"type": "string"});
            }),
        ),
        (
            "request_body_field_added",
            Impact::Breaking,
            Box::new(|d: &mut Value| {
                d["components"]["schemas"]["NewAgent"]["properties"]["team"] = json!({"type": "string"});
            }),
        ),
        (
            "optional_response_field_added",
            Impact::Breaking,
            Box::new(|d: &mut Value| {
                d["components"]["schemas"]["Agent"]["properties"]["created_at"] = json!({"type": "string"});
            }),
        ),
        (
            "response_retyped",
            Impact::Breaking,
            Box::new(|d: &mut Value| {
                d["paths"]["/agents/{agent}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] =
                    json!({"$ref": "#/components/schemas/Team"});
            }),
        ),
        (
            "closed_enum_value_added",
            Impact::Breaking,
            Box::new(|d: &mut Value| {
                d["components"]["schemas"]["Status"]["enum"] = json!(["active", "paused", "archived"]);
            }),
        ),
        (
            "open_enum_value_added",
            Impact::Additive,
            Box::new(|d: &mut Value| {
                d["components"]["schemas"]["Kind"]["anyOf"][0]["enum"] = json!(["chat", "batch", "voice"]);
            }),
        ),
        (
            "enum_value_removed",
            Impact::Breaking,
            Box::new(|d: &mut Value| {
                d["components"]["schemas"]["Status"]["enum"] = json!(["active"]);
            }),
        ),
        (
            "auth_changed",
            Impact::Breaking,
            Box::new(|d: &mut Value| {
                d["paths"]["/teams/{team}"]["get"]["security"] = json!([{"bearer": []}]);
            }),
        ),
        (
            // The same scheme under another name (`apiKey` → `key`): no request changes.
            "security_scheme_renamed",
            Impact::Internal,
            Box::new(|d: &mut Value| {
                let schemes = &mut d["components"]["securitySchemes"];
                let definition = schemes.as_object_mut().and_then(|s| s.remove("apiKey"));
                schemes["key"] = definition.expect("the base defines apiKey");
                schemes["key"]["description"] = json!("Now with prose.");
                d["security"] = json!([{"key": []}]);
            }),
        ),
        (
            "pagination_removed",
            Impact::Breaking,
            Box::new(|d: &mut Value| {
                d["paths"]["/agents"]["get"]["parameters"] =
                    json!([{"name": "search", "in": "query", "schema": {"type": "string"}}]);
            }),
        ),
        (
            "schema_removed",
            Impact::Breaking,
            Box::new(|d: &mut Value| {
                d["components"]["schemas"]["Team"] =
                    json!({"type": "object", "properties": {"id": {"type": "string"}}});
                d["components"]["schemas"]["Team2"] = d["components"]["schemas"]["Team"].clone();
                d["paths"]["/teams/{team}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] =
                    json!({"$ref": "#/components/schemas/Team2"});
                d["components"]["schemas"].as_object_mut().map(|s| s.remove("Team"));
            }),
        ),
        (
            "channel_changed",
            Impact::Internal,
            Box::new(|d: &mut Value| {
                d["x-channels"][0]["pushes"] = json!([{"event": "agent_deleted", "payload": {"type": "object"}}]);
            }),
        ),
        (
            "error_response_added",
            Impact::Breaking,
            Box::new(|d: &mut Value| {
                d["paths"]["/teams/{team}"]["get"]["responses"]["404"] = json!({"description": "no team",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Status"}}}});
            }),
        ),
        (
            "error_response_retyped",
            Impact::Breaking,
            Box::new(|d: &mut Value| {
                d["paths"]["/agents/{agent}"]["get"]["responses"]["404"]["content"]["application/json"]["schema"] =
                    json!({"$ref": "#/components/schemas/Team"});
            }),
        ),
        (
            "success_response_added",
            Impact::Breaking,
            Box::new(|d: &mut Value| {
                d["paths"]["/agents/{agent}"]["get"]["responses"]["202"] = json!({"description": "later",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Team"}}}});
            }),
        ),
        (
            "composition_changed",
            Impact::Breaking,
            Box::new(|d: &mut Value| {
                d["components"]["schemas"]["Team"]["allOf"] = json!([{"$ref": "#/components/schemas/NewAgent"}]);
            }),
        ),
        (
            "extension_only",
            Impact::Internal,
            Box::new(|d: &mut Value| {
                d["components"]["schemas"]["Agent"]["properties"]["id"]["x-go-name"] = json!("ID");
                d["components"]["schemas"]["Agent"]["properties"]["name"]["deprecated"] = json!(true);
            }),
        ),
        (
            // An operation whose body repeats both shapes, placed first in the document and
            // offering longer names (`RoutineSchedule`): the shapes keep their names (`Schedule`,
            // and `Acl`, the component they equal through `Grant`), so only the operation is new.
            "operation_with_known_shapes_added_first",
            Impact::Additive,
            Box::new(|d: &mut Value| {
                let mut op = d["paths"]["/agents/{agent}/acl"].clone();
                op["post"]["operationId"] = json!("update_routine");
                let props = &mut op["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"];
                let schedule = props.as_object_mut().and_then(|p| p.remove("schedule"));
                props["routine_schedule"] = schedule.expect("the base has a schedule");
                let mut paths = serde_json::Map::new();
                paths.insert("/agents/{agent}/routine".into(), op);
                if let Some(old) = d["paths"].as_object() {
                    paths.extend(old.clone());
                }
                d["paths"] = Value::Object(paths);
            }),
        ),
        (
            "description_only",
            Impact::Internal,
            Box::new(|d: &mut Value| {
                d["components"]["schemas"]["Agent"]["properties"]["id"]["description"] = json!("Its id.");
            }),
        ),
    ]
}

fn push_param(doc: &mut Value, path: &str, param: Value) {
    if let Some(params) = doc["paths"][path]["get"]["parameters"].as_array_mut() {
        params.push(param);
    }
}

#[test]
fn every_kind_of_change_is_classified() {
    let old = base();
    let from = Version::parse("0.3.1").expect("version");
    for (name, impact, change) in cases() {
        let mut new = old.clone();
        change(&mut new);
        let report = diff::diff(&FIXTURE, ("base", &old), (name, &new), Some(&from)).expect("diff");
        assert_eq!(report.impact, Some(impact), "{name}:\n{}", report.render());
        insta::assert_snapshot!(format!("diff_{name}"), report.render());
    }
    let same = diff::diff(&FIXTURE, ("base", &old), ("base", &old), Some(&from)).expect("diff");
    assert_eq!((same.impact, same.changes.len()), (None, 0));
}

/// The same document with its operations and components in reverse order: nothing changes, no
/// type is renamed.
#[test]
fn a_reordered_document_is_unchanged() {
    let old = base();
    let mut new = old.clone();
    for key in ["paths", "components"] {
        if let Some(map) = new[key].as_object_mut() {
            let reversed: serde_json::Map<String, Value> = map.clone().into_iter().rev().collect();
            *map = reversed;
        }
    }
    if let Some(map) = new["components"]["schemas"].as_object_mut() {
        let reversed: serde_json::Map<String, Value> = map.clone().into_iter().rev().collect();
        *map = reversed;
    }
    assert_ne!(
        serde_json::to_string(&old).ok(),
        serde_json::to_string(&new).ok(),
        "the order changed"
    );
    let from = Version::parse("0.3.1").expect("version");
    let report = diff::diff(&FIXTURE, ("base", &old), ("reordered", &new), Some(&from)).expect("diff");
    insta::assert_snapshot!("diff_operations_reordered", report.render());
    assert_eq!((report.impact, report.changes.len()), (None, 0), "{}", report.render());
}

#[test]
fn json_output_is_structured() {
    let old = base();
    let mut new = old.clone();
    new["paths"]["/teams/{team}"].as_object_mut().map(|p| p.remove("get"));
    let report = diff::diff(
        &FIXTURE,
        ("a", &old),
        ("b", &new),
        Some(&Version::parse("1.2.3").expect("v")),
    )
    .expect("diff");
    let json = serde_json::to_value(&report).expect("json");
    assert_eq!(json["impact"], "breaking");
    assert_eq!(json["semver"], json!(["1.2.3", "2.0.0"]));
    assert_eq!(json["changes"][0]["kind"], "operation-removed");
    assert_eq!(
        json["changes"][0]["rust"],
        json!(["Client::get_team", "builder::GetTeam"])
    );
}

// Import and the gate, in a scratch workspace.

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

/// Every bundled spec with its operations and component schemas in another order (a fixed
/// pseudo-random permutation): the diff finds nothing, so no type is renamed by document order.
#[test]
fn bundled_specs_reordered_are_unchanged() {
    fn shuffle(map: &mut serde_json::Map<String, Value>, seed: &mut u64) {
        let mut entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
        // Fisher-Yates with a 64-bit LCG: the same order on every run.
        for i in (1..entries.len()).rev() {
            *seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let j = usize::try_from((*seed >> 33) % (i as u64 + 1)).expect("fits");
            entries.swap(i, j);
        }
        map.extend(entries);
    }
    let root = xtask::workspace_root();
    for api in xtask::apis::APIS {
        let text = std::fs::read_to_string(root.join(api.spec)).expect("bundled spec");
        let old: Value = serde_json::from_str(&text).expect("JSON");
        let mut new = old.clone();
        let mut seed = 7;
        if let Some(paths) = new["paths"].as_object_mut() {
            shuffle(paths, &mut seed);
            for item in paths.values_mut() {
                if let Some(item) = item.as_object_mut() {
                    shuffle(item, &mut seed);
                }
            }
        }
        if let Some(schemas) = new["components"]["schemas"].as_object_mut() {
            shuffle(schemas, &mut seed);
        }
        assert_ne!(serde_json::to_string(&old).ok(), serde_json::to_string(&new).ok());
        let report = diff::diff(api, ("bundled", &old), ("reordered", &new), None).expect("diff");
        assert_eq!(
            (report.impact, report.changes.len()),
            (None, 0),
            "{}: {}",
            api.name,
            report.render()
        );
    }
}
