//! What generated items are called: operations get REST-style method names instead of
//! path-shaped ids, and shapes typify would give two types one name (which does not compile) are
//! reshaped: a nullable union component (an `Option` wrapper and the union, both `Name`), and an
//! inline schema whose `title` spells the name of a component.

use std::collections::HashSet;

use serde_json::{json, Value};

use super::walk;
use super::{Options, Rule, RuleError};
use crate::syntax::typify_name;

/// The naming rules, in the order they run.
pub const RULES: &[Rule] = &[
    Rule {
        name: "rest-operation-names",
        doc: "Renames path-shaped operation ids such as `get_api_v1_agents__agent` to REST-style names (`get_agent`, `list_agents`, `create_agent`, `upgrade_agent`); an `x-sdk-name` wins; the original id is kept in `x-original-operation-id`.",
        apply: rest_operation_names,
    },
    Rule {
        name: "nullable-union-component",
        doc: "Splits a nullable `anyOf`/`oneOf` component `Name` into `NameValue` (the union) and `Name` = nullable `allOf: [NameValue]`: typify otherwise names both the `Option` wrapper and the union `Name`, and the two do not compile.",
        apply: nullable_union_component,
    },
    Rule {
        name: "titles-not-component-names",
        doc: "Drops the `title` of an inline (or nullable component) schema when it spells a component's type name (`Web search location` beside component `WebSearchLocation`): typify names such types by title, and two types would share the name.",
        apply: titles_not_component_names,
    },
];

fn titles_not_component_names(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let components: HashSet<String> = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .map(|m| m.keys().map(|k| typify_name(k)).collect())
        .unwrap_or_default();
    let mut n = 0;
    walk::schemas(doc, &mut |s, ptr| {
        // A component's own title names the component itself, except when it is nullable: then
        // the component's name goes to the `Option` wrapper and the title to what it wraps.
        let is_component = ptr.starts_with("/components/schemas/") && ptr.matches('/').count() == 3;
        let nullable = s.get("nullable").and_then(Value::as_bool) == Some(true);
        if is_component && !nullable {
            return;
        }
        let collides = s
            .get("title")
            .and_then(Value::as_str)
            .is_some_and(|t| components.contains(&typify_name(t)));
        if collides {
            s.remove("title");
            n += 1;
        }
    });
    Ok(n)
}

fn nullable_union_component(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else {
        return Ok(0);
    };
    let candidates: Vec<String> = schemas
        .iter()
        .filter(|(_, s)| {
            s.get("nullable").and_then(Value::as_bool) == Some(true)
                && (s.get("anyOf").is_some() || s.get("oneOf").is_some())
        })
        .map(|(name, _)| name.clone())
        .collect();
    for name in &candidates {
        let mut value_name = format!("{name}Value");
        let mut n = 2;
        while schemas.contains_key(&value_name) {
            value_name = format!("{name}Value{n}");
            n += 1;
        }
        let Some(mut union) = schemas.remove(name) else {
            continue;
        };
        let Some(fields) = union.as_object_mut() else { continue };
        fields.remove("nullable");
        fields.remove("default");
        let description = fields.get("description").cloned();
        let mut wrapper = json!({
            "allOf": [{"$ref": format!("#/components/schemas/{}", crate::error::escape(&value_name))}],
            "nullable": true,
        });
        if let Some(d) = description {
            wrapper["description"] = d;
        }
        schemas.insert(value_name, union);
        schemas.insert(name.clone(), wrapper);
    }
    Ok(candidates.len())
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

/// Letters and digits only, lower case: how two spellings of one path-shaped id compare
/// (`get_api_v1_kv_key` and `get_api_v1_kv__key`).
fn squash(id: &str) -> String {
    id.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Names to try, in order, when the REST name is taken: with the path's API version
/// (`list_agents_v2`), with the last path parameter (`get_kv_by_key`), then numbered.
fn alternatives(name: &str, path: &str) -> impl Iterator<Item = String> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let version = segments.iter().find(|s| is_version(s)).map(|v| format!("{name}_{v}"));
    let param = segments
        .iter()
        .rev()
        .find_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|p| {
            format!(
                "{name}_by_{}",
                p.replace(|c: char| !c.is_ascii_alphanumeric(), "_").to_lowercase()
            )
        });
    let name = name.to_owned();
    std::iter::once(name.clone())
        .chain(version)
        .chain(param)
        .chain((2..).map(move |n| format!("{name}_{n}")))
}

