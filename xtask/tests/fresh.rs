//! `cargo xtask regen --check` as a test: fails when a checked-in generated file is stale, or
//! when the pinned progenitor version in `Cargo.lock` differs from the one headers name.

use xtask::apis::APIS;
use xtask::generate::PROGENITOR_VERSION;
use xtask::{regen, spec, workspace_root};

#[test]
fn generated_clients_are_fresh() {
    let root = workspace_root();
    let lock = spec::read_lock(&root).expect("lock file readable");
    let mut stale = Vec::new();
    for api in APIS {
        let outcome = regen::regen_one(&root, api, &lock).unwrap_or_else(|e| panic!("{e}"));
        if !outcome.stale.is_empty() {
            let diff = outcome.diff(&root);
            let head: String = diff.lines().take(40).collect::<Vec<_>>().join("\n");
            stale.push(format!("{}:\n{head}", api.name));
        }
    }
    for file in regen::shared_stale(&root).unwrap_or_else(|e| panic!("{e}")) {
        stale.push(format!("{} is stale", file.path));
    }
    assert!(
        stale.is_empty(),
        "stale generated code; run `cargo xtask regen`:\n{}",
        stale.join("\n\n")
    );
}

#[test]
fn header_names_the_locked_progenitor_version() {
    let lock = std::fs::read_to_string(workspace_root().join("Cargo.lock")).expect("Cargo.lock is committed");
    let pinned = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"progenitor\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
        .map(|v| v.trim_end_matches('"').to_owned());
    assert_eq!(pinned.as_deref(), Some(PROGENITOR_VERSION));
}

#[test]
fn every_generated_file_carries_its_header() {
    let root = workspace_root();
    let lock = spec::read_lock(&root).expect("lock file readable");
    for api in APIS {
        let text = std::fs::read_to_string(root.join(api.output)).expect("generated file exists");
        let head: Vec<&str> = text.lines().take(6).collect();
        assert!(head[0].contains(&format!("cargo xtask regen {}", api.name)), "{head:?}");
        assert!(head.iter().any(|l| *l == format!("// spec: {}", api.spec)), "{head:?}");
        let sha = &lock
            .get(api.name)
            .and_then(spec::ApiLock::current_entry)
            .expect("pinned")
            .sha256;
        assert!(head.iter().any(|l| *l == format!("// spec-sha256: {sha}")), "{head:?}");
        assert!(
            head.iter()
                .any(|l| l.contains(&format!("progenitor {PROGENITOR_VERSION}"))),
            "{head:?}"
        );
        assert!(head.iter().any(|l| l.starts_with("// rules fired: ")), "{head:?}");
    }
}

#[test]
fn operations_table_names_match_what_the_client_reports() {
    let root = workspace_root();
    for api in APIS {
        let text = std::fs::read_to_string(root.join(api.output)).expect("generated file exists");
        let quoted = |marker: &str| -> std::collections::BTreeSet<String> {
            text.match_indices(marker)
                .filter_map(|(i, _)| text[i + marker.len()..].split('"').next().map(str::to_owned))
                .collect()
        };
        let reported = quoted("operation_id: \"");
        let table = quoted("agentapis_runtime::OperationMeta {\n        id: \"");
        assert!(!table.is_empty(), "{}: no OPERATIONS rows found", api.name);
        assert_eq!(
            reported, table,
            "{}: OPERATIONS ids differ from progenitor's operation ids",
            api.name
        );
    }
}

#[test]
fn every_paginated_operation_has_a_stream() {
    let root = workspace_root();
    let mut total = 0;
    for api in APIS {
        let text = std::fs::read_to_string(root.join(api.output)).expect("generated file exists");
        let paginated = text.matches("paging: Some(agentapis_runtime::Paging::").count();
        let streams = text.matches("const BACKWARD: bool").count();
        assert_eq!(
            streams, paginated,
            "{}: {paginated} operations are paginated but {streams} have pagination glue",
            api.name
        );
        assert!(
            !text.contains("not walkable"),
            "{}: an operation's page shape was not understood",
            api.name
        );
        total += streams;
    }
    assert_eq!(total, 26, "archastro 6 + invent 20 (update when a spec changes)");
}

#[test]
fn every_operation_has_a_contract_test() {
    let root = workspace_root();
    for api in APIS {
        let client = std::fs::read_to_string(root.join(api.output)).expect("generated file exists");
        let contract = std::fs::read_to_string(root.join(api.contract)).expect("contract test exists");
        let operations = client.matches("agentapis_runtime::OperationMeta {").count();
        let covered = contract.matches("Box::pin(async").count();
        assert_eq!(
            covered, operations,
            "{}: {covered} of {operations} operations have a contract check",
            api.name
        );
    }
}

#[test]
fn channel_code_carries_its_header_and_every_entry_has_a_contract_test() {
    let root = workspace_root();
    let mut apis_with_channels = 0;
    for api in APIS {
        let Some(outputs) = api.channels else { continue };
        apis_with_channels += 1;
        let code = std::fs::read_to_string(root.join(outputs.code)).expect("channel module exists");
        let head: Vec<&str> = code.lines().take(6).collect();
        assert!(head[0].contains(&format!("cargo xtask regen {}", api.name)), "{head:?}");
        assert!(head.iter().any(|l| *l == format!("// spec: {}", api.spec)), "{head:?}");
        assert!(head.iter().any(|l| l.starts_with("// rules fired: ")), "{head:?}");
        assert!(!code.contains("unwrap"), "{}: generated channel code unwraps", api.name);
        let spec: serde_json::Value =
            serde_json::from_slice(&std::fs::read(root.join(api.spec)).expect("spec")).expect("spec parses");
        let channels = xtask::channels::read(api.spec, &spec).unwrap_or_else(|e| panic!("{e:?}"));
        let entries: usize = channels.iter().map(|c| c.entries()).sum();
        let contract = std::fs::read_to_string(root.join(outputs.contract)).expect("channel contract exists");
        assert_eq!(
            contract.matches("#[tokio::test]").count(),
            entries,
            "{}: one channel contract test per join, message and push",
            api.name
        );
    }
    assert_eq!(apis_with_channels, 1, "archastro (update when an API gains channels)");
}
