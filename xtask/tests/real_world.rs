//! The failure classes real vendor documents showed, each with a fixture under
//! `tests/fixtures/` (`realworld.yaml`, `failures/*.json`): what the pipeline says without the
//! rule (an error with a JSON pointer), and what it does with it.

use serde_json::{json, Value};
use xtask::apis::ApiEntry;
use xtask::generate::{generate, generate_code, progenitor};
use xtask::rules::auth::AuthExtension;
use xtask::rules::{self, Options};
use xtask::spec::{self, LoadedSpec};

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture exists")
}

fn fixture(name: &str) -> Value {
    spec::parse_document(name, &bytes(name)).expect("fixture parses")
}

/// The options the real-world fixture is generated with (its auth lives in vendor extensions).
pub const VENDOR_AUTH: Options = Options {
    plug_query: false,
    auth_extension: Some(AuthExtension {
        schemes: "x-auth-schemes",
        operation: "x-auth",
    }),
};

/// A fixture as progenitor is given it (`xtask::pipeline`: converted, validated, normalized).
fn normalized(name: &str, options: &Options) -> Value {
    xtask::pipeline::normalize(name, fixture(name), options)
        .unwrap_or_else(|e| panic!("{e}"))
        .doc
}

#[test]
fn a_yaml_vendor_document_generates_with_every_repair() {
    let doc = normalized("realworld.yaml", &VENDOR_AUTH);
    // YAML: a 64-bit-overflowing bound reads as a JSON reader would read it, as a float.
    let seed = &doc["paths"]["/widgets"]["get"]["parameters"][0]["schema"];
    assert_eq!(seed["minimum"].as_f64(), Some(-9_223_372_036_854_776_000.0));
    // Annotations that are not text: a number becomes text, anything else goes.
    assert!(doc["info"].get("description").is_none());
    assert_eq!(doc["paths"]["/widgets"]["get"]["summary"], json!("42"));
    let widget = &doc["components"]["schemas"]["Widget"];
    assert!(widget.get("title").is_none());
    assert_eq!(
        widget["properties"]["description"]["description"],
        json!("a property named description stays")
    );
    // Samples that contradict their schema, and defaults on compositions, are dropped.
    assert!(widget["properties"]["include"].get("default").is_none());
    assert!(widget["properties"]["voice"].get("default").is_none());
    // An enum beside allOf keeps the enum.
    assert_eq!(
        widget["properties"]["scopes"]["items"],
        json!({"enum": ["read", "write"], "type": "string"})
    );
    // Vendor auth becomes security and schemes.
    let list = &doc["paths"]["/widgets"]["get"];
    assert_eq!(list["security"], json!([{"bearer": []}, {"app_key": []}]));
    assert_eq!(doc["components"]["securitySchemes"]["app_key"]["type"], json!("apiKey"));
    // One request media type, one success type, one error type.
    let create = &doc["paths"]["/widgets"]["post"];
    assert_eq!(create["requestBody"]["content"].as_object().map(|c| c.len()), Some(1));
    assert!(create["responses"]["200"]["content"]
        .get("application/octet-stream")
        .is_some());
    assert_eq!(
        list["responses"]["429"]["content"]["application/json"]["schema"],
        json!({})
    );

    let code = generate_code("realworld.yaml", &doc).expect("generates");
    assert!(code.skipped.is_empty(), "{:?}", code.skipped);
    assert!(
        code.source.contains("pub fn create_widget("),
        "the operation is generated"
    );
    // Names that differ in punctuation get Rust names of their own and keep their wire names
    // (before the rule: E0416/E0124 for the parameters and fields, typify refused the enum).
    for (param, local) in [
        ("StartTime", "start_time"),
        ("StartTime<", "start_time_lt"),
        ("StartTime>", "start_time_gt"),
    ] {
        let query = format!("QueryParam::new(\"{param}\", &{local})");
        assert!(code.source.contains(&query), "{query}");
    }
    assert!(
        code.source.contains("rename = \"created-at\""),
        "the wire name in serde's rename"
    );
    assert!(code
        .source
        .contains("pub created_at2: ::std::option::Option<::std::string::String>"));
    assert!(code.source.contains("pub created_at: ::std::option::Option<i64>"));
    assert!(code.source.contains("Self::XLarge2 => f.write_str(\"x-large\")"));
    assert!(code.source.contains("Self::XLarge => f.write_str(\"x_large\")"));
    assert!(!code.source.contains("CreatedAt2\"") && !code.source.contains("\"x_large2\""));
}

