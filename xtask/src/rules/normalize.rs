//! Rules that make a valid OpenAPI 3.0 document generate a correct, readable progenitor client.
//! Each one exists because progenitor panics, fails at send time, throws data away or produces
//! unreadable names on a construct real vendor documents use.

use serde_json::{json, Map, Value};

use super::walk;
use super::{Options, Rule, RuleError};
use crate::error::escape;

/// The normalization rules, in the order they run.
pub const RULES: &[Rule] = &[
    Rule {
        name: "inline-component-refs",
        doc: "Replaces `$ref`s to `components.parameters/responses/requestBodies/headers` by copies of their targets, so later rules see every parameter and response in place.",
        apply: inline_component_refs,
    },
    Rule {
        name: "hoist-path-item-parameters",
        doc: "Copies parameters declared on a path item into each of its operations (an operation's own declaration wins).",
        apply: hoist_path_item_parameters,
    },
    Rule {
        name: "declare-missing-path-params",
        doc: "Declares a required string path parameter for every `{name}` in a path template that the operation does not declare (progenitor panics on them).",
        apply: declare_missing_path_params,
    },
    Rule {
        name: "open-enum-untagged",
        doc: "Rewrites an open enum (`anyOf`/`oneOf` of a string `enum` and a plain string) as a `oneOf` whose plain branch is titled `Other`, so typify emits an untagged enum with the known values and an `Other(String)` fallback (typify turns `anyOf` into a struct of optional flattened fields, which cannot decode a string).",
        apply: open_enum_untagged,
    },
    Rule {
        name: "deep-query-as-encoded-string",
        doc: "Turns object and array-of-object query parameters (which progenitor cannot encode) into strings marked `x-deep-query`; callers pass the bracket-encoded pairs and the runtime splices them into the query.",
        apply: deep_query_as_encoded_string,
    },
    Rule {
        name: "plug-bracket-array-query",
        doc: "For Phoenix/Plug servers, renames array query parameters `name` to `name[]`, so every value is read (Plug keeps only the last of repeated plain keys).",
        apply: plug_bracket_array_query,
    },
    Rule {
        name: "multipart-body-as-bytes",
        doc: "Turns a `multipart/form-data` request body (progenitor cannot send one) into raw bytes marked `x-multipart`; the runtime sends it with the multipart content type and the boundary the body starts with.",
        apply: multipart_body_as_bytes,
    },
    Rule {
        name: "error-responses-keep-body",
        doc: "Gives 4XX/5XX/default responses without content an `application/json` body of any shape, so the server's error body reaches the caller instead of being discarded.",
        apply: error_responses_keep_body,
    },
    Rule {
        name: "websocket-upgrade",
        doc: "Marks an operation whose only success is `101 Switching Protocols` with `x-dropshot-websocket`, so progenitor sends the WebSocket upgrade headers and hands back the upgraded connection (without it the request is a plain GET and the 101 is \"unexpected\").",
        apply: websocket_upgrade,
    },
    Rule {
        name: "rest-operation-names",
        doc: "Renames path-shaped operation ids such as `get_api_v1_agents__agent` to REST-style names (`get_agent`, `list_agents`, `create_agent`, `upgrade_agent`); an `x-sdk-name` wins; the original id is kept in `x-original-operation-id`.",
        apply: rest_operation_names,
    },
];

fn resolve_local<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

