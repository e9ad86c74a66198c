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

/// progenitor's method name for an operation id: snake case after replacing characters that
/// cannot continue an identifier (as progenitor's own `sanitize` does for ASCII ids).
pub fn progenitor_name(operation_id: &str) -> String {
    use heck::ToSnakeCase;
    operation_id
        .replace('\'', "")
        .replace(|c: char| !(c.is_ascii_alphanumeric() || c == '_'), "-")
        .to_snake_case()
}

/// A name two items of the `types` module share (the code would not compile), if any.
pub fn duplicate_type(ast: &syn::File) -> Option<String> {
    let mut seen = std::collections::HashSet::new();
    module(ast, "types")?.iter().find_map(|item| {
        let name = match item {
            Item::Struct(s) => s.ident.to_string(),
            Item::Enum(e) => e.ident.to_string(),
            Item::Type(t) => t.ident.to_string(),
            _ => return None,
        };
        (!seen.insert(name.clone())).then_some(name)
    })
}

/// The Rust type name typify gives a schema called `name` (its `sanitize` in Pascal case):
/// characters that cannot continue an identifier become word breaks, a leading digit gets an
/// `X`, and a keyword gets a trailing `_`. Type replacements are looked up by this name.
pub fn typify_name(name: &str) -> String {
    use heck::ToUpperCamelCase;
    let out = match name {
        "+1" => "Plus1".to_owned(),
        "-1" => "Minus1".to_owned(),
        _ => name
            .replace('\'', "")
            .replace(|c: char| !(c.is_alphanumeric() || c == '_'), "-")
            .to_upper_camel_case(),
    };
    let out = match out.chars().next() {
        None => "X".to_owned(),
        Some(c) if c.is_alphabetic() || c == '_' => out,
        Some(_) => format!("X{out}"),
    };
    if syn::parse_str::<syn::Ident>(&out).is_ok() {
        out
    } else {
        format!("{out}_")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typify_names_are_identifiers() {
        for (input, want) in [
            ("execution_status", "ExecutionStatus"),
            ("Foo.Status", "FooStatus"),
            ("2fa_mode", "X2faMode"),
            ("self", "Self_"),
            ("", "X"),
            ("ExecutionStatus", "ExecutionStatus"),
        ] {
            assert_eq!(typify_name(input), want, "{input}");
        }
    }
}
