//! One type per shape: typify generates a separate Rust type (with its serde impls and builder)
//! for every inline object or enum schema, even when a document repeats the same shape many
//! times. ArchAstro's document inlines the same ACL grant 22 times; sharing such shapes makes one
//! type users can pass between calls, and makes the generated crate much cheaper to compile.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{json, Map, Value};

use super::walk;
use super::{Options, Rule, RuleError};
use crate::syntax::typify_name;

/// The sharing rules, run after every other rule has shaped the schemas.
pub const RULES: &[Rule] = &[Rule {
    name: "share-repeated-inline-schemas",
    doc: "Replaces an inline object or string-enum schema by a `$ref` to a component of the same shape (descriptions and examples aside, the component's `$ref`s followed), and hoists a shape that occurs inline twice or more into a new component named by the best name its places offer, whatever their order (`acl` → `Acl`): typify would generate one Rust type per occurrence.",
    apply: share_repeated_inline_schemas,
}];

/// Sharing an outer shape can make two components' inner shapes meet; a few passes settle it.
const MAX_PASSES: usize = 8;

/// Keywords that document a schema without changing the Rust type typify generates.
const DOC_ONLY: &[&str] = &["description", "example", "examples"];

fn share_repeated_inline_schemas(doc: &mut Value, _: &Options) -> Result<usize, RuleError> {
    let mut total = 0;
    for _ in 0..MAX_PASSES {
        let n = one_pass(doc);
        if n == 0 {
            break;
        }
        total += n;
    }
    Ok(total)
}

/// An inline schema that may be shared.
struct Site {
    pointer: String,
    depth: usize,
}

