//! Emits, for every operation [`pagination::detect`] finds, an implementation of
//! `agentapis_runtime::paging::Paginated` for the operation's request builder, so the facade's
//! one generic pager walks it. The types involved (page body, entry, error body) come from the
//! [`Facts`] read from progenitor's own output, not guessed.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;
use syn::Type;

use crate::facts::{Builder, Facts, Field};
use crate::pagination::{self, Paging};
use crate::rules::walk;
use crate::syntax::{generic_arg, last_ident, progenitor_name};

/// The glue for one operation, or why there is none.
pub enum Glue {
    /// The `Paginated` impl.
    Code(TokenStream),
    /// The operation looks paginated by its parameters but its shape is not understood.
    Skipped {
        /// The operation id.
        operation: String,
        /// What was not understood.
        reason: String,
    },
}

/// Glue for every paginated operation of `doc`.
pub fn emit(doc: &Value, facts: &Facts) -> Vec<Glue> {
    walk::each_operation(doc)
        .filter_map(|o| {
            let style = pagination::detect(o.method, o.op)?;
            let params: Vec<(String, Option<u64>)> =
                o.op.get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter(|p| p.get("in").and_then(Value::as_str) == Some("query"))
                    .filter_map(|p| {
                        let name = p.get("name")?.as_str()?.to_owned();
                        Some((name, p.pointer("/schema/maximum").and_then(Value::as_u64)))
                    })
                    .collect();
            Some(match one(facts, o.id(), style, &params) {
                Ok(code) => Glue::Code(code),
                Err(reason) => Glue::Skipped {
                    operation: o.id().to_owned(),
                    reason,
                },
            })
        })
        .collect()
}