#[test]
fn an_annotation_that_is_not_text_is_named_by_its_pointer() {
    let raw = fixture("failures/annotation-not-text.json");
    let Err(progenitor::Failure::Invalid { pointer, message }) = progenitor::parse(&raw) else {
        panic!("openapiv3 rejects a boolean description");
    };
    assert_eq!(pointer, "/components/schemas/Agent/properties/state/description");
    assert!(message.contains("boolean"), "{message}");
    let err = generate_code("annotation-not-text.json", &raw).expect_err("rejected without the rule");
    assert_eq!(err.pointer, "/components/schemas/Agent/properties/state/description");
    let doc = normalized("failures/annotation-not-text.json", &Options::default());
    generate_code("annotation-not-text.json", &doc).expect("generates with the rule");
}

#[test]
fn a_generator_failure_is_bisected_to_the_smallest_schema() {
    for (name, pointer) in [
        (
            "failures/enum-beside-allof.json",
            "/components/schemas/Install/properties/scopes",
        ),
        ("failures/default-nonconforming.json", "/components/schemas/Include"),
    ] {
        // Down-converted (what a 3.1 document needs to parse at all), not repaired.
        let mut raw = fixture(name);
        if raw["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")) {
            for rule in rules::downconvert::RULES {
                (rule.apply)(&mut raw, &Options::default()).expect("down-converts");
            }
        }
        let err = generate_code(name, &raw).expect_err("progenitor fails without the repair rules");
        assert!(err.pointer.starts_with(pointer), "{name}: {err}");
        assert!(err.message.contains("progenitor fails on this schema"), "{err}");
        // The document the bisect probed is saved, and the pointer names a node in it.
        let saved = err
            .message
            .split_once("saved as ")
            .and_then(|(_, rest)| rest.split_once(" ("))
            .map(|(path, _)| path.to_owned())
            .unwrap_or_else(|| panic!("the error names the saved document: {err}"));
        let probed: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&saved).expect("saved")).expect("saved as JSON");
        assert!(probed.pointer(&err.pointer).is_some(), "{} is in {saved}", err.pointer);
        assert!(
            err.message
                .contains(&format!("`cargo xtask normalize {name}` prints it")),
            "{err}"
        );
        let doc = normalized(name, &Options::default());
        generate_code(name, &doc).unwrap_or_else(|e| panic!("{name} generates with the rules: {e}"));
    }
}

#[test]
fn two_generated_types_with_one_name_are_caught_before_compiling() {
    let name = "failures/nullable-union.json";
    let mut raw = fixture(name);
    for rule in rules::downconvert::RULES {
        (rule.apply)(&mut raw, &Options::default()).expect("down-converts");
    }
    let err = generate_code(name, &raw).expect_err("typify names two types `ModelChoice`");
    assert_eq!(err.pointer, "/components/schemas/ModelChoice");
    assert!(err.message.contains("two types named `ModelChoice`"), "{err}");
    let doc = normalized(name, &Options::default());
    generate_code(name, &doc).unwrap_or_else(|e| panic!("generates with the rules: {e}"));
}

#[test]
fn a_schema_that_is_allof_of_itself_is_an_error_with_a_pointer() {
    let mut doc = fixture("failures/allof-self.json");
    let err = rules::apply_all(&mut doc, &Options::default()).expect_err("a cycle");
    assert_eq!(err.pointer, "/components/schemas/Node/allOf/0/$ref");
    assert!(
        err.message.contains("reject-allof-cycles") && err.message.contains("contains itself"),
        "{}",
        err.message
    );
}