fn one_pass(doc: &mut Value) -> usize {
    // A shape met in a channel's schemas and in REST schemas is named after its first REST
    // occurrence, so adding a channel to a spec does not rename a REST type.
    let channel = super::channels::component_prefixes(doc);
    let from_channel = |ptr: &str| channel.iter().any(|p| ptr.starts_with(p.as_str()));
    let mut by_shape: HashMap<String, String> = HashMap::new();
    let mut taken: HashSet<String> = HashSet::new();
    let mut groups: Vec<(String, Vec<Site>)> = Vec::new();
    let mut group_of: HashMap<String, usize> = HashMap::new();
    // A snapshot of the components, to compare shapes through their `$ref`s.
    let components = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let shapes = Shapes {
        components: &components,
    };
    // As written too: a recursive shape spelled out never equals its component's, which stops
    // at its own reference, but the two written alike are the same.
    let no_components = Map::new();
    let literal = Shapes {
        components: &no_components,
    };
    let mut by_literal: HashMap<String, String> = HashMap::new();
    let mut literal_of: HashMap<String, String> = HashMap::new();
    walk::schemas(doc, &mut |s, ptr| {
        // typify names an inline schema with a `title` by it: a name no shared type may take.
        if let Some(title) = s.get("title").and_then(Value::as_str) {
            taken.insert(typify_name(title));
        }
        if let Some(name) = component_name(ptr) {
            taken.insert(typify_name(&name));
            if shareable(s) {
                // Two components of one shape: the first by name, whatever the document's order.
                keep_first(&mut by_literal, literal.key(s, None), &name);
                keep_first(&mut by_shape, shapes.key(s, Some(&name)), &name);
            }
            return;
        }
        if !shareable(s) {
            return;
        }
        let key = shapes.key(s, None);
        literal_of.entry(key.clone()).or_insert_with(|| literal.key(s, None));
        let index = *group_of.entry(key.clone()).or_insert_with(|| {
            groups.push((key, Vec::new()));
            groups.len() - 1
        });
        if let Some((_, sites)) = groups.get_mut(index) {
            sites.push(Site {
                pointer: ptr.to_owned(),
                depth: ptr.matches('/').count(),
            });
        }
    });
    // A shape that matches no component through its references may still match one as written.
    for (key, _) in &groups {
        if !by_shape.contains_key(key) {
            if let Some(name) = literal_of.get(key).and_then(|l| by_literal.get(l)) {
                by_shape.insert(key.clone(), name.clone());
            }
        }
    }
    // REST sites first, each list by pointer; groups with REST sites first, then by the name
    // they would like best and their shape. None of it is document order, so reordering or
    // adding unrelated operations renames nothing, and REST names come out as they would
    // without channels.
    for (_, sites) in &mut groups {
        sites.sort_by(|a, b| (from_channel(&a.pointer), &a.pointer).cmp(&(from_channel(&b.pointer), &b.pointer)));
    }
    let mut groups: Vec<(Option<Candidate>, String, Vec<Site>)> = groups
        .into_iter()
        .map(|(key, sites)| {
            (
                candidates(doc, naming(&sites, &from_channel)).into_iter().next(),
                key,
                sites,
            )
        })
        .collect();
    groups.sort_by(|a, b| {
        let channel = |g: &(Option<Candidate>, String, Vec<Site>)| g.2.first().is_none_or(|s| from_channel(&s.pointer));
        (channel(a), &a.0, &a.1).cmp(&(channel(b), &b.0, &b.1))
    });
    let hoistable = |sites: &[Site]| sites.len() >= 2 && sites.iter().any(|s| !is_body_root(&s.pointer));
    // (pointer, depth, component, whether this site's schema becomes the component, whether
    // that component is a channel's)
    let mut plan: Vec<(String, usize, String, bool, bool)> = Vec::new();
    for (_, key, mut sites) in groups {
        let rest = sites.iter().filter(|s| !from_channel(&s.pointer)).count();
        if !by_shape.contains_key(&key) && rest > 0 && rest < sites.len() && !hoistable(&sites[..rest]) {
            // REST alone would keep this shape inline: it does, under the name it always had,
            // and the channel sites share among themselves.
            sites.drain(..rest);
        }
        let channel_only = sites.iter().all(|s| from_channel(&s.pointer));
        let (target, hoist) = match by_shape.get(&key) {
            Some(name) => (name.clone(), false),
            None if hoistable(&sites) => {
                let Some((name, site)) = choose_name(doc, naming(&sites, &from_channel), &taken) else {
                    continue;
                };
                taken.insert(name.clone());
                // The site that names the component becomes it.
                if site < sites.len() {
                    sites.swap(0, site);
                }
                (name, true)
            }
            None => continue,
        };
        for (i, site) in sites.into_iter().enumerate() {
            plan.push((site.pointer, site.depth, target.clone(), hoist && i == 0, channel_only));
        }
    }
    // Deepest first: an outer shape is hoisted with its inner shapes already shared, so equal
    // outer shapes stay equal and the component holds the shared form.
    plan.sort_by_key(|p| std::cmp::Reverse(p.1));
    let mut hoisted: BTreeMap<String, Value> = BTreeMap::new();
    let mut n = 0;
    for (pointer, _, target, hoist, channel_only) in plan {
        let Some(node) = doc.pointer_mut(&pointer) else {
            continue;
        };
        let reference = json!({"$ref": format!("#/components/schemas/{}", crate::error::escape(&target))});
        let mut schema = std::mem::replace(node, reference);
        if hoist {
            // Named by its key now; a title would only invite typify to name it twice.
            if let Some(map) = schema.as_object_mut() {
                map.remove("title");
                // A shape only channels have stays out of REST schemas in later passes too.
                if channel_only {
                    map.insert(super::channels::MARKER.into(), Value::String(pointer));
                }
            }
            hoisted.insert(target, schema);
        }
        n += 1;
    }
    if hoisted.is_empty() {
        return n;
    }
    let Some(root) = doc.as_object_mut() else { return n };
    let components = root.entry("components").or_insert_with(|| json!({}));
    let Some(components) = components.as_object_mut() else {
        return n;
    };
    let schemas = components.entry("schemas").or_insert_with(|| json!({}));
    if let Some(schemas) = schemas.as_object_mut() {
        schemas.extend(hoisted);
    }
    n
}

/// The places that name a shape: its REST places (listed first) when it has any.
fn naming<'a>(sites: &'a [Site], from_channel: &dyn Fn(&str) -> bool) -> &'a [Site] {
    let rest = sites.iter().filter(|s| !from_channel(&s.pointer)).count();
    match sites.get(..rest) {
        Some(own) if rest > 0 => own,
        _ => sites,
    }
}

fn keep_first(map: &mut HashMap<String, String>, key: String, name: &str) {
    let slot = map.entry(key).or_insert_with(|| name.to_owned());
    if name < slot.as_str() {
        name.clone_into(slot);
    }
}

