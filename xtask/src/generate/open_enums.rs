//! The flat enums for components marked `x-open-enum` (see `rules::open_enum`): known values as
//! unit variants plus `Other(String)`, with `as_str()`, `Display`, `FromStr` (infallible) and
//! serde that writes and reads the wire string, so an unknown value round-trips unchanged.
//! progenitor is pointed at them with a type replacement.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

use crate::rules::open_enum::MARK;
use crate::syntax::typify_name;

/// One open enum: its component name, known values and description.
#[derive(Debug, Clone)]
pub struct OpenEnum {
    /// The component (and Rust type) name.
    pub name: String,
    /// The known wire values, in document order.
    pub values: Vec<String>,
    /// The schema's description.
    pub description: Option<String>,
}

/// Every component of `doc` marked as an open enum.
pub fn collect(doc: &Value) -> Vec<OpenEnum> {
    doc.pointer("/components/schemas")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(name, schema)| {
            let mut values: Vec<String> = Vec::new();
            for v in schema.get(MARK)?.as_array()?.iter().filter_map(Value::as_str) {
                if !values.iter().any(|seen| seen == v) {
                    values.push(v.to_owned());
                }
            }
            Some(OpenEnum {
                name: name.clone(),
                values,
                description: schema.get("description").and_then(Value::as_str).map(str::to_owned),
            })
        })
        .collect()
}

/// The Rust type progenitor is pointed at for component `name` (the types module is reachable
/// as `crate::types` from every client crate, which re-exports its generated module).
pub fn rust_path(name: &str) -> String {
    format!("crate::types::{}", typify_name(name))
}

fn type_ident(name: &str) -> syn::Ident {
    format_ident!("{}", typify_name(name))
}

/// Variant names for `values` (already without duplicates): typify's names, `Empty` for the
/// empty string, numbered where two values would collide, never `Other` (the fallback's name).
fn variant_names(values: &[String]) -> Vec<syn::Ident> {
    let mut taken: HashSet<String> = HashSet::from(["Other".to_owned()]);
    values
        .iter()
        .map(|v| {
            let base = if v.is_empty() {
                "Empty".to_owned()
            } else {
                typify_name(v)
            };
            let mut name = base.clone();
            let mut n = 2;
            while !taken.insert(name.clone()) {
                name = format!("{base}{n}");
                n += 1;
            }
            format_ident!("{name}")
        })
        .collect()
}

/// The items of one flat enum.
pub fn items(e: &OpenEnum) -> TokenStream {
    let ty = type_ident(&e.name);
    let variants = variant_names(&e.values);
    let values = &e.values;
    let docs = e.description.iter();
    let value_docs = values.iter().map(|v| format!("`{v}`"));
    quote! {
        #(#[doc = #docs])*
        #[derive(Clone, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
        #[non_exhaustive]
        pub enum #ty {
            #(#[doc = #value_docs] #variants,)*
            /// A value this client does not know yet, as sent.
            Other(::std::string::String),
        }
        impl #ty {
            /// The values this client knows.
            pub const KNOWN: &'static [&'static str] = &[#(#values),*];
            /// The value as sent on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    #(Self::#variants => #values,)*
                    Self::Other(value) => value.as_str(),
                }
            }
        }
        impl ::std::convert::AsRef<str> for #ty {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }
        impl ::std::fmt::Display for #ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl ::std::convert::From<&str> for #ty {
            fn from(value: &str) -> Self {
                match value {
                    #(#values => Self::#variants,)*
                    other => Self::Other(other.to_owned()),
                }
            }
        }
        impl ::std::convert::From<::std::string::String> for #ty {
            fn from(value: ::std::string::String) -> Self {
                // An unknown value keeps the string it came in (no copy).
                match Self::from(value.as_str()) {
                    Self::Other(_) => Self::Other(value),
                    known => known,
                }
            }
        }
        impl ::std::str::FromStr for #ty {
            type Err = ::std::convert::Infallible;
            fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {
                Ok(Self::from(value))
            }
        }
        impl ::serde::Serialize for #ty {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
        impl<'de> ::serde::Deserialize<'de> for #ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                <::std::string::String as ::serde::Deserialize>::deserialize(deserializer).map(Self::from)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_names_are_valid_and_distinct() {
        let values: Vec<String> = ["agent.execution.success", "2fa", "other", "a-b", "a_b", "", "self"]
            .map(str::to_owned)
            .to_vec();
        let names: Vec<String> = variant_names(&values).iter().map(ToString::to_string).collect();
        assert_eq!(
            names,
            ["AgentExecutionSuccess", "X2fa", "Other2", "AB", "AB2", "Empty", "Self_"]
        );
    }

    #[test]
    fn the_enum_parses() {
        let e = OpenEnum {
            name: "execution_status".into(),
            values: vec!["queued".into(), "success".into()],
            description: Some("d".into()),
        };
        let file: syn::File = syn::parse2(items(&e)).expect("parses");
        let text = prettyplease::unparse(&file);
        assert!(text.contains("pub enum ExecutionStatus {"), "{text}");
        assert!(text.contains("Other(::std::string::String)"), "{text}");
        assert_eq!(rust_path("execution_status"), "crate::types::ExecutionStatus");
        let doc = serde_json::json!({"components": {"schemas": {"s": {"x-open-enum": ["a", "a", "b"]}}}});
        assert_eq!(collect(&doc)[0].values, ["a", "b"], "duplicates go");
    }
}
