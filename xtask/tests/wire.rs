//! The bundled specs describe each request as the clients send it, so that a third-party mock or
//! validator reading them checks what goes on the wire rather than what the generator makes of
//! it: no normalization rule has to rename a parameter of a bundled spec, every structured query
//! parameter declares the bracket form it is sent in, and no document declares the default
//! `jsonSchemaDialect` (it changes nothing, and at least one widely used validator skips every
//! body check when it is present).

use serde_json::Value;
use xtask::apis::APIS;
use xtask::workspace_root;

fn spec(path: &str) -> Value {
    let text = std::fs::read_to_string(workspace_root().join(path)).expect("spec");
    serde_json::from_str(&text).expect("JSON")
}

fn query_params(doc: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "query" {
                    let name = p["name"].as_str().unwrap_or_default();
                    out.push((format!("{method} {path} {name}"), p.clone()));
                }
            }
        }
    }
    out
}

#[test]
fn no_rule_renames_a_parameter_of_a_bundled_spec() {
    for api in APIS {
        let normalized = xtask::pipeline::normalize(api.spec, spec(api.spec), &api.options).expect("normalizes");
        for (rule, count) in &normalized.report.counts {
            if *rule == "plug-bracket-array-query" {
                assert_eq!(
                    *count, 0,
                    "{}: {count} array query parameters are not named as sent",
                    api.name
                );
            }
        }
    }
}

#[test]
fn structured_query_parameters_of_a_plug_server_declare_their_bracket_form() {
    let mut checked = 0;
    for api in APIS.iter().filter(|a| a.options.plug_query) {
        for (at, p) in query_params(&spec(api.spec)) {
            let schema = &p["schema"];
            let items = &schema["items"];
            let scalar_items = items["type"].as_str().is_some_and(|t| t != "object" && t != "array");
            match schema["type"].as_str() {
                Some("array") if scalar_items => {
                    assert!(at.ends_with("[]"), "{at}: sent as name[]=..");
                    assert_eq!((&p["style"], &p["explode"]), (&"form".into(), &true.into()), "{at}");
                }
                Some("array" | "object") => {
                    assert_eq!(
                        (&p["style"], &p["explode"]),
                        (&"deepObject".into(), &true.into()),
                        "{at}"
                    );
                }
                _ => continue,
            }
            checked += 1;
        }
    }
    // ArchAstro: 14 arrays of strings in 4 operations, a metadata tree and a filter list.
    assert_eq!(checked, 16);
}

#[test]
fn no_bundled_spec_declares_the_default_json_schema_dialect() {
    for api in APIS {
        let doc = spec(api.spec);
        assert!(
            doc.get("jsonSchemaDialect").is_none(),
            "{}: {:?}",
            api.name,
            doc["jsonSchemaDialect"]
        );
    }
}