/// The component a pointer names, when it is a component's root schema.
fn component_name(ptr: &str) -> Option<String> {
    let rest = ptr.strip_prefix("/components/schemas/")?;
    (!rest.contains('/')).then(|| rest.replace("~1", "/").replace("~0", "~"))
}

/// A request or response body's own schema: typify names it after its operation, a name that
/// would mislead on a shared type, so such a schema only ever refers to an existing component.
fn is_body_root(ptr: &str) -> bool {
    ptr.starts_with("/paths/") && ptr.ends_with("/schema")
}

/// Objects with properties and string enums: the shapes typify turns into named types.
fn shareable(s: &Map<String, Value>) -> bool {
    if s.contains_key("$ref") || s.get("nullable").and_then(Value::as_bool) == Some(true) {
        return false;
    }
    if s.keys().any(|k| k.starts_with("x-")) {
        return false;
    }
    let typed = |t: &str| s.get("type").and_then(Value::as_str).is_none_or(|v| v == t);
    let object = typed("object")
        && s.get("properties")
            .and_then(Value::as_object)
            .is_some_and(|p| !p.is_empty())
        && !["allOf", "anyOf", "oneOf"].iter().any(|k| s.contains_key(*k));
    let string_enum = s.get("type").and_then(Value::as_str) == Some("string")
        && s.get("enum").and_then(Value::as_array).is_some_and(|e| e.len() >= 2);
    object || string_enum
}

/// Shapes as text with sorted keys, documentation left out (at every level), and each `$ref` to
/// a component written as that component's shape: an inline copy of a component's shape, its
/// references spelled out, is that component.
struct Shapes<'a> {
    components: &'a Map<String, Value>,
}

impl Shapes<'_> {
    /// The shape of `s`; `component` names it when it is one (its own references stay references).
    fn key(&self, s: &Map<String, Value>, component: Option<&str>) -> String {
        let mut out = String::new();
        let mut open: Vec<String> = component.map(str::to_owned).into_iter().collect();
        self.write_schema(s, &mut out, &mut open);
        out
    }

    /// `open`: the components being spelled out, so a recursive one ends as a reference.
    fn write_schema(&self, s: &Map<String, Value>, out: &mut String, open: &mut Vec<String>) {
        if let Some(target) = self.resolvable(s, open) {
            if let Some(Value::Object(component)) = self.components.get(&target) {
                open.push(target);
                self.write_schema(component, out, open);
                open.pop();
                return;
            }
        }
        let mut keys: Vec<&String> = s.keys().filter(|k| !DOC_ONLY.contains(&k.as_str())).collect();
        keys.sort();
        out.push('{');
        for key in keys {
            out.push_str(&Value::String(key.clone()).to_string());
            out.push(':');
            let value = &s[key];
            match (key.as_str(), value) {
                ("properties", Value::Object(props)) => {
                    let mut names: Vec<&String> = props.keys().collect();
                    names.sort();
                    out.push('{');
                    for name in names {
                        out.push_str(&Value::String(name.clone()).to_string());
                        out.push(':');
                        self.write_value(&props[name], out, open);
                        out.push(',');
                    }
                    out.push('}');
                }
                ("items" | "additionalProperties" | "not", v) => self.write_value(v, out, open),
                ("allOf" | "anyOf" | "oneOf", Value::Array(list)) => {
                    out.push('[');
                    for v in list {
                        self.write_value(v, out, open);
                        out.push(',');
                    }
                    out.push(']');
                }
                (_, v) => write_plain(v, out),
            }
            out.push(',');
        }
        out.push('}');
    }

    /// The component a bare `$ref` (nothing beside it but documentation) names, unless it is
    /// already being spelled out.
    fn resolvable(&self, s: &Map<String, Value>, open: &[String]) -> Option<String> {
        let target = s.get("$ref")?.as_str()?.strip_prefix("#/components/schemas/")?;
        if target.contains('/') || s.keys().any(|k| k != "$ref" && !DOC_ONLY.contains(&k.as_str())) {
            return None;
        }
        let name = target.replace("~1", "/").replace("~0", "~");
        (!open.contains(&name)).then_some(name)
    }

    fn write_value(&self, v: &Value, out: &mut String, open: &mut Vec<String>) {
        match v {
            Value::Object(s) => self.write_schema(s, out, open),
            other => write_plain(other, out),
        }
    }
}

