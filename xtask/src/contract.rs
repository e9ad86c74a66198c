//! Emits a contract test per API: every operation is called through the generated client
//! against the stand-in (`agentapis-standin`) and must decode into its typed success; then each
//! documented error status is scripted on the stand-in and must come back as the typed error;
//! and each path parameter set to a value that would change the route must be refused before
//! anything is sent. Argument values come from the stand-in's examples for the spec, and each
//! operation is called with exactly the credentials its `security` names, so the test file only
//! names types; it is regenerated and checked like the clients.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;
use syn::visit_mut::VisitMut;
use syn::Type;

use crate::apis::ApiEntry;
use crate::facts::Facts;
use crate::rules::walk;
use crate::syntax::progenitor_name;

/// What the emitted test covers (for the file's docs and `cargo xtask specs`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Operations called.
    pub operations: usize,
    /// Documented error statuses scripted.
    pub statuses: usize,
    /// Path parameters checked against traversal values.
    pub path_parameters: usize,
}

/// `types::X` → `<crate>::types::X`, so a type read from the client names it from outside.
fn from_crate(ty: &Type, krate: &syn::Ident) -> Type {
    struct Prefix<'a>(&'a syn::Ident);
    impl VisitMut for Prefix<'_> {
        fn visit_type_path_mut(&mut self, p: &mut syn::TypePath) {
            if p.qself.is_none()
                && p.path.leading_colon.is_none()
                && p.path.segments.first().is_some_and(|s| s.ident == "types")
            {
                let krate = self.0;
                let rest = &p.path;
                *p = syn::parse_quote!(#krate::#rest);
            }
            syn::visit_mut::visit_type_path_mut(self, p);
        }
    }
    let mut ty = ty.clone();
    Prefix(krate).visit_type_mut(&mut ty);
    ty
}