fn rest_operation_names(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let mut taken: HashSet<String> = HashSet::new();
    walk::operations(doc, &mut |op, _, _, _| {
        if let Some(id) = op.get("operationId").and_then(Value::as_str) {
            taken.insert(id.to_owned());
        }
    });
    let mut n = 0;
    walk::operations(doc, &mut |op, method, path, _| {
        let Some(id) = op.get("operationId").and_then(Value::as_str).map(str::to_owned) else {
            return;
        };
        if squash(&id) != squash(&path_shaped_id(method, path)) {
            return;
        }
        let wanted = op
            .get("x-sdk-name")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| rest_name(method, path));
        if wanted.is_empty() {
            return;
        }
        let Some(name) = alternatives(&wanted, path).find(|candidate| !taken.contains(candidate)) else {
            return;
        };
        taken.insert(name.clone());
        op.insert("x-original-operation-id".into(), Value::String(id));
        op.insert("operationId".into(), Value::String(name));
        n += 1;
    });
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::run_with;

    #[test]
    fn a_nullable_union_component_is_split() {
        let mut doc = json!({"components": {"schemas": {
            "Stop": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}], "nullable": true, "default": null, "description": "d"},
            "StopValue": {"type": "integer"},
            "Plain": {"anyOf": [{"type": "string"}, {"type": "integer"}]}}}});
        let n = (RULES[1].apply)(&mut doc, &Options::default()).expect("applies");
        let s = &doc["components"]["schemas"];
        assert_eq!(
            s["Stop"],
            json!({"allOf": [{"$ref": "#/components/schemas/StopValue2"}], "nullable": true, "description": "d"})
        );
        assert_eq!(s["StopValue2"]["oneOf"][0], json!({"type": "string"}));
        assert!(s["StopValue2"].get("nullable").is_none());
        assert_eq!(
            s["StopValue"],
            json!({"type": "integer"}),
            "an existing name is not taken"
        );
        assert!(s["Plain"].get("anyOf").is_some());
        assert_eq!(n, 1);
    }

    #[test]
    fn an_inline_title_that_spells_a_component_goes() {
        let mut doc = json!({"components": {"schemas": {
            "WebSearchLocation": {"title": "Web search location", "type": "object"},
            "MaybeLocation": {"title": "Maybe location", "type": "object", "nullable": true},
            "Tool": {"type": "object", "properties": {
                "location": {"title": "Web search location", "type": "object", "properties": {"city": {"type": "string"}}},
                "other": {"title": "Something else", "type": "object"}}}}}});
        let n = (RULES[2].apply)(&mut doc, &Options::default()).expect("applies");
        let s = &doc["components"]["schemas"];
        assert!(s["Tool"]["properties"]["location"].get("title").is_none());
        assert_eq!(s["Tool"]["properties"]["other"]["title"], json!("Something else"));
        assert_eq!(
            s["WebSearchLocation"]["title"],
            json!("Web search location"),
            "a component keeps its own"
        );
        assert!(s["MaybeLocation"].get("title").is_none(), "unless it is nullable");
        assert_eq!(n, 2);
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
        let (doc, n) = run_with("rest-operation-names", doc, Options::default());
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
        // Same REST name as /api/v1/agents: the second says its version rather than collide.
        assert_eq!(
            doc["paths"]["/api/v2/agents"]["get"]["operationId"],
            json!("list_agents_v2")
        );
        assert_eq!(n, 3);
    }

    #[test]
    fn no_path_shaped_name_is_left() {
        let doc = json!({"paths": {
            "/api/v1/kv/{key}": {"get": {"operationId": "get_api_v1_kv_key"}},
            "/api/v1/kv/{namespace}/{key}": {"get": {"operationId": "get_api_v1_kv_namespace_key"}},
            "/api/v1/kv": {"get": {"operationId": "get_api_v1_kv"}, "post": {"operationId": "post_api_v1_kv"}},
            "/api/v1/kv/{id}/ttl": {"get": {"operationId": "get_api_v1_kv__id_ttl"}}}});
        let (doc, n) = run_with("rest-operation-names", doc, Options::default());
        let id = |p: &str, m: &str| {
            doc["paths"][p][m]["operationId"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(id("/api/v1/kv/{key}", "get"), "get_kv");
        assert_eq!(id("/api/v1/kv/{namespace}/{key}", "get"), "get_kv_v1");
        assert_eq!(id("/api/v1/kv", "get"), "get_kv_2");
        assert_eq!(id("/api/v1/kv", "post"), "kv");
        assert_eq!(id("/api/v1/kv/{id}/ttl", "get"), "get_kv_ttl");
        assert_eq!(n, 5);
        for p in [
            "/api/v1/kv/{key}",
            "/api/v1/kv/{namespace}/{key}",
            "/api/v1/kv",
            "/api/v1/kv/{id}/ttl",
        ] {
            assert!(!id(p, "get").contains("api_v1"), "{p}: {}", id(p, "get"));
        }
    }
}
