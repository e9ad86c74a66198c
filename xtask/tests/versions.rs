//! Spec versions: the diff classifies each kind of change (one insta snapshot per fixture pair),
//! and names do not move with document order. Import and the semver gate are in `import.rs`.

mod common;

use common::{base, FIXTURE};
use serde_json::{json, Value};
use xtask::diff::{self, Impact};
use xtask::versions::Version;

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
