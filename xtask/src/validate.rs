//! Structural checks on a spec as written, before any rule runs. Errors stop generation; warnings
//! are constructs a normalization rule repairs and are shown by `cargo xtask specs`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{escape, SpecError};
use crate::rules::walk;
use crate::syntax::{progenitor_name, template_params};

/// What the checks found.
#[derive(Debug, Default)]
pub struct Findings {
    /// Problems that make the spec unusable.
    pub errors: Vec<SpecError>,
    /// Problems a normalization rule repairs (with the rule's name in the message).
    pub warnings: Vec<SpecError>,
}

/// Checks the OpenAPI version, operation ids, `$ref`s and path parameters of `doc`, and its
/// realtime channels (see [`crate::channels::read`]).
pub fn check(file: &str, doc: &Value) -> Findings {
    let mut f = Findings::default();
    match doc.get("openapi").and_then(Value::as_str) {
        Some(v) if v.starts_with("3.0.") || v.starts_with("3.1.") => {}
        Some(v) => f.errors.push(SpecError::new(
            file,
            "/openapi",
            format!("unsupported OpenAPI version {v:?} (3.0.x or 3.1.x)"),
        )),
        None => f
            .errors
            .push(SpecError::new(file, "/openapi", "missing `openapi` version string")),
    }
    if !doc.get("paths").is_some_and(Value::is_object) {
        f.errors.push(SpecError::new(file, "/paths", "missing `paths` object"));
    }
    check_refs(file, doc, doc, "", &mut f);
    // Channel schemas are data to the OpenAPI walk above, but the generator reads them.
    if let Some(channels) = doc.get("x-channels") {
        check_refs(file, doc, channels, "/x-channels", &mut f);
    }
    if let Err(errors) = crate::channels::read(file, doc) {
        f.errors.extend(errors);
    }

    // Keyed by the method name progenitor derives (`listAgents` and `list_agents` are one
    // method): the id as written and where it was first seen.
    let mut ids: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut doc_copy = doc.clone();
    walk::operations(&mut doc_copy, &mut |op, _, path, ptr| {
        match op.get("operationId").and_then(Value::as_str) {
            Some(id) => {
                let method = progenitor_name(id);
                match ids.get(&method) {
                    Some((first_id, first)) if first_id == id => f.errors.push(SpecError::new(
                        file,
                        ptr,
                        format!("operationId `{id}` is also used at {first}"),
                    )),
                    Some((first_id, first)) => f.errors.push(SpecError::new(
                        file,
                        ptr,
                        format!(
                            "operationId `{id}` becomes the method `{method}`, as `{first_id}` at {first} does; rename one"
                        ),
                    )),
                    None => {
                        ids.insert(method, (id.to_owned(), ptr.to_owned()));
                    }
                }
            }
            None => f.errors.push(SpecError::new(file, ptr, "operation has no operationId")),
        }
        let declared: Vec<String> = declared_path_params(doc, path, op);
        for name in template_params(path) {
            if !declared.iter().any(|d| d == name) {
                f.warnings.push(SpecError::new(
                    file,
                    ptr,
                    format!("path parameter `{name}` is not declared (repaired by `declare-missing-path-params`)"),
                ));
            }
        }
        for name in &declared {
            if !template_params(path).contains(&name.as_str()) {
                f.errors.push(SpecError::new(
                    file,
                    ptr,
                    format!("path parameter `{name}` is declared but not in the path template"),
                ));
            }
        }
    });
    f
}

