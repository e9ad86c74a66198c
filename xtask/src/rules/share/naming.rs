//! What a shared shape is called: the best name any of its places offers (fewest words, then
//! the shortest, then alphabetically), whatever the document's order.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::{is_body_root, Site};
use crate::syntax::typify_name;

/// The places that name a shape: its REST places (listed first) when it has any.
pub(super) fn naming<'a>(sites: &'a [Site], from_channel: &dyn Fn(&str) -> bool) -> &'a [Site] {
    let rest = sites.iter().filter(|s| !from_channel(&s.pointer)).count();
    match sites.get(..rest) {
        Some(own) if rest > 0 => own,
        _ => sites,
    }
}

pub(super) fn keep_first(map: &mut HashMap<String, String>, key: String, name: &str) {
    let slot = map.entry(key).or_insert_with(|| name.to_owned());
    if name < slot.as_str() {
        name.clone_into(slot);
    }
}

/// The component a pointer names, when it is a component's root schema.
pub(super) fn component_name(ptr: &str) -> Option<String> {
    let rest = ptr.strip_prefix("/components/schemas/")?;
    (!rest.contains('/')).then(|| rest.replace("~1", "/").replace("~0", "~"))
}

/// Words naming where a schema sits below its owner: property names, `Item` for an array's
/// items, `Value` for a map's values, `Object` for the object branch of a union (as typify names
/// that variant).
pub(super) fn words(doc: &Value, pointer: &str) -> Vec<String> {
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
pub(super) fn owner(doc: &Value, pointer: &str) -> String {
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
pub(super) struct Candidate {
    words: usize,
    length: usize,
    name: String,
    site: usize,
}

/// Every name the places of a shape offer, best first. Body roots offer none: typify names
/// them after their operation.
pub(super) fn candidates(doc: &Value, sites: &[Site]) -> Vec<Candidate> {
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
pub(super) fn choose_name(doc: &Value, sites: &[Site], taken: &HashSet<String>) -> Option<(String, usize)> {
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