/// One typed assignment per paging field among `fields` (the body fields
/// [`agentapis_paging::BODY_FIELDS`] names), reached through `base`.
fn meta_reads(fields: &[Field], base: &TokenStream) -> TokenStream {
    agentapis_paging::BODY_FIELDS
        .iter()
        .filter(|(body, _)| fields.iter().any(|field| field.name == *body))
        .map(|(body, meta)| {
            let (body, meta) = (format_ident!("{body}"), format_ident!("{}", meta.name()));
            quote! { meta.#meta = ::agentapis_runtime::paging::MetaValue::into_meta(#base.#body); }
        })
        .collect()
}

/// How the entries and paging fields come out of a page body.
fn split(facts: &Facts, page: &Type) -> Result<(Type, TokenStream), String> {
    if let Some(item) = generic_arg(page, "Vec") {
        return Ok((
            item,
            quote! { (page, ::agentapis_runtime::paging::PageMeta::default()) },
        ));
    }
    let page_name = last_ident(page).ok_or("page body is not a named type")?;
    let fields = facts
        .types
        .get(&page_name)
        .ok_or_else(|| format!("`{page_name}` is not a struct"))?;
    let entries = agentapis_paging::entries_field(
        fields
            .iter()
            .map(|f| (f.name.as_str(), generic_arg(&f.ty, "Vec").is_some())),
    )
    .ok_or_else(|| format!("page body `{page_name}` has no `data` field, nor one array beside its paging fields"))?;
    let data = fields
        .iter()
        .find(|f| f.name == entries)
        .ok_or("unreachable: the entries are one of the fields")?;
    let mut reads = meta_reads(fields, &quote!(page));
    if data.name != "data" {
        // {"<entries>": [...], <paging fields>}
        let item = generic_arg(&data.ty, "Vec").ok_or("unreachable: the entries are an array")?;
        let entries = field_ident(entries)?;
        return Ok((
            item,
            quote! { let mut meta = ::agentapis_runtime::paging::PageMeta::default(); #reads (page.#entries, meta) },
        ));
    }
    if let Some(item) = generic_arg(&data.ty, "Vec") {
        // {"data": [...], <paging fields>}
        return Ok((
            item,
            quote! { let mut meta = ::agentapis_runtime::paging::PageMeta::default(); #reads (page.data, meta) },
        ));
    }
    // {"data": {"<entries>": [...], <paging fields>}}: the entries are data's only array.
    let data_name = last_ident(&data.ty).ok_or("`data` is not a named type")?;
    let inner = facts
        .types
        .get(&data_name)
        .ok_or_else(|| format!("`{data_name}` is not a struct"))?;
    let arrays: Vec<&Field> = inner.iter().filter(|f| generic_arg(&f.ty, "Vec").is_some()).collect();
    let [entries] = arrays.as_slice() else {
        return Err(format!(
            "`{page_name}.data` is neither an array nor an object with exactly one array"
        ));
    };
    let item = generic_arg(&entries.ty, "Vec").ok_or("unreachable: filtered on Vec")?;
    reads.extend(meta_reads(inner, &quote!(page.data)));
    let entries = field_ident(&entries.name)?;
    Ok((
        item,
        quote! { let mut meta = ::agentapis_runtime::paging::PageMeta::default(); #reads (page.data.#entries, meta) },
    ))
}

/// A struct field's identifier as the facts spell it (`r#type` included), never a panic.
fn field_ident(name: &str) -> Result<syn::Ident, String> {
    syn::parse_str::<syn::Ident>(name).map_err(|e| format!("`{name}` is not a field name: {e}"))
}

/// A `u64` variable converted into the type a builder setter takes (`TryInto<T>`: a `u64`
/// converts into every integer type, not into floats or strings).
fn number(builder: &Builder, field: &str, var: TokenStream) -> TokenStream {
    let ty = builder
        .value_type(field)
        .map(|(t, _)| last_ident(&t).unwrap_or_default())
        .unwrap_or_default();
    match ty.as_str() {
        "f64" => quote! { #var as f64 },
        "f32" => quote! { #var as f32 },
        "String" => quote! { (#var).to_string() },
        _ => var,
    }
}

fn one(
    facts: &Facts,
    operation_id: &str,
    style: Paging,
    params: &[(String, Option<u64>)],
) -> Result<TokenStream, String> {
    use heck::ToUpperCamelCase;
    let name = progenitor_name(operation_id).to_upper_camel_case();
    let builder = facts
        .builders
        .get(&name)
        .ok_or_else(|| format!("no `{name}` builder in the generated code"))?;
    let page = builder.success.clone().ok_or("`send` does not return a typed body")?;
    let error_body = builder.error.clone().ok_or("`send` has no typed error")?;
    let (item, split) = split(facts, &page)?;

    let has = |n: &str| params.iter().any(|(p, _)| p.trim_end_matches("[]") == n);
    let size_param = style.size_param();
    let max = match params.iter().find(|(n, _)| n == size_param).and_then(|(_, max)| *max) {
        Some(m) => {
            let m = proc_macro2::Literal::u64_unsuffixed(m);
            quote! { Some(#m) }
        }
        None => quote! { None },
    };
    let mut arms = TokenStream::new();
    if has("page") {
        let n = number(builder, "page", quote!(*n));
        arms.extend(quote! { ::agentapis_runtime::paging::Position::Page(n) => self.page(#n), });
    }
    if has("after_cursor") {
        arms.extend(quote! { ::agentapis_runtime::paging::Position::After(c) => self.after_cursor(c.clone()), });
    }
    if has("before_cursor") {
        arms.extend(quote! { ::agentapis_runtime::paging::Position::Before(c) => self.before_cursor(c.clone()), });
    }
    let with_size = if has(size_param) {
        let setter = format_ident!("{size_param}");
        let size = number(builder, size_param, quote!(size));
        quote! { self.#setter(#size) }
    } else {
        quote! { { let _ = size; self } }
    };
    let builder_ident = format_ident!("{name}");
    let style = format_ident!("{style:?}");
    let backward = has("before_cursor");
    Ok(quote! {
        impl<'a> ::agentapis_runtime::paging::Paginated for builder::#builder_ident<'a> {
            type Page = #page;
            type Item = #item;
            type Error = #error_body;
            const STYLE: ::agentapis_runtime::Paging = ::agentapis_runtime::Paging::#style;
            const MAX_PAGE_SIZE: ::std::option::Option<u64> = #max;
            const BACKWARD: bool = #backward;
            fn at(self, position: &::agentapis_runtime::paging::Position) -> Self {
                #[allow(unreachable_patterns)]
                match position { #arms _ => self }
            }
            fn with_page_size(self, size: u64) -> Self { #with_size }
            fn send_page(self) -> impl ::std::future::Future<Output = ::std::result::Result<::progenitor_client::ResponseValue<Self::Page>, ::progenitor_client::Error<Self::Error>>> + Send {
                self.send()
            }
            fn split(page: Self::Page) -> (::std::vec::Vec<Self::Item>, ::agentapis_runtime::paging::PageMeta) { #split }
        }
    })
}
