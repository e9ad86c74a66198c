//! The sharing rule against small documents.

use serde_json::{json, Value};

use crate::rules::testing::run;

const RULE: &str = "share-repeated-inline-schemas";

fn grant(description: &str) -> serde_json::Value {
    json!({"type": "object", "description": description, "required": ["principal_type"],
           "properties": {"principal": {"type": "string"}, "principal_type": {"type": "string"}}})
}

#[test]
fn a_shape_equal_to_a_component_refers_to_it() {
    let doc = json!({"openapi": "3.0.3", "paths": {}, "components": {"schemas": {
        "Grant": grant("a grant"),
        "Agent": {"type": "object", "properties": {"owner": grant("who owns it")}}}}});
    let (doc, n) = run(RULE, doc);
    assert_eq!(n, 1);
    assert_eq!(
        doc["components"]["schemas"]["Agent"]["properties"]["owner"],
        json!({"$ref": "#/components/schemas/Grant"})
    );
}

#[test]
fn an_inline_shape_equal_to_a_component_through_its_refs_uses_the_component() {
    // Components `Grant {x}` and `Acl {add: [$ref Grant]}`; two bodies spell the ACL out.
    let acl = json!({"type": "object", "properties": {"add": {"type": "array",
        "items": {"type": "object", "description": "one grant", "properties": {"x": {"type": "string"}}}}}});
    let body = |acl: &serde_json::Value| {
        json!({"content": {"application/json": {"schema": {
        "type": "object", "properties": {"acl": acl}}}}})
    };
    let doc = json!({"openapi": "3.0.3", "paths": {
            "/a": {"post": {"operationId": "update_a", "requestBody": body(&acl), "responses": {}}},
            "/b": {"post": {"operationId": "update_b", "requestBody": body(&acl), "responses": {}}}},
        "components": {"schemas": {
            "Grant": {"type": "object", "properties": {"x": {"type": "string"}}},
            "Acl": {"type": "object", "properties": {"add": {"type": "array", "items": {"$ref": "#/components/schemas/Grant"}}}}}}});
    let (doc, _) = run(RULE, doc);
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    assert_eq!(schemas.keys().collect::<Vec<_>>(), ["Grant", "Acl"], "no `UpdateAAcl`");
    for op in ["/a", "/b"] {
        let path = format!(
            "/paths/{}/post/requestBody/content/application~1json/schema/properties/acl",
            op.replace('/', "~1")
        );
        assert_eq!(
            doc.pointer(&path),
            Some(&json!({"$ref": "#/components/schemas/Acl"})),
            "{op}"
        );
    }
}

