//! Rules that make a valid OpenAPI 3.0 document generate a correct, readable progenitor client.
//! Each one exists because progenitor panics, fails at send time, throws data away or produces
//! unreadable names on a construct real vendor documents use.

use serde_json::{json, Map, Value};

use super::walk;
use super::{Options, Rule, RuleError};
use crate::error::escape;
use crate::syntax::template_params;

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
        name: "default-response-as-error-ranges",
        doc: "Replaces the `default` response of an operation that documents its successes (a `2xx` status, no `2XX` range) by `4XX` and `5XX` responses of the same shape: progenitor counts `default` among the successes, so an error body would decode as the success type, and a `default` body unlike the success body makes it panic (`response_types.len() <= 1`).",
        apply: default_response_as_error_ranges,
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

fn is_error_status(code: &str) -> bool {
    code == "default" || code.starts_with('4') || code.starts_with('5')
}

fn default_response_as_error_ranges(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let mut n = 0;
    walk::operations(doc, &mut |op, _, _, _| {
        let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
            return;
        };
        let documented = responses.keys().any(|k| k.starts_with('2') && k != "2XX" && k != "2xx");
        if !documented || responses.contains_key("2XX") || responses.contains_key("2xx") {
            return;
        }
        let Some(default) = responses.remove("default") else {
            return;
        };
        for range in ["4XX", "5XX"] {
            responses.entry(range).or_insert_with(|| default.clone());
        }
        n += 1;
    });
    Ok(n)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{op, run, run_with};

    #[test]
    fn a_default_response_beside_documented_successes_becomes_the_error_ranges() {
        let problem = json!({"description": "a problem", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}});
        let doc = json!({"openapi": "3.0.3", "paths": {
            "/a": {"get": {"responses": {"200": {"description": "ok"}, "404": {"description": "gone"}, "default": problem}}},
            "/b": {"get": {"responses": {"default": problem}}},
            "/c": {"get": {"responses": {"2XX": {"description": "ok"}, "200": {"description": "ok"}, "default": problem}}}}});
        let (doc, n) = run("default-response-as-error-ranges", doc);
        assert_eq!(n, 1);
        let a = &doc["paths"]["/a"]["get"]["responses"];
        assert!(a.get("default").is_none());
        assert_eq!((&a["4XX"], &a["5XX"]), (&problem, &problem));
        assert_eq!(
            a["404"],
            json!({"description": "gone"}),
            "an explicit status keeps its own"
        );
        assert_eq!(
            doc["paths"]["/b"]["get"]["responses"]["default"], problem,
            "only a default: untouched"
        );
        assert_eq!(
            doc["paths"]["/c"]["get"]["responses"]["default"], problem,
            "progenitor drops it itself"
        );
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
        let (doc, n) = run_with("inline-component-refs", doc, Options::default());
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
        let (doc, n) = run_with("hoist-path-item-parameters", doc, Options::default());
        let params = &doc["paths"]["/a/{id}"]["get"]["parameters"];
        assert_eq!(params.as_array().map(Vec::len), Some(2));
        assert_eq!(params[0]["required"], json!(true));
        assert!(doc["paths"]["/a/{id}"].get("parameters").is_none());
        assert_eq!(n, 1);
    }

    #[test]
    fn missing_path_param_is_declared() {
        let (doc, n) = run_with(
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
    fn bodyless_error_responses_get_any_json() {
        let doc = op(
            "/a",
            "get",
            json!({"responses": {"200": {"description": "ok"}, "404": {"description": "nf"},
            "422": {"description": "v", "content": {"application/json": {"schema": {"type": "object"}}}}}}),
        );
        let (doc, n) = run_with("error-responses-keep-body", doc, Options::default());
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
        let (doc, n) = run_with("websocket-upgrade", ws, Options::default());
        assert_eq!(doc["paths"]["/ws"]["get"]["x-dropshot-websocket"], json!({}));
        assert_eq!(n, 1);
        let plain = op(
            "/a",
            "get",
            json!({"responses": {"200": {"description": "ok"}, "101": {"description": "maybe"}}}),
        );
        let (doc, n) = run_with("websocket-upgrade", plain, Options::default());
        assert!(doc["paths"]["/a"]["get"].get("x-dropshot-websocket").is_none());
        assert_eq!(n, 0);
    }
}