/// The credentials that satisfy `op`'s first security alternative, built from the schemes the
/// document declares (a bearer token, or a key in a header with the scheme's `x-key-prefix`).
fn credentials(op: &serde_json::Map<String, Value>, doc: &Value) -> TokenStream {
    let security = op.get("security").or_else(|| doc.get("security"));
    let Some(first) = security
        .and_then(Value::as_array)
        .and_then(|alts| alts.first())
        .and_then(Value::as_object)
    else {
        return quote!(Auth::None);
    };
    let parts: Vec<TokenStream> = first
        .keys()
        .filter_map(|name| doc.pointer(&format!("/components/securitySchemes/{}", crate::error::escape(name))))
        .filter_map(|scheme| {
            let kind = scheme.get("type").and_then(Value::as_str)?;
            match kind {
                "http" => Some(quote!(Auth::Bearer(Secret::new("contract-token")))),
                "apiKey" if scheme.get("in").and_then(Value::as_str) == Some("header") => {
                    let header = scheme.get("name")?.as_str()?;
                    let value = format!(
                        "{}contract",
                        scheme.get("x-key-prefix").and_then(Value::as_str).unwrap_or_default()
                    );
                    Some(quote!(Auth::Header { name: #header, value: Secret::new(#value) }))
                }
                _ => None,
            }
        })
        .collect();
    match parts.as_slice() {
        [] => quote!(Auth::None),
        [one] => one.clone(),
        _ => quote!(Auth::All(vec![#(#parts),*])),
    }
}

/// The test file for `api` (`doc` normalized, `facts` read from the generated client).
pub fn emit(api: &ApiEntry, doc: &Value, facts: &Facts) -> (TokenStream, Coverage) {
    use heck::ToUpperCamelCase;
    let krate = format_ident!("{}_client", api.name);
    let mut coverage = Coverage::default();
    // Distinct credential sets, each one client.
    let mut auths: Vec<String> = Vec::new();
    let mut clients = TokenStream::new();
    let mut blocks = TokenStream::new();
    for o in walk::each_operation(doc) {
        let id = progenitor_name(o.id());
        let method = format_ident!("{id}");
        let key = format!("{} {}", o.method.to_uppercase(), o.path);
        let Some(builder) = facts.builders.get(&id.to_upper_camel_case()) else {
            continue;
        };
        let params: Vec<(&str, &str)> =
            o.op.get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|p| Some((p.get("name")?.as_str()?, p.get("in")?.as_str()?)))
                .collect();
        let mut setters = TokenStream::new();
        // Path parameters: (setter, Rust type, spec name).
        let mut path_setters: Vec<(syn::Ident, Type, &str)> = Vec::new();
        for field in &builder.fields {
            if field.name == "client" {
                continue;
            }
            let Some((value, optional)) = builder.value_type(&field.name) else {
                continue;
            };
            let setter = format_ident!("{}", field.name);
            if field.name == "body" {
                match &builder.body {
                    Some(target) if !quote!(#target).to_string().contains("reqwest :: Body") => {
                        let ty = from_crate(target, &krate);
                        setters.extend(quote! {
                            .body(serde_json::from_value::<#ty>(standin::example_body(API, #key).expect("a body example")).expect("the example body decodes"))
                        });
                    }
                    _ => setters.extend(quote!(.body(reqwest::Body::from(Vec::<u8>::new())))),
                }
                continue;
            }
            if optional {
                continue;
            }
            let Some((name, location)) = params
                .iter()
                .find(|(p, _)| progenitor_name(p.trim_end_matches("[]")) == field.name.trim_end_matches('_'))
            else {
                continue;
            };
            let ty = from_crate(&value, &krate);
            // The stand-in reads the spec as written: no `[]` the Plug rule added.
            let name = name.trim_end_matches("[]");
            if *location == "path" {
                path_setters.push((setter.clone(), ty.clone(), name));
            }
            setters.extend(quote! {
                .#setter(serde_json::from_value::<#ty>(standin::example_param(API, #key, #name).expect("a parameter example")).expect("the example parameter decodes"))
            });
        }
        let errors: Vec<proc_macro2::Literal> =
            o.op.get("responses")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter_map(|(code, _)| code.parse::<u16>().ok())
                .filter(|c| *c >= 400)
                .map(proc_macro2::Literal::u16_unsuffixed)
                .collect();
        coverage.operations += 1;
        coverage.statuses += errors.len();
        coverage.path_parameters += path_setters.len();
        // Each path parameter set to values that would change the route (where its type takes
        // them) must be refused by the client hooks before anything is sent. The builder from
        // `make()` has every required value; its setter is called again to override one.
        let path_checks = path_setters.iter().map(|(setter, ty, name)| {
            let refused = format!("{{}} ({id}): path parameter {name} = {{bad:?}} was not refused: {{:?}}");
            quote! {
                for bad in TRAVERSALS {
                    let Ok(value) = serde_json::from_value::<#ty>(serde_json::json!(bad)) else { continue };
                    match make().#setter(value).send().await {
                        Err(progenitor_client::Error::Custom(_)) => {}
                        other => failures.push(format!(#refused, #key, other.map(|_| ()))),
                    }
                }
            }
        });
        let auth = credentials(o.op, doc);
        let auth_text = auth.to_string();
        let index = auths.iter().position(|a| *a == auth_text).unwrap_or_else(|| {
            let client = format_ident!("client_{}", auths.len());
            clients.extend(quote!(let #client = client(server.base_url(), #auth);));
            auths.push(auth_text);
            auths.len() - 1
        });
        let client = format_ident!("client_{index}");
        let failed = format!("{{}} ({id}): {{e:?}}");
        let failed_status = format!("{{}} ({id}) on {{status}}: {{:?}}");
        // Each operation's future is boxed: one async fn holding ~100 of them inline overflows
        // the test thread's stack in debug builds.
        blocks.extend(quote! {
            Box::pin(async {
                let client = &#client;
                let make = || client.#method() #setters;
                match make().send().await {
                    Ok(_) => {}
                    Err(e) => failures.push(format!(#failed, #key)),
                }
                #(#path_checks)*
                for status in [#(#errors),*] {
                    server.fault(#key, standin::Fault::Status { status, times: 1 });
                    match make().send().await {
                        Err(progenitor_client::Error::ErrorResponse(v)) if v.status().as_u16() == status => {}
                        other => failures.push(format!(#failed_status, #key, other.map(|_| ()))),
                    }
                }
            }).await;
        });
    }
    let name = api.name;
    let variant = format_ident!("{}", api.variant);
    let Coverage {
        operations,
        statuses,
        path_parameters,
    } = coverage;
    let docs = format!(
        " Contract test for {name}: all {operations} operations against the stand-in, each must\n decode its typed success (and conform to its schema, checked by the `jsonschema` crate),\n {statuses} documented error statuses must come back typed, and each of {path_parameters} path\n parameters must be refused, before anything is sent, when its value would change the route.\n Included by `tests/contract_{name}.rs`, which keeps rustfmt off this generated file."
    );
    let docs = docs.lines();
    let summary = format!("contract {name}: {operations} operations, {statuses} error statuses, {path_parameters} path parameters, {{}} failures");
    let tokens = quote! {
        #(#![doc = #docs])*
        use agentapis_runtime::{Auth, RetryPolicy, Runtime, Secret, Settings};
        use agentapis_standin as standin;
        const API: agentapis_runtime::Api = agentapis_runtime::Api::#variant;
        /// Path parameter values that no encoding keeps from changing a route (a backslash is
        /// encoded instead: see `agentapis_runtime::encode_segment`).
        #[allow(dead_code)]
        const TRAVERSALS: [&str; 3] = ["", ".", ".."];
        fn client(base: &str, auth: Auth) -> #krate::Client {
            let mut settings = Settings::default();
            settings.retry = RetryPolicy::none();
            let runtime = Runtime::with_settings(API, auth, #krate::OPERATIONS, settings);
            #krate::Client::new_with_client(base, reqwest::Client::new(), runtime)
        }
        #[tokio::test]
        async fn every_operation_meets_its_contract() {
            // Every answer is also checked against its schema by the `jsonschema` crate, so the
            // stand-in and the client cannot share a misunderstanding unnoticed.
            let server = standin::Standin::builder(API).check_answers().start().await.expect("stand-in");
            #clients
            let mut failures: Vec<String> = Vec::new();
            #blocks
            failures.extend(server.answer_violations().into_iter().map(|v| format!("the stand-in's answer does not conform: {v}")));
            println!(#summary, failures.len());
            assert!(failures.is_empty(), "{} contract failures:\n{}", failures.len(), failures.join("\n"));
        }
    };
    (tokens, coverage)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn credentials_follow_the_declared_schemes() {
        let doc = json!({"components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "secret": {"type": "apiKey", "in": "header", "name": "x-key", "x-key-prefix": "sk_"}}}});
        let op = |security: Value| json!({"security": security}).as_object().cloned().unwrap_or_default();
        let text = |t: TokenStream| t.to_string();
        assert_eq!(
            text(credentials(&op(json!([{"secret": []}, {"bearer": []}])), &doc)),
            text(quote!(Auth::Header {
                name: "x-key",
                value: Secret::new("sk_contract")
            }))
        );
        assert_eq!(
            text(credentials(&op(json!([{"bearer": []}])), &doc)),
            text(quote!(Auth::Bearer(Secret::new("contract-token"))))
        );
        assert_eq!(
            text(credentials(&op(json!([{"bearer": [], "secret": []}])), &doc)),
            text(quote!(Auth::All(vec![
                Auth::Bearer(Secret::new("contract-token")),
                Auth::Header {
                    name: "x-key",
                    value: Secret::new("sk_contract")
                }
            ])))
        );
        assert_eq!(text(credentials(&op(json!([])), &doc)), "Auth :: None");
    }

    #[test]
    fn types_are_named_from_the_client_crate() {
        let krate = format_ident!("demo_client");
        let ty: Type = syn::parse_quote!(::std::vec::Vec<types::Agent>);
        let prefixed = from_crate(&ty, &krate);
        assert_eq!(
            quote!(#prefixed).to_string(),
            ":: std :: vec :: Vec < demo_client :: types :: Agent >"
        );
    }
}