fn inline_component_refs(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let snapshot = doc.clone();
    let mut n = 0;
    let mut err = None;
    let mut inline = |v: &mut Value, ptr: &str| {
        let Some(reference) = v.get("$ref").and_then(Value::as_str).map(str::to_owned) else {
            return;
        };
        // Follow chains of refs (a response that refs a response) but not forever.
        let mut target = resolve_local(&snapshot, &reference);
        let mut hops = 0;
        while let Some(next) = target.and_then(|t| t.get("$ref")).and_then(Value::as_str) {
            hops += 1;
            target = if hops > 16 {
                None
            } else {
                resolve_local(&snapshot, next)
            };
        }
        match target {
            Some(t) => {
                *v = t.clone();
                n += 1;
            }
            None => {
                err.get_or_insert(RuleError {
                    pointer: ptr.to_owned(),
                    message: format!("`$ref: {reference}` does not resolve"),
                });
            }
        }
    };
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let item_ptr = format!("/paths/{}", escape(path));
            let Some(item) = item.as_object_mut() else { continue };
            for (key, node) in item.iter_mut() {
                let ptr = format!("{item_ptr}/{key}");
                if key == "parameters" {
                    for (i, p) in node.as_array_mut().into_iter().flatten().enumerate() {
                        inline(p, &format!("{ptr}/{i}"));
                    }
                    continue;
                }
                if !walk::methods().contains(&key.as_str()) {
                    continue;
                }
                let Some(op) = node.as_object_mut() else { continue };
                for (i, p) in op
                    .get_mut("parameters")
                    .and_then(Value::as_array_mut)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    inline(p, &format!("{ptr}/parameters/{i}"));
                }
                if let Some(body) = op.get_mut("requestBody") {
                    inline(body, &format!("{ptr}/requestBody"));
                }
                for (code, r) in op
                    .get_mut("responses")
                    .and_then(Value::as_object_mut)
                    .into_iter()
                    .flatten()
                {
                    let rptr = format!("{ptr}/responses/{}", escape(code));
                    inline(r, &rptr);
                    for (h, hv) in r
                        .get_mut("headers")
                        .and_then(Value::as_object_mut)
                        .into_iter()
                        .flatten()
                    {
                        inline(hv, &format!("{rptr}/headers/{}", escape(h)));
                    }
                }
            }
        }
    }
    err.map_or(Ok(n), Err)
}

fn param_key(p: &Value) -> (String, String) {
    let get = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    (get("name"), get("in"))
}

fn hoist_path_item_parameters(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let mut n = 0;
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return Ok(0);
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        let Some(Value::Array(shared)) = item.remove("parameters") else {
            continue;
        };
        for method in walk::methods() {
            let Some(op) = item.get_mut(*method).and_then(Value::as_object_mut) else {
                continue;
            };
            let params = op.entry("parameters").or_insert_with(|| json!([]));
            let Some(list) = params.as_array_mut() else { continue };
            for p in &shared {
                if !list.iter().any(|q| param_key(q) == param_key(p)) {
                    list.push(p.clone());
                    n += 1;
                }
            }
        }
    }
    Ok(n)
}

/// The `{name}` placeholders of a path template, in order.
pub fn template_params(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .collect()
}

fn declare_missing_path_params(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let mut n = 0;
    walk::operations(doc, &mut |op, _, path, _| {
        let params = op.entry("parameters").or_insert_with(|| json!([]));
        let Some(list) = params.as_array_mut() else { return };
        for name in template_params(path) {
            if !list
                .iter()
                .any(|p| param_key(p) == (name.to_owned(), "path".to_owned()))
            {
                list.push(
                    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"},
                    "description": "Declared by the generator: the path template uses it."}),
                );
                n += 1;
            }
        }
    });
    Ok(n)
}

fn is_string_enum(v: &Value) -> bool {
    v.get("enum")
        .and_then(Value::as_array)
        .is_some_and(|e| !e.is_empty() && e.iter().all(Value::is_string))
}

fn is_plain_string(v: &Value) -> bool {
    v.as_object().is_some_and(|m| {
        m.get("type").and_then(Value::as_str) == Some("string")
            && m.keys()
                .all(|k| matches!(k.as_str(), "type" | "description" | "title" | "example"))
    })
}

fn open_enum_untagged(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let mut n = 0;
    walk::schemas(doc, &mut |s, _| {
        for key in ["anyOf", "oneOf"] {
            let Some([known, other]) = s.get(key).and_then(Value::as_array).map(Vec::as_slice) else {
                continue;
            };
            let (known, other) = match (is_string_enum(known), is_plain_string(other)) {
                (true, true) => (known.clone(), other.clone()),
                _ if is_string_enum(other) && is_plain_string(known) => (other.clone(), known.clone()),
                _ => continue,
            };
            if other.get("title").and_then(Value::as_str) == Some("Other") && key == "oneOf" {
                continue;
            }
            let mut other = other;
            other["title"] = json!("Other");
            s.remove(key);
            s.insert("oneOf".into(), json!([known, other]));
            n += 1;
        }
    });
    Ok(n)
}

fn schema_type(schema: &Value) -> Option<&str> {
    schema.get("type").and_then(Value::as_str)
}

fn is_deep(schema: &Value) -> bool {
    let has_properties = schema.get("properties").is_some() || schema.get("additionalProperties").is_some();
    match schema_type(schema) {
        Some("object") => true,
        Some("array") => schema
            .get("items")
            .is_some_and(|i| schema_type(i) == Some("object") || i.get("properties").is_some()),
        None => has_properties,
        _ => false,
    }
}

