//! Formats progenitor's output one item at a time. A whole-file syntax tree of a document with
//! thousands of operations takes gigabytes; walking the token stream item by item (descending
//! into modules) keeps one item's tree alive at a time, while the facts, the path-segment
//! rewrite and the duplicate-name check see every item on the way.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use syn::parse::{ParseStream, Parser};
use syn::{Attribute, Item, Token, Visibility};

use crate::facts::Facts;

/// The formatted file and what was learned while formatting it.
pub struct Formatted {
    /// The formatted source.
    pub source: String,
    /// Facts from the `builder` and `types` modules.
    pub facts: Facts,
    /// A name two items of the `types` module share (the code would not compile).
    pub duplicate: Option<String>,
}

struct State {
    out: String,
    /// Items the xtask adds at the end of the `types` module.
    extra_types: TokenStream,
    facts: Facts,
    seen_types: HashSet<String>,
    duplicate: Option<String>,
}

/// Appends `text` indented by `depth` levels. The continuation lines of a block doc comment
/// (`/** … */`, which prettyplease writes for multi-line docs) keep their column: rustdoc would
/// read four more spaces as a code block.
fn indent(text: &str, depth: usize, out: &mut String) {
    let mut in_block = false;
    for line in text.lines() {
        if !line.is_empty() && !in_block {
            for _ in 0..depth {
                out.push_str("    ");
            }
        }
        let trimmed = line.trim_start();
        if in_block {
            in_block = !line.contains("*/");
        } else if trimmed.starts_with("/**") || trimmed.starts_with("/*!") {
            in_block = !trimmed[3..].contains("*/");
        }
        out.push_str(line);
        out.push('\n');
    }
}

fn empty_file() -> syn::File {
    syn::parse_quote!()
}

fn item_name(item: &Item) -> Option<String> {
    match item {
        Item::Struct(s) => Some(s.ident.to_string()),
        Item::Enum(e) => Some(e.ident.to_string()),
        Item::Type(t) => Some(t.ident.to_string()),
        _ => None,
    }
}

fn emit(item: Item, depth: usize, state: &mut State) {
    let mut file = empty_file();
    file.items.push(item);
    indent(&prettyplease::unparse(&file), depth, &mut state.out);
}

fn items(input: ParseStream<'_>, path: &mut Vec<String>, state: &mut State) -> syn::Result<()> {
    let inner = input.call(Attribute::parse_inner)?;
    if !inner.is_empty() {
        let mut file = empty_file();
        file.attrs = inner;
        indent(&prettyplease::unparse(&file), path.len(), &mut state.out);
    }
    while !input.is_empty() {
        let fork = input.fork();
        fork.call(Attribute::parse_outer)?;
        fork.parse::<Visibility>()?;
        if fork.peek(Token![mod]) && fork.peek3(syn::token::Brace) {
            let attrs = input.call(Attribute::parse_outer)?;
            let vis: Visibility = input.parse()?;
            input.parse::<Token![mod]>()?;
            let ident: syn::Ident = input.parse()?;
            let content;
            syn::braced!(content in input);
            let header: syn::File = syn::parse_quote!(#(#attrs)* #vis mod #ident {});
            let header = prettyplease::unparse(&header);
            indent(header.trim_end().trim_end_matches('}'), path.len(), &mut state.out);
            path.push(ident.to_string());
            items(&content, path, state)?;
            if path.as_slice() == ["types"] {
                let extra: syn::File = syn::parse2(std::mem::take(&mut state.extra_types))?;
                for item in extra.items {
                    if let Some(name) = item_name(&item) {
                        if !state.seen_types.insert(name.clone()) && state.duplicate.is_none() {
                            state.duplicate = Some(name);
                        }
                    }
                    emit(item, path.len(), state);
                }
            }
            path.pop();
            indent("}", path.len(), &mut state.out);
            continue;
        }
        let mut item: Item = input.parse()?;
        super::emit::encode_segments_in(&mut item);
        if let [module] = path.as_slice() {
            state.facts.add(module, &item);
            if module == "types" {
                if let Some(name) = item_name(&item) {
                    if !state.seen_types.insert(name.clone()) && state.duplicate.is_none() {
                        state.duplicate = Some(name);
                    }
                }
            }
        }
        emit(item, path.len(), state);
    }
    Ok(())
}

/// Formats `tokens` (a whole generated file) item by item, adding `extra_types` at the end of its
/// `types` module.
pub fn format(tokens: TokenStream, extra_types: TokenStream) -> syn::Result<Formatted> {
    let mut state = State {
        out: String::new(),
        extra_types,
        facts: Facts::default(),
        seen_types: HashSet::new(),
        duplicate: None,
    };
    (|input: ParseStream<'_>| items(input, &mut Vec::new(), &mut state)).parse2(tokens)?;
    Ok(Formatted {
        source: state.out,
        facts: state.facts,
        duplicate: state.duplicate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn modules_are_formatted_item_by_item_with_facts_and_duplicates() {
        let tokens = quote! {
            #[allow(unused_imports)]
            use progenitor_client::encode_path;
            pub mod types {
                pub struct Agent { pub id: String }
                pub enum Agent { A }
                pub mod builder { pub struct Agent { id: Result<String, String> } }
            }
            pub mod builder {
                pub struct GetAgent<'a> { client: &'a super::Client, agent: Result<String, String> }
                impl<'a> GetAgent<'a> {
                    pub fn url(&self) -> String { format!("{}/a/{}", self.base, encode_path(&self.id)) }
                }
            }
        };
        let formatted = format(
            tokens,
            quote!(
                pub struct Added;
            ),
        )
        .expect("formats");
        assert!(
            formatted.source.contains("    pub struct Added;\n"),
            "{}",
            formatted.source
        );
        assert_eq!(formatted.duplicate.as_deref(), Some("Agent"));
        assert!(formatted.facts.builders.contains_key("GetAgent"));
        assert_eq!(formatted.facts.types["Agent"].len(), 1);
        assert!(
            formatted
                .source
                .contains("agentapis_runtime::encode_segment(& self.id)"),
            "{}",
            formatted.source
        );
        assert!(
            formatted
                .source
                .contains("pub mod types {\n    pub struct Agent {\n        pub id: String,\n    }\n"),
            "{}",
            formatted.source
        );
        assert!(
            formatted
                .source
                .contains("    pub mod builder {\n        pub struct Agent {"),
            "{}",
            formatted.source
        );
        syn::parse_file(&formatted.source).expect("the result parses");
    }

    #[test]
    fn block_doc_lines_keep_their_column() {
        let mut out = String::new();
        indent("/**Builder for x\n\n[`x`]: super::x*/\npub struct X;\n", 1, &mut out);
        assert_eq!(out, "    /**Builder for x\n\n[`x`]: super::x*/\n    pub struct X;\n");
    }
}