fn declared_path_params(doc: &Value, path: &str, op: &serde_json::Map<String, Value>) -> Vec<String> {
    let shared = doc.pointer(&format!("/paths/{}/parameters", escape(path)));
    let own = op.get("parameters");
    [shared, own]
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|p| match p.get("$ref").and_then(Value::as_str) {
            Some(r) => r.strip_prefix('#').and_then(|r| doc.pointer(r)),
            None => Some(p),
        })
        .filter(|p| p.get("in").and_then(Value::as_str) == Some("path"))
        .filter_map(|p| p.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

fn check_refs(file: &str, root: &Value, node: &Value, ptr: &str, f: &mut Findings) {
    let mut stack = vec![(ptr.to_owned(), node)];
    while let Some((ptr, node)) = stack.pop() {
        match node {
            Value::Object(map) => {
                if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                    match r.strip_prefix('#') {
                        Some(target) if root.pointer(target).is_some() => {}
                        Some(_) => f.errors.push(SpecError::new(
                            file,
                            format!("{ptr}/$ref"),
                            format!("`$ref: {r}` does not resolve"),
                        )),
                        None => f.errors.push(SpecError::new(
                            file,
                            format!("{ptr}/$ref"),
                            format!("external `$ref: {r}` is not supported; bundle it into the document"),
                        )),
                    }
                }
                for (k, v) in map {
                    // Vendor extensions hold data (examples, channel payloads), not references.
                    if !k.starts_with("x-") && k != "example" && k != "examples" {
                        stack.push((format!("{ptr}/{}", escape(k)), v));
                    }
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    stack.push((format!("{ptr}/{i}"), v));
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dangling_ref_duplicate_id_and_undeclared_param_are_reported_with_pointers() {
        let doc = json!({"openapi": "3.0.3", "paths": {
            "/a/{id}": {"get": {"operationId": "x", "responses": {"200": {"$ref": "#/components/responses/Gone"}}}},
            "/b": {"get": {"operationId": "x", "parameters": [{"name": "id", "in": "path"}]}}}});
        let f = check("s.json", &doc);
        let errors: Vec<String> = f.errors.iter().map(ToString::to_string).collect();
        assert!(errors.iter().any(|e| e.contains("s.json#/paths/~1a~1{id}/get/responses/200/$ref") && e.contains("does not resolve")), "{errors:?}");
        assert!(
            errors.iter().any(|e| e.contains("operationId `x` is also used")),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.contains("`id` is declared but not in the path template")),
            "{errors:?}"
        );
        assert_eq!(f.warnings.len(), 1);
        assert!(f.warnings[0].message.contains("declare-missing-path-params"));
    }

    #[test]
    fn channel_problems_are_errors_with_pointers() {
        let doc = json!({"openapi": "3.0.3", "paths": {}, "x-channels": [{"name": "C", "joins": [{
            "name": "join_team", "pattern": "t:{team_id}",
            "params": {"type": "object", "properties": {"x": {"$ref": "#/components/schemas/Gone"}}}}]}]});
        let errors: Vec<String> = check("s.json", &doc).errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            errors,
            [
                "s.json#/x-channels/0/joins/0/params/properties/x/$ref: `$ref: #/components/schemas/Gone` does not resolve",
                "s.json#/x-channels/0/joins/0/pattern: parameter {team_id} is not in params",
            ]
        );
    }

    #[test]
    fn operation_ids_are_compared_by_the_method_they_become() {
        let doc = json!({"openapi": "3.0.3", "paths": {
            "/a": {"get": {"operationId": "listAgents"}},
            "/b": {"get": {"operationId": "list_agents"}},
            "/c": {"get": {"operationId": "list-agents"}},
            "/d": {"get": {"operationId": "listAgent"}}}});
        let errors: Vec<String> = check("s.json", &doc).errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            errors,
            [
                "s.json#/paths/~1b/get: operationId `list_agents` becomes the method `list_agents`, as `listAgents` at /paths/~1a/get does; rename one",
                "s.json#/paths/~1c/get: operationId `list-agents` becomes the method `list_agents`, as `listAgents` at /paths/~1a/get does; rename one",
            ]
        );
    }

    #[test]
    fn version_and_paths_are_required() {
        let f = check("s.json", &json!({"openapi": "2.0"}));
        assert_eq!(f.errors.len(), 2);
    }
}
