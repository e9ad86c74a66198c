//! What progenitor generated, read once from its syntax tree into plain data: each operation's
//! request builder (fields, body type, success and error types) and each named struct's fields.
//! The emitters (pagination glue, contract tests) and the reports use these facts instead of
//! searching the generated text, and every lookup is a map access, so a document with thousands
//! of operations costs no more per operation than a small one.

use std::collections::HashMap;

use syn::{GenericArgument, ImplItem, Item, ReturnType, Type, WherePredicate};

use crate::syntax::{generic_arg, last_ident, path_arg};

/// One named field: its name and declared type.
#[derive(Debug, Clone)]
pub struct Field {
    /// The field's identifier.
    pub name: String,
    /// Its type as declared.
    pub ty: Type,
}

/// One request builder (`builder::<Operation>`).
#[derive(Debug, Clone, Default)]
pub struct Builder {
    /// Fields in declaration order (`client` included).
    pub fields: Vec<Field>,
    /// The type `body(..)` converts into (`TryInto<T>`), when the builder has a `body` setter.
    pub body: Option<Type>,
    /// `send`'s success body type (`ResponseValue<T>`).
    pub success: Option<Type>,
    /// `send`'s error body type (`Error<E>`).
    pub error: Option<Type>,
}

impl Builder {
    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// A field's value type: `T` of `Result<Option<T>, String>` or `Result<T, String>`, and
    /// whether it is optional.
    pub fn value_type(&self, name: &str) -> Option<(Type, bool)> {
        let declared = &self.field(name)?.ty;
        let value = generic_arg(declared, "Result").unwrap_or_else(|| declared.clone());
        Some(match generic_arg(&value, "Option") {
            Some(inner) => (inner, true),
            None => (value, false),
        })
    }
}

/// Everything the emitters need from progenitor's output.
#[derive(Debug, Default)]
pub struct Facts {
    /// Request builders by struct name (`RunAgent`).
    pub builders: HashMap<String, Builder>,
    /// Named structs of the `types` module by name, with their fields.
    pub types: HashMap<String, Vec<Field>>,
}

fn named_fields(fields: &syn::Fields) -> Vec<Field> {
    match fields {
        syn::Fields::Named(named) => named
            .named
            .iter()
            .filter_map(|f| {
                Some(Field {
                    name: f.ident.as_ref()?.to_string(),
                    ty: f.ty.clone(),
                })
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The `T` of a `where V: TryInto<T>` bound.
fn try_into_target(sig: &syn::Signature) -> Option<Type> {
    sig.generics.where_clause.as_ref()?.predicates.iter().find_map(|p| {
        let WherePredicate::Type(p) = p else { return None };
        p.bounds.iter().find_map(|b| match b {
            syn::TypeParamBound::Trait(t) => path_arg(&t.path, "TryInto"),
            _ => None,
        })
    })
}

/// `Result<ResponseValue<T>, Error<E>>` → `(T, E)`.
fn send_types(sig: &syn::Signature) -> (Option<Type>, Option<Type>) {
    let ReturnType::Type(_, result) = &sig.output else {
        return (None, None);
    };
    let Type::Path(path) = result.as_ref() else {
        return (None, None);
    };
    let Some(syn::PathArguments::AngleBracketed(args)) = path.path.segments.last().map(|s| &s.arguments) else {
        return (None, None);
    };
    let mut types = args.args.iter().filter_map(|a| match a {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    });
    let (ok, err) = (types.next(), types.next());
    (
        ok.and_then(|t| generic_arg(t, "ResponseValue")),
        err.and_then(|t| generic_arg(t, "Error")),
    )
}

impl Facts {
    /// Records what `item`, a direct item of top-level module `module`, says.
    pub fn add(&mut self, module: &str, item: &Item) {
        match (module, item) {
            ("builder", Item::Struct(s)) => {
                self.builders.entry(s.ident.to_string()).or_default().fields = named_fields(&s.fields);
            }
            ("builder", Item::Impl(i)) => {
                let Some(name) = last_ident(&i.self_ty) else { return };
                let builder = self.builders.entry(name).or_default();
                for item in &i.items {
                    let ImplItem::Fn(f) = item else { continue };
                    if f.sig.ident == "body" {
                        builder.body = try_into_target(&f.sig);
                    } else if f.sig.ident == "send" {
                        (builder.success, builder.error) = send_types(&f.sig);
                    }
                }
            }
            ("types", Item::Struct(s)) => {
                self.types.insert(s.ident.to_string(), named_fields(&s.fields));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;

    #[test]
    fn builders_are_read_by_exact_name() {
        let ast: syn::File = syn::parse_quote! {
            pub mod builder {
                pub struct CreateAgent<'a> { client: &'a super::Client, body: Result<types::builder::CreateAgent, String> }
                impl<'a> CreateAgent<'a> {
                    pub fn body<V>(mut self, value: V) -> Self where V: std::convert::TryInto<types::CreateAgent> { self }
                    pub async fn send(self) -> Result<ResponseValue<types::Agent>, Error<types::Problem>> { todo!() }
                }
                pub struct CreateAgentInstallationSource<'a> { client: &'a super::Client, body: Result<types::builder::Other, String> }
                impl<'a> CreateAgentInstallationSource<'a> {
                    pub fn body<V>(mut self, value: V) -> Self where V: std::convert::TryInto<types::Other> { self }
                }
            }
            pub mod types { pub struct Agent { pub id: String, pub tags: Vec<String> } }
        };
        let mut facts = Facts::default();
        for item in &ast.items {
            if let Item::Mod(m) = item {
                for inner in m.content.iter().flat_map(|(_, items)| items) {
                    facts.add(&m.ident.to_string(), inner);
                }
            }
        }
        let b = &facts.builders["CreateAgent"];
        let text = |t: &Option<Type>| t.as_ref().map(|t| t.to_token_stream().to_string());
        assert_eq!(text(&b.body).as_deref(), Some("types :: CreateAgent"));
        assert_eq!(text(&b.success).as_deref(), Some("types :: Agent"));
        assert_eq!(text(&b.error).as_deref(), Some("types :: Problem"));
        assert_eq!(
            text(&facts.builders["CreateAgentInstallationSource"].body).as_deref(),
            Some("types :: Other")
        );
        assert_eq!(facts.types["Agent"].len(), 2);
    }
}