fn query_params(op: &mut Map<String, Value>) -> impl Iterator<Item = &mut Map<String, Value>> {
    op.get_mut("parameters")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
        .filter(|p| p.get("in").and_then(Value::as_str) == Some("query"))
}

fn deep_query_as_encoded_string(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let mut n = 0;
    walk::operations(doc, &mut |op, _, _, _| {
        for p in query_params(op) {
            let Some(schema) = p.get("schema").filter(|s| is_deep(s)).cloned() else {
                continue;
            };
            p.insert("schema".into(), json!({"type": "string"}));
            p.insert("x-deep-query".into(), schema);
            p.insert("style".into(), json!("form"));
            n += 1;
        }
    });
    Ok(n)
}

fn plug_bracket_array_query(doc: &mut Value, options: &Options) -> Result<usize, RuleError> {
    if !options.plug_query {
        return Ok(0);
    }
    let mut n = 0;
    walk::operations(doc, &mut |op, _, _, _| {
        for p in query_params(op) {
            let is_array = p.get("schema").and_then(schema_type) == Some("array");
            let Some(name) = p.get("name").and_then(Value::as_str).filter(|n| !n.ends_with("[]")) else {
                continue;
            };
            if is_array {
                let bracketed = format!("{name}[]");
                p.insert("name".into(), Value::String(bracketed));
                n += 1;
            }
        }
    });
    Ok(n)
}

fn multipart_body_as_bytes(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let mut n = 0;
    walk::operations(doc, &mut |op, _, _, _| {
        let Some(content) = op
            .get_mut("requestBody")
            .and_then(|b| b.get_mut("content"))
            .and_then(Value::as_object_mut)
        else {
            return;
        };
        if content.contains_key("application/json") || content.remove("multipart/form-data").is_none() {
            return;
        }
        content.insert(
            "application/octet-stream".into(),
            json!({"schema": {"type": "string", "format": "binary"}}),
        );
        op.insert("x-multipart".into(), Value::Bool(true));
        n += 1;
    });
    Ok(n)
}

fn is_error_status(code: &str) -> bool {
    code == "default" || code.starts_with('4') || code.starts_with('5')
}

fn error_responses_keep_body(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let mut n = 0;
    walk::operations(doc, &mut |op, _, _, _| {
        for (code, r) in op
            .get_mut("responses")
            .and_then(Value::as_object_mut)
            .into_iter()
            .flatten()
        {
            let Some(r) = r.as_object_mut() else { continue };
            if is_error_status(code) && r.get("content").and_then(Value::as_object).is_none_or(Map::is_empty) {
                r.insert("content".into(), json!({"application/json": {"schema": {}}}));
                n += 1;
            }
        }
    });
    Ok(n)
}

fn websocket_upgrade(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let mut n = 0;
    walk::operations(doc, &mut |op, _, _, _| {
        let Some(responses) = op.get("responses").and_then(Value::as_object) else {
            return;
        };
        let successes: Vec<&String> = responses
            .keys()
            .filter(|c| c.starts_with('1') || c.starts_with('2'))
            .collect();
        if successes == ["101"] && !op.contains_key("x-dropshot-websocket") {
            op.insert("x-dropshot-websocket".into(), json!({}));
            n += 1;
        }
    });
    Ok(n)
}

/// The operation id a path-shaped generator would give `method path`:
/// `get /api/v1/agents/{agent}` → `get_api_v1_agents__agent`.
fn path_shaped_id(method: &str, path: &str) -> String {
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(param) => format!("_{param}"),
            None => s.to_owned(),
        })
        .collect();
    format!("{method}_{}", segments.join("_"))
        .to_lowercase()
        .replace(|c: char| !c.is_ascii_alphanumeric() && c != '_', "_")
}

fn is_plural(word: &str) -> bool {
    word.ends_with('s') && !word.ends_with("ss")
}

fn singular(word: &str) -> String {
    if let Some(stem) = word.strip_suffix("ies") {
        format!("{stem}y")
    } else if is_plural(word) {
        word[..word.len() - 1].to_owned()
    } else {
        word.to_owned()
    }
}