/// JSON with sorted object keys (documents keep their own key order).
fn write_plain(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for k in keys {
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_plain(&map[k], out);
                out.push(',');
            }
            out.push('}');
        }
        Value::Array(list) => {
            out.push('[');
            for item in list {
                write_plain(item, out);
                out.push(',');
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Words naming where a schema sits below its owner: property names, `Item` for an array's
/// items, `Value` for a map's values, `Object` for the object branch of a union (as typify names
/// that variant).
fn words(doc: &Value, pointer: &str) -> Vec<String> {
    let raw: Vec<&str> = pointer.split('/').skip(1).collect();
    let unescape = |s: &str| s.replace("~1", "/").replace("~0", "~");
    let start = if pointer.starts_with("/components/schemas/") {
        3
    } else {
        0
    };
    let mut out = Vec::new();
    let mut i = start;
    while let Some(seg) = raw.get(i) {
        match *seg {
            "properties" => {
                if let Some(name) = raw.get(i + 1) {
                    out.push(unescape(name));
                }
                i += 2;
                continue;
            }
            "oneOf" | "anyOf" => {
                let branch = raw.get(..i + 2).map(|s| format!("/{}", s.join("/")));
                let is_object = branch
                    .and_then(|b| doc.pointer(&b).and_then(|v| v.get("properties")).map(|_| ()))
                    .is_some();
                let index = raw.get(i + 1).copied().unwrap_or_default();
                out.push(if is_object {
                    "object".to_owned()
                } else {
                    format!("variant_{index}")
                });
                i += 2;
                continue;
            }
            "items" => out.push("item".to_owned()),
            "additionalProperties" => out.push("value".to_owned()),
            _ => {}
        }
        i += 1;
    }
    out
}

/// The owner's name: the component, or the operation's id for a schema under a path.
fn owner(doc: &Value, pointer: &str) -> String {
    if let Some(rest) = pointer.strip_prefix("/components/schemas/") {
        return rest
            .split('/')
            .next()
            .unwrap_or_default()
            .replace("~1", "/")
            .replace("~0", "~");
    }
    let op_pointer: String = pointer.split('/').take(4).collect::<Vec<_>>().join("/");
    doc.pointer(&op_pointer)
        .and_then(|op| op.get("operationId"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// A name a shape could take from one of its places, in order of preference: fewer words first
/// (the last word alone, then longer tails), the owner-prefixed full name last, then shorter
/// names (`schedule` before `routine_schedule`), then alphabetically; `site` is the place it
/// comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Candidate {
    words: usize,
    length: usize,
    name: String,
    site: usize,
}

/// Every name the places of a shape offer, best first. Body roots offer none: typify names
/// them after their operation.
fn candidates(doc: &Value, sites: &[Site]) -> Vec<Candidate> {
    let structural = |w: &str| matches!(w, "item" | "value" | "object") || w.starts_with("variant_");
    let mut out = Vec::new();
    for (site, place) in sites.iter().enumerate() {
        if is_body_root(&place.pointer) {
            continue;
        }
        let words = words(doc, &place.pointer);
        for take in 1..=words.len() {
            let tail = &words[words.len() - take..];
            if tail.first().is_none_or(|w| structural(w)) {
                continue;
            }
            let name = typify_name(&tail.join("_"));
            out.push(Candidate {
                words: take,
                length: name.len(),
                name,
                site,
            });
        }
        let name = typify_name(&format!("{}_{}", owner(doc, &place.pointer), words.join("_")));
        out.push(Candidate {
            words: usize::MAX,
            length: name.len(),
            name,
            site,
        });
    }
    out.sort();
    out
}

/// The best name any place of the shape offers that neither a component's type nor a titled
/// inline schema's has, and the place it comes from. Every place is weighed alike, so the name
/// does not depend on which operation comes first in the document. A title is not used: other
/// inline schemas with the same title but another shape would still be named by it.
fn choose_name(doc: &Value, sites: &[Site], taken: &HashSet<String>) -> Option<(String, usize)> {
    let all = candidates(doc, sites);
    if let Some(free) = all.iter().find(|c| !taken.contains(&c.name)) {
        return Some((free.name.clone(), free.site));
    }
    let full = all.iter().find(|c| c.words == usize::MAX)?;
    (2..)
        .map(|i| format!("{}{i}", full.name))
        .find(|c| !taken.contains(c))
        .map(|name| (name, full.site))
}

#[cfg(test)]
mod tests {
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
}
