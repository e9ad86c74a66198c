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
    /// Type builders the operation builders use (request bodies); the others are behind
    /// [`TYPE_BUILDERS_FEATURE`].
    body_builders: HashSet<String>,
}

/// The cargo feature of a generated crate that turns on the builders of types no operation takes
/// as its body. They are a convenience for building nested values, and most of the crate's
/// compile time: ArchAstro's were two thirds of its lines.
pub const TYPE_BUILDERS_FEATURE: &str = "type-builders";

/// Names `X` of every `types::builder::X` in `tokens`: the type builders operation builders use.
fn referenced_type_builders(tokens: TokenStream, out: &mut HashSet<String>) {
    use proc_macro2::TokenTree;
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let ident = |t: Option<&TokenTree>, want: &str| matches!(t, Some(TokenTree::Ident(i)) if i == want);
    let colon = |t: Option<&TokenTree>| matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == ':');
    for (i, tree) in trees.iter().enumerate() {
        match tree {
            TokenTree::Group(g) => referenced_type_builders(g.stream(), out),
            TokenTree::Ident(first) if first == "types" => {
                let at = |k: usize| trees.get(i + k);
                if colon(at(1)) && colon(at(2)) && ident(at(3), "builder") && colon(at(4)) && colon(at(5)) {
                    if let Some(TokenTree::Ident(name)) = at(6) {
                        out.insert(name.to_string());
                    }
                }
            }
            _ => {}
        }
    }
}

/// The type an item of `types::builder` belongs to: its struct, or the type an `impl` is for
/// (`impl TryFrom<X> for super::X` and `impl From<super::X> for X` both belong to `X`).
fn builder_owner(item: &Item) -> Option<String> {
    match item {
        Item::Struct(s) => Some(s.ident.to_string()),
        Item::Impl(i) => match i.self_ty.as_ref() {
            syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
            _ => None,
        },
        _ => None,
    }
}

/// Puts a type builder, or a type's `builder()` constructor, behind the feature unless an
/// operation builder uses it.
fn gate_type_builder(item: &mut Item, path: &[String], body_builders: &HashSet<String>) {
    let feature = TYPE_BUILDERS_FEATURE;
    let cfg: Attribute = syn::parse_quote!(#[cfg(feature = #feature)]);
    match path {
        [types, builder]
            if types == "types"
                && builder == "builder"
                && builder_owner(item).is_some_and(|name| !body_builders.contains(&name)) =>
        {
            if let Item::Struct(s) = item {
                s.attrs.insert(0, cfg);
            } else if let Item::Impl(i) = item {
                i.attrs.insert(0, cfg);
            }
        }
        [types] if types == "types" => {
            let Item::Impl(block) = item else { return };
            if block.trait_.is_some() || builder_owner(item).is_some_and(|n| body_builders.contains(&n)) {
                return;
            }
            let Item::Impl(block) = item else { return };
            for member in &mut block.items {
                if let syn::ImplItem::Fn(f) = member {
                    if f.sig.ident == "builder" {
                        f.attrs.insert(0, cfg.clone());
                    }
                }
            }
        }
        _ => {}
    }
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
        super::emit::drop_api_version_header(&mut item);
        gate_type_builder(&mut item, path, &state.body_builders);
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
/// `ungated`: types whose builders stay public like request bodies' (a channel message's params).
pub fn format(tokens: TokenStream, extra_types: TokenStream, ungated: &[String]) -> syn::Result<Formatted> {
    let mut state = State {
        out: String::new(),
        extra_types,
        facts: Facts::default(),
        seen_types: HashSet::new(),
        duplicate: None,
        body_builders: HashSet::new(),
    };
    referenced_type_builders(tokens.clone(), &mut state.body_builders);
    state.body_builders.extend(ungated.iter().cloned());
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
            &[],
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
            formatted.source.contains(
                "    pub mod builder {\n        #[cfg(feature = \"type-builders\")]\n        pub struct Agent {"
            ),
            "{}",
            formatted.source
        );
        syn::parse_file(&formatted.source).expect("the result parses");
    }

    #[test]
    fn type_builders_no_operation_uses_are_behind_the_feature() {
        let tokens = quote! {
            pub mod types {
                pub struct Body { pub grant: Grant }
                pub struct Grant { pub who: String }
                impl Body { pub fn builder() -> builder::Body { Default::default() } }
                impl Grant { pub fn builder() -> builder::Grant { Default::default() } }
                impl ::std::fmt::Display for Grant { fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result { Ok(()) } }
                pub mod builder {
                    pub struct Body { grant: Result<super::Grant, String> }
                    impl Body { pub fn grant(self) -> Self { self } }
                    impl ::std::convert::TryFrom<Body> for super::Body { type Error = String; fn try_from(v: Body) -> Result<Self, String> { todo!() } }
                    pub struct Grant { who: Result<String, String> }
                    impl Grant { pub fn who(self) -> Self { self } }
                    impl ::std::convert::TryFrom<Grant> for super::Grant { type Error = String; fn try_from(v: Grant) -> Result<Self, String> { todo!() } }
                    impl ::std::convert::From<super::Grant> for Grant { fn from(v: super::Grant) -> Self { todo!() } }
                }
            }
            pub mod builder {
                pub struct CreateBody<'a> { body: Result<types::builder::Body, String>, c: &'a () }
            }
        };
        let formatted = format(tokens, TokenStream::new(), &[]).expect("formats");
        let file = syn::parse_file(&formatted.source).expect("parses");
        let gated = |item: &Item| match item {
            Item::Struct(s) => s.attrs.iter().any(|a| quote!(#a).to_string().contains("type-builders")),
            Item::Impl(i) => i.attrs.iter().any(|a| quote!(#a).to_string().contains("type-builders")),
            _ => false,
        };
        let Some(Item::Mod(types)) = file.items.first() else {
            panic!("types first")
        };
        let types = &types.content.as_ref().expect("inline").1;
        let Some(Item::Mod(builders)) = types.last() else {
            panic!("builder last")
        };
        let builders = &builders.content.as_ref().expect("inline").1;
        let owners: Vec<(String, bool)> = builders
            .iter()
            .map(|i| (builder_owner(i).expect("owned"), gated(i)))
            .collect();
        for (owner, gated) in &owners {
            assert_eq!(*gated, owner == "Grant", "{owner}: {}", formatted.source);
        }
        assert_eq!(owners.len(), 7);
        // `Grant::builder()` is gated, the impl around it and `Display` are not.
        let constructors: Vec<String> = types
            .iter()
            .filter_map(|i| match i {
                Item::Impl(block) if block.trait_.is_none() => Some(quote!(#block).to_string()),
                _ => None,
            })
            .collect();
        assert!(!constructors[0].contains("type-builders"), "{}", constructors[0]);
        assert!(
            constructors[1].contains("# [cfg (feature = \"type-builders\")] pub fn builder"),
            "{}",
            constructors[1]
        );
        assert!(!types
            .iter()
            .any(|i| matches!(i, Item::Impl(b) if b.trait_.is_some() && gated(i))));
    }

    #[test]
    fn block_doc_lines_keep_their_column() {
        let mut out = String::new();
        indent("/**Builder for x\n\n[`x`]: super::x*/\npub struct X;\n", 1, &mut out);
        assert_eq!(out, "    /**Builder for x\n\n[`x`]: super::x*/\n    pub struct X;\n");
    }
}
