//! A view of the generated client with one path parameter fixed (Invent's `org_id`): a caller who
//! picked the organization once never passes it again. The view has a method per operation of
//! the client: the ones with the parameter return their builder with it filled in, the others
//! their builder as the client gives it, so the view can stand in for the client everywhere.

use heck::ToUpperCamelCase as _;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

use crate::apis::Scope;
use crate::facts::Facts;
use crate::rules::walk;
use crate::syntax::progenitor_name;

/// The view's type and its methods, or why one operation cannot get a method.
pub fn emit(doc: &Value, facts: &Facts, scope: &Scope) -> Result<TokenStream, String> {
    let parameter = format_ident!("{}", progenitor_name(scope.parameter));
    let mut methods = TokenStream::new();
    let mut scoped = 0usize;
    for o in walk::each_operation(doc) {
        let method = format_ident!("{}", progenitor_name(o.id()));
        let builder = method.to_string().to_upper_camel_case();
        let facts = facts
            .builders
            .get(&builder)
            .ok_or_else(|| format!("no `{builder}` builder for operation {}", o.id()))?;
        let builder = format_ident!("{builder}");
        let in_path = o.path.contains(&format!("{{{}}}", scope.parameter));
        if in_path && facts.field(&parameter.to_string()).is_some() {
            scoped += 1;
            let doc = format!(
                " `{} {}` with `{}` filled in.",
                o.method.to_uppercase(),
                o.path,
                scope.parameter
            );
            methods.extend(quote! {
                #[doc = #doc]
                pub fn #method(&self) -> builder::#builder<'a> { self.client.#method().#parameter(self.#parameter) }
            });
        } else {
            let doc = format!(" `{} {}`.", o.method.to_uppercase(), o.path);
            methods.extend(quote! {
                #[doc = #doc]
                pub fn #method(&self) -> builder::#builder<'a> { self.client.#method() }
            });
        }
    }
    if scoped == 0 {
        return Err(format!("no operation has the path parameter `{}`", scope.parameter));
    }
    let view = format_ident!("{}", scope.view);
    let type_doc = format!(
        " The client with `{}` ({}) fixed: every operation that takes it in its path comes with it\n filled in; every other operation is as on [`Client`].",
        scope.parameter, scope.meaning
    );
    let param_doc = format!(" The `{}` this view fills in.", scope.parameter);
    Ok(quote! {
        #[doc = #type_doc]
        #[derive(Debug, Clone, Copy)]
        pub struct #view<'a> {
            client: &'a Client,
            #parameter: &'a str,
        }
        impl<'a> #view<'a> {
            /// A view of `client` with the parameter set to `value`.
            pub fn new(client: &'a Client, value: &'a str) -> Self {
                Self { client, #parameter: value }
            }
            #[doc = #param_doc]
            pub fn #parameter(&self) -> &'a str {
                self.#parameter
            }
            /// The client underneath.
            pub fn client(&self) -> &'a Client {
                self.client
            }
            #methods
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{Builder, Field};

    fn builder(fields: &[&str]) -> Builder {
        Builder {
            fields: fields
                .iter()
                .map(|name| Field {
                    name: (*name).to_owned(),
                    ty: syn::parse_quote!(Result<String, String>),
                })
                .collect(),
            body: None,
            success: None,
            error: None,
        }
    }

    const SCOPE: Scope = Scope {
        parameter: "org_id",
        view: "Org",
        meaning: "the organization",
    };

    #[test]
    fn scoped_operations_are_filled_in_and_the_others_forwarded() {
        let doc = serde_json::json!({"paths": {
            "/orgs/{org_id}/bots": {"get": {"operationId": "listBots"}},
            "/chats/{chat_id}": {"get": {"operationId": "getChat"}}
        }});
        let mut facts = Facts::default();
        facts.builders.insert("ListBots".into(), builder(&["client", "org_id"]));
        facts.builders.insert("GetChat".into(), builder(&["client", "chat_id"]));
        let code = emit(&doc, &facts, &SCOPE).expect("a view").to_string();
        assert!(
            code.contains("pub fn list_bots (& self) -> builder :: ListBots < 'a > { self . client . list_bots () . org_id (self . org_id) }"),
            "{code}"
        );
        assert!(
            code.contains("pub fn get_chat (& self) -> builder :: GetChat < 'a > { self . client . get_chat () }"),
            "{code}"
        );
        assert!(code.contains("pub struct Org < 'a >"), "{code}");
    }

    #[test]
    fn a_scope_no_operation_has_is_an_error() {
        let doc = serde_json::json!({"paths": {"/chats/{chat_id}": {"get": {"operationId": "getChat"}}}});
        let mut facts = Facts::default();
        facts.builders.insert("GetChat".into(), builder(&["client", "chat_id"]));
        assert!(emit(&doc, &facts, &SCOPE).is_err());
        assert!(emit(&doc, &Facts::default(), &SCOPE).is_err());
    }
}
