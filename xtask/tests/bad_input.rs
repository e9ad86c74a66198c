//! Bad specs give errors that name the file and the JSON pointer, never a panic, and write
//! nothing.

use serde_json::json;
use xtask::apis::ApiEntry;
use xtask::generate::{generate, generate_code};
use xtask::rules::Options;
use xtask::spec::{self, LoadedSpec};

const API: ApiEntry = ApiEntry {
    name: "fixture",
    spec: "fixture.json",
    output: "unused.rs",
    contract: "unused_contract.rs",
    channels: None,
    mocks: None,
    manifest: "unused/Cargo.toml",
    package: "unused",
    changelog: "unused/CHANGELOG.md",
    about: "a test API",
    variant: "Invent",
    limit_scope: xtask::apis::LimitScope::Client,
    scope: None,
    options: Options {
        plug_query: false,
        auth_extension: None,
    },
    standin: xtask::apis::StandinProfile::PLAIN,
};

fn loaded(doc: serde_json::Value) -> LoadedSpec {
    LoadedSpec {
        path: "fixture.json".into(),
        sha256: "0".into(),
        doc,
    }
}

#[test]
fn malformed_json_names_line_and_column() {
    let dir = std::env::temp_dir().join(format!("xtask-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("bad.json"), "{\n  \"openapi\": \"3.0.3\",\n  \"paths\": {\n}").expect("write");
    let err = spec::load(&dir, "bad.json").expect_err("malformed JSON");
    assert!(
        err.to_string().starts_with("bad.json: not valid JSON at line 4"),
        "{err}"
    );
}

#[test]
fn dangling_ref_names_the_pointer() {
    let doc = json!({"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {"/a": {"get": {
        "operationId": "a", "responses": {"200": {"description": "ok", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Missing"}}}}}}}}});
    let err = generate(&API, &loaded(doc), "v1").err().expect("dangling ref rejected");
    assert_eq!(
        err.pointer,
        "/paths/~1a/get/responses/200/content/application~1json/schema/$ref"
    );
    assert!(err.to_string().contains("does not resolve"), "{err}");
}

#[test]
fn unsupported_31_construct_names_the_pointer() {
    let doc = json!({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {},
        "components": {"schemas": {"Pair": {"type": "array", "prefixItems": [{"type": "string"}]}}}});
    let err = generate(&API, &loaded(doc), "v1").err().expect("prefixItems rejected");
    assert_eq!(err.pointer, "/components/schemas/Pair/prefixItems");
    assert!(err.message.contains("reject-unsupported-3.1-keywords"), "{err}");
}

#[test]
fn an_operation_progenitor_cannot_generate_is_skipped_by_name() {
    // An undeclared path parameter makes progenitor panic; without the normalization rule that
    // repairs it, the operation is left out, named with the reason, and the rest generates.
    let doc = json!({"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {
        "/ok": {"get": {"operationId": "ok", "responses": {"204": {"description": "ok"}}}},
        "/teams/{team}/x": {"post": {"operationId": "x", "responses": {"204": {"description": "ok"}}}}}});
    let code = generate_code("fixture.json", &doc).expect("the rest generates");
    assert_eq!(code.skipped.len(), 1, "{:?}", code.skipped);
    assert_eq!(code.skipped[0].pointer, "/paths/~1teams~1{team}~1x/post");
    assert!(
        code.skipped[0].reason.contains("progenitor cannot generate it"),
        "{}",
        code.skipped[0]
    );
    assert!(code.source.contains("pub fn ok("), "the other operation is generated");
    assert!(!code.source.contains("pub fn x("));
}

#[test]
fn a_skipped_operation_with_a_multi_line_reason_leaves_a_file_that_parses() {
    // progenitor refuses cookie parameters with a message over several lines; every one of them
    // must stay inside the header's comments.
    let doc = json!({"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {
        "/ok": {"get": {"operationId": "ok", "responses": {"204": {"description": "ok"}}}},
        "/c": {"get": {"operationId": "c", "parameters": [{"name": "session", "in": "cookie", "schema": {"type": "string"}}],
            "responses": {"204": {"description": "ok"}}}}}});
    let generated = generate(&API, &loaded(doc), "v1").expect("the rest generates");
    assert_eq!(generated.skipped.len(), 1, "{:?}", generated.skipped);
    assert_eq!(generated.skipped[0].pointer, "/paths/~1c/get");
    let file = syn::parse_file(&generated.code).unwrap_or_else(|e| {
        let head: String = generated.code.lines().take(12).collect::<Vec<_>>().join("\n");
        panic!("generated code does not parse ({e}):\n{head}")
    });
    assert!(!file.items.is_empty());
}

#[test]
fn a_lock_mismatch_refuses_the_spec() {
    let mut lock = spec::Lock::new();
    let entry = spec::VersionEntry {
        sha256: "abc".into(),
        source: "test".into(),
        imported: "2026-01-01".into(),
        crate_version: "0.1.0".into(),
        previous: None,
    };
    lock.insert(
        "fixture".into(),
        spec::ApiLock {
            current: "v1".into(),
            versions: [("v1".to_owned(), entry)].into_iter().collect(),
        },
    );
    let err = spec::check_lock(&lock, "fixture", &loaded(json!({}))).expect_err("hash mismatch");
    assert!(err.message.contains("cargo xtask spec import fixture"), "{err}");
    let err = spec::check_lock(&spec::Lock::new(), "fixture", &loaded(json!({}))).expect_err("unpinned");
    assert!(err.message.contains("cargo xtask lock fixture"), "{err}");
}