/// A REST-style name for `method path`, from the shape of the path alone.
pub fn rest_name(method: &str, path: &str) -> String {
    #[derive(PartialEq)]
    enum Seg<'a> {
        Lit(&'a str),
        Param,
    }
    let segs: Vec<Seg> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| if s.starts_with('{') { Seg::Param } else { Seg::Lit(s) })
        .skip_while(|s| matches!(s, Seg::Lit(l) if *l == "api" || is_version(l)))
        .collect();
    let mut words: Vec<String> = Vec::new();
    for (i, seg) in segs.iter().enumerate() {
        let Seg::Lit(lit) = seg else { continue };
        let mut word = if segs.get(i + 1) == Some(&Seg::Param) {
            singular(lit)
        } else {
            (*lit).to_owned()
        };
        if let Some(prev) = words.last() {
            if let Some(rest) = word.strip_prefix(&format!("{prev}_")) {
                word = rest.to_owned();
            }
        }
        words.push(word.replace('-', "_"));
    }
    let last_is_param = segs.last() == Some(&Seg::Param);
    let after_param = segs.len() >= 2 && segs[segs.len() - 2] == Seg::Param;
    let last_word = words.last().cloned().unwrap_or_default();
    let verb = match (method, last_is_param) {
        ("get", true) => "get",
        ("put" | "patch", _) => "update",
        ("delete", true) => "delete",
        ("post", true) => "post",
        ("get", false) if is_plural(&last_word) => "list",
        ("get", false) => "get",
        ("post", false) if is_plural(&last_word) => {
            if let Some(w) = words.last_mut() {
                *w = singular(w);
            }
            "create"
        }
        ("delete", false) if is_plural(&last_word) => "delete",
        // An action on a resource: `POST /agents/{agent}/upgrade` → `upgrade_agent`.
        (_, false) if after_param => {
            words.pop();
            return std::iter::once(last_word).chain(words).collect::<Vec<_>>().join("_");
        }
        _ => "",
    };
    std::iter::once(verb.to_owned())
        .filter(|v| !v.is_empty())
        .chain(words)
        .collect::<Vec<_>>()
        .join("_")
}

fn is_version(segment: &str) -> bool {
    segment.len() > 1 && segment.starts_with('v') && segment[1..].chars().all(|c| c.is_ascii_digit())
}

