//! Emits, for every operation [`pagination::detect`] finds, an implementation of
//! `agentapis_runtime::paging::Paginated` for the operation's request builder, so the facade's
//! one generic pager walks it. The types involved (page body, entry, error body) are read from
//! progenitor's own output, not guessed.

use serde_json::Value;
use syn::{Fields, GenericArgument, Item, PathArguments, ReturnType, Type};

use crate::generate::progenitor_name;
use crate::pagination::{self, Style};
use crate::rules::walk;
use crate::syntax::{find_field, generic_arg, last_ident, module, named_fields, tokens};

/// Fields of a page body the pager reads (see `PageMeta::read`).
const META_FIELDS: [&str; 8] = [
    "after_cursor",
    "before_cursor",
    "has_more",
    "has_next",
    "page",
    "total_pages",
    "total_entries",
    "total_count",
];

/// The glue for one operation, or why there is none.
pub enum Glue {
    /// Rust items to append to the generated file.
    Code(String),
    /// The operation looks paginated by its parameters but its shape is not understood.
    Skipped {
        /// The operation id.
        operation: String,
        /// What was not understood.
        reason: String,
    },
}

/// Glue for every paginated operation of `doc`, given progenitor's output `ast`.
pub fn emit(doc: &Value, ast: &syn::File) -> Vec<Glue> {
    let mut out = Vec::new();
    let mut scratch = doc.clone();
    walk::operations(&mut scratch, &mut |op, method, _, _| {
        let Some(style) = pagination::detect(method, op) else {
            return;
        };
        let id = op.get("operationId").and_then(Value::as_str).unwrap_or_default();
        let params: Vec<(String, Option<u64>)> = op
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|p| p.get("in").and_then(Value::as_str) == Some("query"))
            .filter_map(|p| {
                let name = p.get("name")?.as_str()?.to_owned();
                Some((name, p.pointer("/schema/maximum").and_then(Value::as_u64)))
            })
            .collect();
        out.push(match one(ast, id, style, &params) {
            Ok(code) => Glue::Code(code),
            Err(reason) => Glue::Skipped {
                operation: id.to_owned(),
                reason,
            },
        });
    });
    out
}

/// `meta.read(..)` calls for the paging fields among `fields`, reached through `base`.
fn meta_reads(fields: &[&syn::Field], base: &str) -> String {
    META_FIELDS
        .iter()
        .filter(|f| find_field(fields, f).is_some())
        .map(|f| format!("meta.read({f:?}, &{base}.{f});"))
        .collect()
}

