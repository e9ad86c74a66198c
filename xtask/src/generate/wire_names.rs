//! Puts the wire names back: rule `distinct-colliding-names` renames colliding parameters,
//! properties and enum values so that each gets a Rust name of its own, and records the name on
//! the wire (`x-wire-name`, `x-wire-names`). progenitor and typify spell a name in exactly one
//! kind of place, a string literal (a query key, a `#[serde(rename)]`, a `Display` arm), and no
//! literal can hold a new name by chance (the rule picks names used nowhere in the document), so
//! every literal that equals a new name is the wire name's.

use std::collections::BTreeMap;

use proc_macro2::{Group, Literal, TokenStream, TokenTree};
use serde_json::Value;

use crate::rules::collide::{WIRE_NAME, WIRE_NAMES};

/// New name → wire name, for every rename in a normalized document.
pub fn collect(doc: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    visit(doc, &mut out);
    out
}

fn visit(v: &Value, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(map) => {
            if let (Some(wire), Some(name)) = (
                map.get(WIRE_NAME).and_then(Value::as_str),
                map.get("name").and_then(Value::as_str),
            ) {
                out.insert(name.to_owned(), wire.to_owned());
            }
            if let Some(names) = map.get(WIRE_NAMES).and_then(Value::as_object) {
                for (name, wire) in names {
                    if let Some(wire) = wire.as_str() {
                        out.insert(name.clone(), wire.to_owned());
                    }
                }
            }
            map.values().for_each(|v| visit(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| visit(v, out)),
        _ => {}
    }
}

/// `tokens` with every string literal that spells a new name replaced by its wire name.
pub fn restore(tokens: TokenStream, names: &BTreeMap<String, String>) -> TokenStream {
    if names.is_empty() {
        return tokens;
    }
    // New names are letters, digits and `_`, so a literal spelling one has no escapes.
    let quoted: BTreeMap<String, &String> = names.iter().map(|(k, v)| (format!("\"{k}\""), v)).collect();
    replace(tokens, &quoted)
}

fn replace(tokens: TokenStream, quoted: &BTreeMap<String, &String>) -> TokenStream {
    tokens
        .into_iter()
        .map(|tree| match tree {
            TokenTree::Literal(lit) => match quoted.get(&lit.to_string()) {
                Some(wire) => {
                    let mut new = Literal::string(wire);
                    new.set_span(lit.span());
                    TokenTree::Literal(new)
                }
                None => TokenTree::Literal(lit),
            },
            TokenTree::Group(group) => {
                let mut new = Group::new(group.delimiter(), replace(group.stream(), quoted));
                new.set_span(group.span());
                TokenTree::Group(new)
            }
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use quote::quote;
    use serde_json::json;

    use super::*;

    #[test]
    fn literals_spelling_a_new_name_get_the_wire_name_and_nothing_else_changes() {
        let doc = json!({"paths": {"/a": {"get": {"parameters": [
            {"name": "StartTimeLt", "x-wire-name": "StartTime<"}]}}},
            "components": {"schemas": {"E": {"x-wire-names": {"a_b2": "a-b"}}}}});
        let names = collect(&doc);
        assert_eq!(names.len(), 2);
        let tokens = quote! {
            q.query(&QueryParam::new("StartTimeLt", &start_time_lt));
            #[serde(rename = "a_b2")] AB2,
            f.write_str("StartTimeLt2"); let start_time_lt = "kept";
        };
        let out = restore(tokens, &names).to_string();
        assert!(
            out.contains(r#"QueryParam :: new ("StartTime<" , & start_time_lt)"#),
            "{out}"
        );
        assert!(out.contains(r#"rename = "a-b""#), "{out}");
        assert!(out.contains(r#""StartTimeLt2""#) && out.contains(r#""kept""#), "{out}");
    }
}