#[test]
fn a_builder_body_is_found_by_its_exact_name() {
    const API: ApiEntry = ApiEntry {
        name: "fixture",
        spec: "failures/builder-prefix.json",
        output: "unused.rs",
        contract: "unused_contract.rs",
        channels: None,
        mocks: None,
        manifest: "unused/Cargo.toml",
        package: "fixture-client",
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
    let name = "failures/builder-prefix.json";
    let loaded = LoadedSpec {
        path: name.into(),
        sha256: spec::sha256_hex(&bytes(name)),
        doc: fixture(name),
    };
    let generated = generate(&API, &loaded, "v1").expect("generates");
    let compact: String = generated.contract.split_whitespace().collect();
    assert!(
        compact.contains(".create_agent().body(serde_json::from_value::<fixture_client::types::NewAgent,"),
        "{}",
        generated.contract
    );
    assert!(compact.contains("serde_json::from_value::<fixture_client::types::Source,"));
    assert_eq!(generated.coverage.operations, 2);
}

/// The vendor's published ArchAstro document (`../shared/reference/`, never committed): with
/// the ArchAstro entry's options alone, every operation that names its auth in `x-auth` gets
/// standard `security`, and the client generates. `None` when the file is absent and
/// `AGENTAPIS_SKIP_SEED_TESTS=1` (as for the other tests that read `../shared`).
fn published_archastro() -> Option<Value> {
    let path = xtask::workspace_root().join("../shared/reference/archastro-openapi-external.json");
    match std::fs::read(&path) {
        Ok(bytes) => Some(spec::parse_document("archastro-openapi-external.json", &bytes).expect("parses")),
        Err(_) if std::env::var("AGENTAPIS_SKIP_SEED_TESTS").as_deref() == Ok("1") => None,
        Err(e) => panic!("{}: {e} (set AGENTAPIS_SKIP_SEED_TESTS=1 to skip)", path.display()),
    }
}

#[test]
fn the_published_archastro_document_needs_no_outside_script() {
    let Some(mut doc) = published_archastro() else { return };
    let archastro = xtask::apis::find("archastro").expect("in the table");
    let with_auth: Vec<String> = xtask::rules::walk::each_operation(&doc)
        .filter(|o| o.op.get("x-auth").is_some())
        .map(|o| o.pointer())
        .collect();
    assert!(with_auth.len() > 80, "{}", with_auth.len());
    let report = rules::apply_all(&mut doc, &archastro.options).expect("normalizes");
    assert!(report.fired().iter().any(|r| r.starts_with("vendor-auth-to-security×")));
    for pointer in &with_auth {
        let security = doc.pointer(&format!("{pointer}/security")).and_then(Value::as_array);
        assert!(security.is_some_and(|s| !s.is_empty()), "{pointer} has no security");
    }
    let schemes = doc
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object)
        .expect("schemes");
    assert_eq!(schemes["secret_key"]["x-key-prefix"], json!("sk_"));
    let code = generate_code("archastro-openapi-external.json", &doc).expect("generates");
    assert!(code.skipped.is_empty(), "{:?}", code.skipped);
}

#[test]
fn a_swagger_2_document_goes_through_the_same_pipeline() {
    let doc = normalized("swagger20.yaml", &Options::default());
    assert_eq!(doc["openapi"], json!("3.0.3"));
    assert_eq!(doc["servers"][0]["url"], json!("https://api.example.test/v2"));
    assert_eq!(
        doc["components"]["securitySchemes"]["oauth"]["flows"]["authorizationCode"]["tokenUrl"],
        json!("https://auth.example.test/t")
    );
    let code = generate_code("swagger20.yaml", &doc).expect("generates");
    assert!(code.skipped.is_empty(), "{:?}", code.skipped);
    for method in ["pub fn list_notes(", "pub fn create_note(", "pub fn attach_file("] {
        assert!(code.source.contains(method), "{method}");
    }
    // x-nullable became nullable: an Option of the field's type.
    assert!(code.source.contains("pub archived_at: ::std::option::Option<"));
    // A Swagger version that is not 2.0 is refused by name, not as a missing `openapi`.
    let err = xtask::index::normalize("old.json", json!({"swagger": "1.2", "paths": {}}), &Options::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("old.json#/swagger") && err.contains("only 2.0"), "{err}");
}
