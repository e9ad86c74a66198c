//! Names and types as progenitor and typify spell them: generic arguments of a type, the last
//! segment of a path, and the method and type names they derive from operation ids and schema
//! names; and the `{name}` placeholders of the templates those names are filled into.

use syn::{GenericArgument, PathArguments, Type};

/// The first type argument of a path whose last segment is `outer` (`Vec<T>` → `T`).
pub fn path_arg(path: &syn::Path, outer: &str) -> Option<Type> {
    let last = path.segments.last()?;
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

/// The first generic argument of a path type whose last segment is `outer` (`Vec<T>` → `T`).
pub fn generic_arg(ty: &Type, outer: &str) -> Option<Type> {
    let Type::Path(p) = ty else { return None };
    path_arg(&p.path, outer)
}

/// The last path segment's name (`types::Agent` → `Agent`).
pub fn last_ident(ty: &Type) -> Option<String> {
    let Type::Path(p) = ty else { return None };
    p.path.segments.last().map(|s| s.ident.to_string())
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

/// The `{name}` placeholders of a template (a path, or a channel's topic pattern), in order.
pub fn template_params(template: &str) -> Vec<&str> {
    template
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .collect()
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