#[test]
fn a_recursive_component_is_compared_without_looping() {
    let node = json!({"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}}});
    let doc = json!({"openapi": "3.0.3", "paths": {}, "components": {"schemas": {
        "Node": node.clone(),
        "Tree": {"type": "object", "properties": {"root": node}}}}});
    let (doc, _) = run(RULE, doc);
    assert_eq!(
        doc["components"]["schemas"]["Tree"]["properties"]["root"],
        json!({"$ref": "#/components/schemas/Node"})
    );
}

#[test]
fn a_repeated_shape_becomes_one_component_named_after_its_place() {
    let doc = json!({"openapi": "3.0.3", "paths": {}, "components": {"schemas": {
        "Agent": {"type": "object", "properties": {"acl": {"type": "object",
            "properties": {"add": {"type": "array", "items": grant("")}}}}},
        "Team": {"type": "object", "properties": {"acl": {"type": "object",
            "properties": {"add": {"type": "array", "items": grant("")}}}}}}}});
    let (doc, n) = run(RULE, doc);
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["Agent"]["properties"]["acl"],
        json!({"$ref": "#/components/schemas/Acl"})
    );
    assert_eq!(
        schemas["Team"]["properties"]["acl"],
        json!({"$ref": "#/components/schemas/Acl"})
    );
    // The inner shape was shared first, so the component holds a reference too.
    assert_eq!(
        schemas["Acl"]["properties"]["add"]["items"],
        json!({"$ref": "#/components/schemas/AddItem"})
    );
    assert_eq!(schemas["AddItem"]["required"], json!(["principal_type"]));
    assert_eq!(n, 4, "two grants, two ACLs");
}

#[test]
fn a_hoisted_name_does_not_depend_on_document_order_or_unrelated_operations() {
    let body = |place: &str| {
        json!({"requestBody": {"content": {"application/json": {"schema": {"type": "object",
            "properties": {place: {"type": "object", "properties": {"x": {"type": "string"}}}}}}}},
            "responses": {"204": {"description": ""}}})
    };
    let named = |paths: Vec<(&str, Value)>| {
        let mut map = serde_json::Map::new();
        for (path, op) in paths {
            map.insert(path.to_owned(), json!({"post": op}));
        }
        let (doc, _) = run(RULE, json!({"openapi": "3.0.3", "paths": map}));
        let mut names: Vec<String> = doc["components"]["schemas"]
            .as_object()
            .map(|s| s.keys().cloned().collect())
            .unwrap_or_default();
        names.sort();
        names
    };
    let one = named(vec![("/z", body("routine_acl")), ("/a", body("acl"))]);
    let two = named(vec![("/a", body("acl")), ("/z", body("routine_acl"))]);
    // An operation with nothing in common, placed first, takes nothing from the shape.
    let mut other = body("acl");
    other["requestBody"]["content"]["application/json"]["schema"]["properties"]["acl"]["properties"] =
        json!({"y": {"type": "integer"}});
    let three = named(vec![("/0", other), ("/z", body("routine_acl")), ("/a", body("acl"))]);
    assert_eq!(one, vec!["Acl".to_owned()], "the shortest name any place offers");
    assert_eq!(one, two);
    assert_eq!(three, one);
}

#[test]
fn the_object_branch_of_a_union_is_named_as_typify_names_it() {
    let agent = |extra: &str| {
        json!({"oneOf": [{"type": "object", "properties": {"id": {"type": "string"}, extra: {"type": "string"}}},
                         {"type": "string"}]})
    };
    let doc = json!({"openapi": "3.0.3", "paths": {}, "components": {"schemas": {
        "Agent": {"type": "string"},
        "Feed": {"type": "object", "properties": {"agent": agent("name")}},
        "Run": {"type": "object", "properties": {"agent": agent("name")}}}}});
    let (doc, n) = run(RULE, doc);
    assert_eq!(n, 2);
    // `Agent` is taken and a lone `Object` says nothing, so the owner's word comes first.
    assert_eq!(
        doc["components"]["schemas"]["Feed"]["properties"]["agent"]["oneOf"][0],
        json!({"$ref": "#/components/schemas/AgentObject"})
    );
}

#[test]
fn names_never_take_a_components_name() {
    let doc = json!({"openapi": "3.0.3", "paths": {}, "components": {"schemas": {
        "Acl": {"type": "string"},
        "Agent": {"type": "object", "properties": {"acl": grant("")}},
        "Team": {"type": "object", "properties": {"acl": grant("")}}}}});
    let (doc, _) = run(RULE, doc);
    // `Acl` is taken; of the owner-prefixed names the shorter wins.
    assert_eq!(
        doc["components"]["schemas"]["Agent"]["properties"]["acl"],
        json!({"$ref": "#/components/schemas/TeamAcl"})
    );
}

#[test]
fn titles_of_inline_schemas_are_never_taken() {
    // Two shapes share a title; the repeated one must not be named by it, or typify would
    // name the other one the same.
    let mut titled = grant("");
    titled["title"] = json!("Owner");
    let mut other = json!({"type": "object", "title": "Owner", "properties": {"x": {"type": "integer"}}});
    other["description"] = json!("another shape");
    let doc = json!({"openapi": "3.0.3", "paths": {}, "components": {"schemas": {
        "Agent": {"type": "object", "properties": {"owner": titled.clone(), "other": other}},
        "Team": {"type": "object", "properties": {"owner": titled}}}}});
    let (doc, _) = run(RULE, doc);
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["Agent"]["properties"]["owner"],
        json!({"$ref": "#/components/schemas/TeamOwner"})
    );
    assert!(schemas["TeamOwner"].get("title").is_none());
    assert_eq!(schemas["Agent"]["properties"]["other"]["title"], json!("Owner"));
}

#[test]
fn single_nullable_and_differently_shaped_schemas_stay_inline() {
    let mut nullable = grant("");
    nullable["nullable"] = json!(true);
    let mut other = grant("");
    other["required"] = json!([]);
    let doc = json!({"openapi": "3.0.3", "paths": {}, "components": {"schemas": {
        "Agent": {"type": "object", "properties": {"a": grant(""), "b": nullable.clone()}},
        "Team": {"type": "object", "properties": {"a": other, "b": nullable}}}}});
    let (_, n) = run(RULE, doc);
    assert_eq!(n, 0);
}

#[test]
fn a_property_called_description_is_part_of_the_shape() {
    let with = json!({"type": "object", "properties": {"description": {"type": "string"}}});
    let without = json!({"type": "object", "properties": {"name": {"type": "string"}}});
    let doc = json!({"openapi": "3.0.3", "paths": {}, "components": {"schemas": {
        "A": {"type": "object", "properties": {"x": with}},
        "B": {"type": "object", "properties": {"x": without}}}}});
    let (_, n) = run(RULE, doc);
    assert_eq!(n, 0);
}

#[test]
fn body_schemas_only_refer_to_existing_components() {
    let body = |s: serde_json::Value| json!({"content": {"application/json": {"schema": s}}});
    let doc = json!({"openapi": "3.0.3", "paths": {
        "/a": {"post": {"operationId": "a", "requestBody": body(grant("")), "responses": {}}},
        "/b": {"post": {"operationId": "b", "requestBody": body(grant("")), "responses": {}}}}});
    let (_, n) = run(RULE, doc);
    assert_eq!(n, 0, "two operations' bodies are not renamed after one of them");
}

#[test]
fn repeated_string_enums_are_shared() {
    let level = json!({"type": "string", "enum": ["low", "high"]});
    let doc = json!({"openapi": "3.0.3", "paths": {}, "components": {"schemas": {
        "A": {"type": "object", "properties": {"level": level.clone()}},
        "B": {"type": "object", "properties": {"level": level}}}}});
    let (doc, n) = run(RULE, doc);
    assert_eq!(n, 2);
    assert_eq!(doc["components"]["schemas"]["Level"]["enum"], json!(["low", "high"]));
}
