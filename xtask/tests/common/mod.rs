//! What the spec-version tests share: the fixture API and its base document.

use std::path::Path;

use serde_json::Value;
use xtask::apis::ApiEntry;
use xtask::rules::Options;

/// The fixture API, as an API table entry (it is not bundled).
pub static FIXTURE: ApiEntry = ApiEntry {
    name: "fixture",
    spec: "specs/fixture/openapi.json",
    output: "crates/fixture-client/src/generated.rs",
    contract: "tests/contract/fixture.rs",
    channels: None,
    mocks: None,
    manifest: "crates/fixture-client/Cargo.toml",
    package: "fixture-client",
    changelog: "crates/fixture-client/CHANGELOG.md",
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

pub fn base() -> Value {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diff/base.json"))
        .expect("fixture");
    serde_json::from_str(&text).expect("fixture is JSON")
}
