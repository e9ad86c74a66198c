//! One type per shape: typify generates a separate Rust type (with its serde impls and builder)
//! for every inline object or enum schema, even when a document repeats the same shape many
//! times. ArchAstro's document inlines the same ACL grant 22 times; sharing such shapes makes one
//! type users can pass between calls, and makes the generated crate much cheaper to compile.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{json, Map, Value};

use super::walk;
use super::{Options, Rule, RuleError};

mod naming;
mod shape;
#[cfg(test)]
mod tests;

use crate::syntax::typify_name;
use naming::{candidates, choose_name, component_name, keep_first, naming, Candidate};
use shape::{shareable, Shapes};

/// The sharing rules, run after every other rule has shaped the schemas.
pub const RULES: &[Rule] = &[Rule {
    name: "share-repeated-inline-schemas",
    doc: "Replaces an inline object or string-enum schema by a `$ref` to a component of the same shape (descriptions and examples aside, the component's `$ref`s followed), and hoists a shape that occurs inline twice or more into a new component named by the best name its places offer, whatever their order (`acl` → `Acl`): typify would generate one Rust type per occurrence.",
    apply: share_repeated_inline_schemas,
}];

/// Sharing an outer shape can make two components' inner shapes meet; a few passes settle it.
const MAX_PASSES: usize = 8;

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

/// A request or response body's own schema: typify names it after its operation, a name that
/// would mislead on a shared type, so such a schema only ever refers to an existing component.
pub(super) fn is_body_root(ptr: &str) -> bool {
    ptr.starts_with("/paths/") && ptr.ends_with("/schema")
}