fn rest_operation_names(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let mut taken: Vec<String> = Vec::new();
    walk::operations(doc, &mut |op, _, _, _| {
        if let Some(id) = op.get("operationId").and_then(Value::as_str) {
            taken.push(id.to_owned());
        }
    });
    let mut n = 0;
    walk::operations(doc, &mut |op, method, path, _| {
        let Some(id) = op.get("operationId").and_then(Value::as_str).map(str::to_owned) else {
            return;
        };
        if id != path_shaped_id(method, path) {
            return;
        }
        let name = op
            .get("x-sdk-name")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| rest_name(method, path));
        if name.is_empty() || taken.contains(&name) {
            return;
        }
        taken.push(name.clone());
        op.insert("x-original-operation-id".into(), Value::String(id));
        op.insert("operationId".into(), Value::String(name));
        n += 1;
    });
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rule: &str, mut doc: Value, options: Options) -> (Value, usize) {
        let r = RULES.iter().find(|r| r.name == rule).expect("rule exists");
        let n = (r.apply)(&mut doc, &options).expect("rule applies");
        (doc, n)
    }

    fn op(path: &str, method: &str, op: Value) -> Value {
        json!({"openapi": "3.0.3", "paths": {path: {method: op}}})
    }

    #[test]
    fn inline_component_refs_copies_targets_and_reports_dangling() {
        let mut doc = op(
            "/a",
            "get",
            json!({"parameters": [{"$ref": "#/components/parameters/P"}],
            "responses": {"400": {"$ref": "#/components/responses/E"}}}),
        );
        doc["components"] =
            json!({"parameters": {"P": {"name": "p", "in": "query"}}, "responses": {"E": {"description": "e"}}});
        let (doc, n) = run("inline-component-refs", doc, Options::default());
        assert_eq!(
            doc["paths"]["/a"]["get"]["parameters"][0],
            json!({"name": "p", "in": "query"})
        );
        assert_eq!(
            doc["paths"]["/a"]["get"]["responses"]["400"],
            json!({"description": "e"})
        );
        assert_eq!(n, 2);

        let mut bad = op(
            "/a",
            "get",
            json!({"parameters": [{"$ref": "#/components/parameters/Nope"}]}),
        );
        let err = (RULES[0].apply)(&mut bad, &Options::default()).expect_err("dangling ref");
        assert_eq!(err.pointer, "/paths/~1a/get/parameters/0");
    }

    #[test]
    fn hoist_keeps_operation_override() {
        let doc = json!({"paths": {"/a/{id}": {
            "parameters": [{"name": "id", "in": "path", "schema": {"type": "string"}}, {"name": "q", "in": "query"}],
            "get": {"parameters": [{"name": "q", "in": "query", "required": true}]}}}});
        let (doc, n) = run("hoist-path-item-parameters", doc, Options::default());
        let params = &doc["paths"]["/a/{id}"]["get"]["parameters"];
        assert_eq!(params.as_array().map(Vec::len), Some(2));
        assert_eq!(params[0]["required"], json!(true));
        assert!(doc["paths"]["/a/{id}"].get("parameters").is_none());
        assert_eq!(n, 1);
    }

    #[test]
    fn missing_path_param_is_declared() {
        let (doc, n) = run(
            "declare-missing-path-params",
            op("/teams/{team}/x", "post", json!({})),
            Options::default(),
        );
        assert_eq!(
            doc["paths"]["/teams/{team}/x"]["post"]["parameters"][0]["name"],
            json!("team")
        );
        assert_eq!(
            doc["paths"]["/teams/{team}/x"]["post"]["parameters"][0]["required"],
            json!(true)
        );
        assert_eq!(n, 1);
    }

    #[test]
    fn open_enums_become_untagged_oneof_with_other() {
        let doc = json!({"components": {"schemas": {
            "S": {"anyOf": [{"type": "string", "enum": ["a", "b"]}, {"type": "string"}]},
            "T": {"anyOf": [{"type": "string", "enum": ["a"]}, {"type": "integer"}]}}}});
        let (doc, n) = run("open-enum-untagged", doc, Options::default());
        assert_eq!(
            doc["components"]["schemas"]["S"],
            json!({"oneOf": [{"type": "string", "enum": ["a", "b"]}, {"type": "string", "title": "Other"}]})
        );
        assert!(doc["components"]["schemas"]["T"].get("anyOf").is_some());
        assert_eq!(n, 1);
    }

    #[test]
    fn object_and_array_of_object_query_params_become_strings() {
        let doc = op(
            "/a",
            "get",
            json!({"parameters": [
            {"name": "metadata", "in": "query", "schema": {"type": "object", "properties": {"op": {"type": "string"}}}},
            {"name": "filter", "in": "query", "schema": {"type": "array", "items": {"type": "object"}}},
            {"name": "kind", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}}]}),
        );
        let (doc, n) = run("deep-query-as-encoded-string", doc, Options::default());
        let params = &doc["paths"]["/a"]["get"]["parameters"];
        assert_eq!(params[0]["schema"], json!({"type": "string"}));
        assert_eq!(params[0]["x-deep-query"]["type"], json!("object"));
        assert_eq!(params[1]["schema"], json!({"type": "string"}));
        assert_eq!(params[2]["schema"]["type"], json!("array"));
        assert_eq!(n, 2);
    }

    #[test]
    fn array_query_params_get_brackets_only_for_plug() {
        let doc = op(
            "/a",
            "get",
            json!({"parameters": [
            {"name": "kind", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}},
            {"name": "limit", "in": "query", "schema": {"type": "integer"}}]}),
        );
        let (off, n) = run("plug-bracket-array-query", doc.clone(), Options::default());
        assert_eq!((off, n), (doc.clone(), 0));
        let (on, n) = run("plug-bracket-array-query", doc, Options { plug_query: true });
        assert_eq!(on["paths"]["/a"]["get"]["parameters"][0]["name"], json!("kind[]"));
        assert_eq!(on["paths"]["/a"]["get"]["parameters"][1]["name"], json!("limit"));
        assert_eq!(n, 1);
    }

    #[test]
    fn multipart_bodies_become_bytes_unless_json_is_offered() {
        let doc = json!({"paths": {
            "/a": {"post": {"requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object"}}}}}},
            "/b": {"post": {"requestBody": {"content": {"multipart/form-data": {}, "application/json": {}}}}}}});
        let (doc, n) = run("multipart-body-as-bytes", doc, Options::default());
        let a = &doc["paths"]["/a"]["post"];
        assert_eq!(
            a["requestBody"]["content"]["application/octet-stream"]["schema"]["format"],
            json!("binary")
        );
        assert_eq!(a["x-multipart"], json!(true));
        assert!(doc["paths"]["/b"]["post"].get("x-multipart").is_none());
        assert_eq!(n, 1);
    }

    #[test]
    fn bodyless_error_responses_get_any_json() {
        let doc = op(
            "/a",
            "get",
            json!({"responses": {"200": {"description": "ok"}, "404": {"description": "nf"},
            "422": {"description": "v", "content": {"application/json": {"schema": {"type": "object"}}}}}}),
        );
        let (doc, n) = run("error-responses-keep-body", doc, Options::default());
        let r = &doc["paths"]["/a"]["get"]["responses"];
        assert!(r["200"].get("content").is_none());
        assert_eq!(r["404"]["content"]["application/json"]["schema"], json!({}));
        assert_eq!(
            r["422"]["content"]["application/json"]["schema"],
            json!({"type": "object"})
        );
        assert_eq!(n, 1);
    }

    #[test]
    fn switching_protocols_marks_a_websocket() {
        let ws = op(
            "/ws",
            "get",
            json!({"responses": {"101": {"description": "upgraded"}, "401": {"description": "no"}}}),
        );
        let (doc, n) = run("websocket-upgrade", ws, Options::default());
        assert_eq!(doc["paths"]["/ws"]["get"]["x-dropshot-websocket"], json!({}));
        assert_eq!(n, 1);
        let plain = op(
            "/a",
            "get",
            json!({"responses": {"200": {"description": "ok"}, "101": {"description": "maybe"}}}),
        );
        let (doc, n) = run("websocket-upgrade", plain, Options::default());
        assert!(doc["paths"]["/a"]["get"].get("x-dropshot-websocket").is_none());
        assert_eq!(n, 0);
    }

    #[test]
    fn rest_names_follow_the_path_shape() {
        let cases = [
            ("get", "/api/v1/agents", "list_agents"),
            ("post", "/api/v1/agents", "create_agent"),
            ("get", "/api/v1/agents/{agent}", "get_agent"),
            ("patch", "/api/v1/agents/{agent}", "update_agent"),
            ("delete", "/api/v1/agents/{agent}", "delete_agent"),
            ("get", "/api/v1/agents/{agent}/agent_tools", "list_agent_tools"),
            ("post", "/api/v1/agents/{agent}/upgrade", "upgrade_agent"),
            ("get", "/api/v1/teams/{team}/members", "list_team_members"),
            ("patch", "/api/v1/teams/{team}/members/{user}", "update_team_member"),
            ("delete", "/api/v1/teams/{team}/leave", "leave_team"),
            ("get", "/api/v1/users/me", "get_users_me"),
            ("post", "/api/v1/auth/login", "auth_login"),
            ("put", "/api/v1/threads/{thread}/picture", "update_thread_picture"),
            ("get", "/api/v1/categories", "list_categories"),
        ];
        for (method, path, want) in cases {
            assert_eq!(rest_name(method, path), want, "{method} {path}");
        }
    }

    #[test]
    fn rest_operation_names_only_touch_path_shaped_ids_and_avoid_collisions() {
        let doc = json!({"paths": {
            "/api/v1/agents": {"get": {"operationId": "get_api_v1_agents"}, "post": {"operationId": "makeAgent"}},
            "/api/v1/agents/{agent}": {"get": {"operationId": "get_api_v1_agents__agent", "x-sdk-name": "fetch_agent"}},
            "/api/v2/agents": {"get": {"operationId": "get_api_v2_agents"}}}});
        let (doc, n) = run("rest-operation-names", doc, Options::default());
        assert_eq!(
            doc["paths"]["/api/v1/agents"]["get"]["operationId"],
            json!("list_agents")
        );
        assert_eq!(
            doc["paths"]["/api/v1/agents"]["get"]["x-original-operation-id"],
            json!("get_api_v1_agents")
        );
        assert_eq!(
            doc["paths"]["/api/v1/agents"]["post"]["operationId"],
            json!("makeAgent")
        );
        assert_eq!(
            doc["paths"]["/api/v1/agents/{agent}"]["get"]["operationId"],
            json!("fetch_agent")
        );
        // Same REST name as /api/v1/agents: the second keeps its original id rather than collide.
        assert_eq!(
            doc["paths"]["/api/v2/agents"]["get"]["operationId"],
            json!("get_api_v2_agents")
        );
        assert_eq!(n, 2);
    }
}