fn one(ast: &syn::File, operation_id: &str, style: Style, params: &[(String, Option<u64>)]) -> Result<String, String> {
    use heck::ToUpperCamelCase;
    let builder_name = progenitor_name(operation_id).to_upper_camel_case();
    let builder = module(ast, "builder").ok_or("no builder module")?;
    let types = module(ast, "types").ok_or("no types module")?;

    // `send`'s return type: Result<ResponseValue<Page>, Error<ErrorBody>>.
    let send = builder
        .iter()
        .filter_map(|item| match item {
            Item::Impl(i) if last_ident(&i.self_ty).as_deref() == Some(&builder_name) => Some(i),
            _ => None,
        })
        .flat_map(|i| &i.items)
        .find_map(|item| match item {
            syn::ImplItem::Fn(f) if f.sig.ident == "send" => Some(f),
            _ => None,
        })
        .ok_or_else(|| format!("no `{builder_name}::send` in the generated code"))?;
    let ReturnType::Type(_, result) = &send.sig.output else {
        return Err("`send` returns nothing".into());
    };
    let Type::Path(result_path) = result.as_ref() else {
        return Err("`send` does not return a Result".into());
    };
    let PathArguments::AngleBracketed(args) = &result_path
        .path
        .segments
        .last()
        .ok_or("`send` has an empty return type")?
        .arguments
    else {
        return Err("`send` does not return Result<_, _>".into());
    };
    let mut arg_types = args.args.iter().filter_map(|a| match a {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    });
    let (ok, err) = (arg_types.next(), arg_types.next());
    let page = ok
        .and_then(|t| generic_arg(t, "ResponseValue"))
        .ok_or("`send` does not return a typed body")?;
    let error_body = err
        .and_then(|t| generic_arg(t, "Error"))
        .ok_or("`send` has no typed error")?;

    // Entries: a bare array body, or the `data` array of an object body.
    let (item, split) = if let Some(item) = generic_arg(&page, "Vec") {
        (
            item,
            "(page, ::agentapis_runtime::paging::PageMeta::default())".to_owned(),
        )
    } else {
        let page_name = last_ident(&page).ok_or("page body is not a named type")?;
        let fields = named_fields(types, &page_name)?;
        let data = find_field(&fields, "data").ok_or_else(|| format!("page body `{page_name}` has no `data` field"))?;
        let mut reads = meta_reads(&fields, "page");
        if let Some(item) = generic_arg(&data.ty, "Vec") {
            // {"data": [...], <paging fields>}
            (
                item,
                format!("let mut meta = ::agentapis_runtime::paging::PageMeta::default(); {reads} (page.data, meta)"),
            )
        } else {
            // {"data": {"<entries>": [...], <paging fields>}}: the entries are data's only array.
            let data_name = last_ident(&data.ty).ok_or("`data` is not a named type")?;
            let inner = named_fields(types, &data_name)?;
            let arrays: Vec<_> = inner.iter().filter(|f| generic_arg(&f.ty, "Vec").is_some()).collect();
            let [entries] = arrays.as_slice() else {
                return Err(format!(
                    "`{page_name}.data` is neither an array nor an object with exactly one array"
                ));
            };
            let item = generic_arg(&entries.ty, "Vec").ok_or("unreachable: filtered on Vec")?;
            let entries = entries.ident.as_ref().ok_or("unnamed field")?;
            reads.push_str(&meta_reads(&inner, "page.data"));
            (
                item,
                format!(
                    "let mut meta = ::agentapis_runtime::paging::PageMeta::default(); {reads} (page.data.{entries}, meta)"
                ),
            )
        }
    };

    let has = |name: &str| params.iter().any(|(n, _)| n.trim_end_matches("[]") == name);
    let size_param = match style {
        Style::Cursor => "limit",
        Style::PageSize => "page_size",
        Style::PerPage => "per_page",
        Style::PageTake => "take",
    };
    let max = params
        .iter()
        .find(|(n, _)| n == size_param)
        .and_then(|(_, max)| *max)
        .map_or("None".to_owned(), |m| format!("Some({m})"));
    let builder_field_type = |field: &str| -> String {
        builder
            .iter()
            .find_map(|item| match item {
                Item::Struct(s) if s.ident == builder_name => match &s.fields {
                    Fields::Named(named) => named
                        .named
                        .iter()
                        .find(|f| f.ident.as_ref().is_some_and(|i| i == field))
                        // Builder fields are `Result<Option<T>, String>` (or `Result<T, String>`).
                        .map(|f| {
                            let value = generic_arg(&f.ty, "Result").unwrap_or_else(|| f.ty.clone());
                            tokens(&generic_arg(&value, "Option").unwrap_or(value))
                        }),
                    _ => None,
                },
                _ => None,
            })
            .unwrap_or_default()
    };
    // The builder setters take `TryInto<T>`; a u64 converts into every integer type.
    let number = |field: &str, var: &str| {
        let ty = builder_field_type(field);
        if ty.contains("f64") {
            format!("{var} as f64")
        } else if ty.contains("f32") {
            format!("{var} as f32")
        } else if ty.contains("String") {
            format!("({var}).to_string()")
        } else {
            var.to_owned()
        }
    };
    let mut arms = Vec::new();
    if has("page") {
        arms.push(format!(
            "::agentapis_runtime::paging::Position::Page(n) => self.page({}),",
            number("page", "*n")
        ));
    }
    if has("after_cursor") {
        arms.push("::agentapis_runtime::paging::Position::After(c) => self.after_cursor(c.clone()),".to_owned());
    }
    if has("before_cursor") {
        arms.push("::agentapis_runtime::paging::Position::Before(c) => self.before_cursor(c.clone()),".to_owned());
    }
    let with_size = if has(size_param) {
        format!("self.{size_param}({})", number(size_param, "size"))
    } else {
        "{ let _ = size; self }".to_owned()
    };
    Ok(format!(
        "impl<'a> ::agentapis_runtime::paging::Paginated for builder::{builder_name}<'a> {{
            type Page = {page};
            type Item = {item};
            type Error = {error_body};
            const STYLE: ::agentapis_runtime::Paging = ::agentapis_runtime::Paging::{style:?};
            const MAX_PAGE_SIZE: ::std::option::Option<u64> = {max};
            const BACKWARD: bool = {backward};
            fn at(self, position: &::agentapis_runtime::paging::Position) -> Self {{
                #[allow(unreachable_patterns)]
                match position {{ {arms} _ => self }}
            }}
            fn with_page_size(self, size: u64) -> Self {{ {with_size} }}
            fn send_page(self) -> impl ::std::future::Future<Output = ::std::result::Result<::progenitor_client::ResponseValue<Self::Page>, ::progenitor_client::Error<Self::Error>>> + Send {{
                self.send()
            }}
            fn split(page: Self::Page) -> (::std::vec::Vec<Self::Item>, ::agentapis_runtime::paging::PageMeta) {{ {split} }}
        }}",
        page = tokens(&page),
        item = tokens(&item),
        error_body = tokens(&error_body),
        backward = has("before_cursor"),
        arms = arms.join(" "),
    ))
}
