//! Snapshot tests of what the xtask produces: generated code for the fixture specs (which
//! exercise every rule), and the operation index of each bundled spec.

use std::collections::BTreeSet;

use serde_json::Value;
use xtask::apis::APIS;
use xtask::generate::generate_code;
use xtask::index::{normalized, operation_index};
use xtask::rules::{self, Options, Report};
use xtask::workspace_root;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).expect("fixture exists");
    xtask::spec::parse_document(name, &bytes).expect("fixture parses")
}

fn normalize(name: &str, options: Options) -> (Value, Report) {
    let n = xtask::pipeline::normalize(name, fixture(name), &options).unwrap_or_else(|e| panic!("{e}"));
    (n.doc, n.report)
}

#[test]
fn openapi31_fixture_generates() {
    let (doc, report) = normalize("openapi31.json", Options::default());
    insta::assert_snapshot!(
        "openapi31_normalized",
        serde_json::to_string_pretty(&doc).expect("json")
    );
    let code = generate_code("openapi31.json", &doc).expect("generates");
    assert!(code.skipped.is_empty(), "{:?}", code.skipped);
    insta::assert_snapshot!("openapi31_generated", code.source);
    insta::assert_snapshot!("openapi31_rules", report.fired().join("\n"));
}

#[test]
fn openapi30_fixture_generates() {
    let (doc, report) = normalize(
        "openapi30.json",
        Options {
            plug_query: true,
            ..Options::default()
        },
    );
    insta::assert_snapshot!(
        "openapi30_normalized",
        serde_json::to_string_pretty(&doc).expect("json")
    );
    let code = generate_code("openapi30.json", &doc).expect("generates");
    assert!(code.skipped.is_empty(), "{:?}", code.skipped);
    // Every paginated operation has a stream, `ReplyPage` (entries under `replies`) included.
    assert!(code.unwalkable.is_empty(), "{:?}", code.unwalkable);
    assert!(code.source.contains("(page.replies, meta)"));
    insta::assert_snapshot!("openapi30_generated", code.source);
    insta::assert_snapshot!("openapi30_rules", report.fired().join("\n"));
}

#[test]
fn openapi30_fixture_channels_generate() {
    let (doc, _) = normalize(
        "openapi30.json",
        Options {
            plug_query: true,
            ..Options::default()
        },
    );
    let code = generate_code("openapi30.json", &doc).expect("generates");
    let channels = xtask::channels::read("openapi30.json", &doc).unwrap_or_else(|e| panic!("{e:?}"));
    let emitted = xtask::generate::channels::emit("Fixture", &channels, &code.facts).expect("channel code");
    let module: syn::File = syn::parse2(emitted.tokens).expect("channel code parses");
    insta::assert_snapshot!("openapi30_channels", prettyplease::unparse(&module));
    let api = xtask::apis::find("archastro").expect("an API entry to name the crate");
    let (tokens, coverage) = xtask::channel_contract::emit(api, &channels, &doc, &emitted.entries);
    assert_eq!((coverage.covered, coverage.entries), (5, 5));
    let contract: syn::File = syn::parse2(tokens).expect("channel contract parses");
    insta::assert_snapshot!("openapi30_channel_contract", prettyplease::unparse(&contract));
}

#[test]
fn fixtures_exercise_every_rule() {
    let mut fired: BTreeSet<&str> = BTreeSet::new();
    let vendor_auth = Options {
        auth_extension: Some(xtask::rules::auth::AuthExtension {
            schemes: "x-auth-schemes",
            operation: "x-auth",
        }),
        ..Options::default()
    };
    for (name, options) in [
        ("openapi31.json", Options::default()),
        (
            "openapi30.json",
            Options {
                plug_query: true,
                ..Options::default()
            },
        ),
        ("realworld.yaml", vendor_auth),
        ("swagger20.yaml", Options::default()),
    ] {
        let (_, report) = normalize(name, options);
        fired.extend(report.counts.iter().filter(|(_, n)| *n > 0).map(|(rule, _)| *rule));
    }
    // A rule that only refuses is exercised by a fixture it refuses.
    let mut doc = fixture("failures/allof-self.json");
    let err = rules::apply_all(&mut doc, &Options::default()).expect_err("refused");
    fired.extend(
        rules::all()
            .map(|r| r.name)
            .filter(|r| err.message.starts_with(&format!("rule `{r}`"))),
    );
    let missing: Vec<&str> = rules::all().map(|r| r.name).filter(|r| !fired.contains(r)).collect();
    assert!(missing.is_empty(), "rules no fixture exercises: {missing:?}");
}

#[test]
fn bundled_spec_operation_indexes() {
    let root = workspace_root();
    for api in APIS {
        let n = normalized(&root, api).unwrap_or_else(|e| panic!("{e}"));
        insta::assert_snapshot!(format!("{}_operations", api.name), operation_index(&n.doc));
    }
}

#[test]
fn generation_is_deterministic() {
    let (doc, _) = normalize(
        "openapi30.json",
        Options {
            plug_query: true,
            ..Options::default()
        },
    );
    let first = generate_code("openapi30.json", &doc).expect("generates");
    let second = generate_code("openapi30.json", &doc).expect("generates");
    assert_eq!(first.source, second.source);
}

#[test]
fn readme_documents_every_rule() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).expect("README.md");
    let missing: Vec<&str> = rules::all()
        .map(|r| r.name)
        .filter(|r| !readme.contains(&format!("| `{r}` |")))
        .collect();
    assert!(missing.is_empty(), "rules missing from README.md: {missing:?}");
}
