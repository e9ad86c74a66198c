//! Reading progenitor's output with syn: the few lookups the pagination glue and the contract
//! tests both need (a top-level module, a generic argument, a struct's named fields).

use quote::ToTokens;
use syn::{Fields, GenericArgument, Item, PathArguments, Type};

/// The items of top-level module `name` (`builder`, `types`), if the file has it.
pub fn module<'a>(ast: &'a syn::File, name: &str) -> Option<&'a [Item]> {
    ast.items.iter().find_map(|item| match item {
        Item::Mod(m) if m.ident == name => m.content.as_ref().map(|(_, items)| items.as_slice()),
        _ => None,
    })
}

/// The first generic argument of a path type whose last segment is `outer` (`Vec<T>` → `T`).
pub fn generic_arg(ty: &Type, outer: &str) -> Option<Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != outer {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    args.args.iter().find_map(|a| match a {
        GenericArgument::Type(t) => Some(t.clone()),
        _ => None,
    })
}

/// The last path segment's name (`types::Agent` → `Agent`).
pub fn last_ident(ty: &Type) -> Option<String> {
    let Type::Path(p) = ty else { return None };
    p.path.segments.last().map(|s| s.ident.to_string())
}

/// The named fields of struct `name` among `items`.
pub fn named_fields<'a>(items: &'a [Item], name: &str) -> Result<Vec<&'a syn::Field>, String> {
    let fields = items
        .iter()
        .find_map(|item| match item {
            Item::Struct(s) if s.ident == name => Some(&s.fields),
            _ => None,
        })
        .ok_or_else(|| format!("`{name}` is not a struct"))?;
    match fields {
        Fields::Named(named) => Ok(named.named.iter().collect()),
        _ => Err(format!("`{name}` has no named fields")),
    }
}

/// The field called `name`.
pub fn find_field<'a>(fields: &[&'a syn::Field], name: &str) -> Option<&'a syn::Field> {
    fields
        .iter()
        .find(|f| f.ident.as_ref().is_some_and(|i| i == name))
        .copied()
}

/// A type as token text (`:: std :: string :: String`), for emitting code.
pub fn tokens(ty: &Type) -> String {
    ty.to_token_stream().to_string()
}
