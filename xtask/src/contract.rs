//! Emits a contract test per API: every operation is called through the generated client
//! against the stand-in (`agentapis-standin`) and must decode into its typed success; then each
//! documented error status is scripted on the stand-in and must come back as the typed error.
//! Argument values come from the stand-in's examples for the spec, so the test file only names
//! the types; it is regenerated and checked like the clients.

use quote::ToTokens;
use serde_json::Value;
use syn::{ImplItem, Item, Type};

use crate::apis::Api;
use crate::generate::progenitor_name;
use crate::rules::walk;
use crate::syntax::{generic_arg, module, named_fields};

/// The Rust name of the client crate for `api`.
fn crate_name(api: &Api) -> String {
    format!("{}_client", api.name)
}

/// The test file for `api` (`doc` normalized, `ast` the generated client code).
pub fn emit(api: &Api, doc: &Value, ast: &syn::File) -> String {
    use heck::ToUpperCamelCase;
    let krate = crate_name(api);
    let builder = module(ast, "builder").unwrap_or(&[]);
    let mut blocks = Vec::new();
    let mut operations = 0usize;
    let mut statuses = 0usize;
    let mut path_cases = 0usize;
    let mut scratch = doc.clone();
    walk::operations(&mut scratch, &mut |op, method, path, _| {
        let id = progenitor_name(op.get("operationId").and_then(Value::as_str).unwrap_or_default());
        let struct_name = id.to_upper_camel_case();
        let key = format!("{} {path}", method.to_uppercase());
        let params: Vec<String> = op
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.get("name").and_then(Value::as_str).map(str::to_owned))
            .collect();
        let path_params: Vec<&str> = op
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|p| p.get("in").and_then(Value::as_str) == Some("path"))
            .filter_map(|p| p.get("name").and_then(Value::as_str))
            .collect();
        let fields: Vec<(String, Type)> = named_fields(builder, &struct_name)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|f| Some((f.ident.as_ref()?.to_string(), f.ty.clone())))
            .collect();
        let body_bound: Option<String> = builder
            .iter()
            .filter_map(|item| match item {
                Item::Impl(i) if i.self_ty.to_token_stream().to_string().starts_with(&struct_name) => Some(i),
                _ => None,
            })
            .flat_map(|i| &i.items)
            .find_map(|item| match item {
                ImplItem::Fn(f) if f.sig.ident == "body" => Some(f.sig.to_token_stream().to_string()),
                _ => None,
            });
        let mut setters = Vec::new();
        // Path parameters: (field, Rust type, spec name).
        let mut path_setters: Vec<(String, String, String)> = Vec::new();
        for (field, ty) in &fields {
            if field == "client" {
                continue;
            }
            let Some(inner) = generic_arg(ty, "Result") else {
                continue;
            };
            if field == "body" {
                let sig = body_bound.clone().unwrap_or_default();
                match try_into_target(&sig) {
                    Some(target) if !target.contains("reqwest :: Body") => {
                        let ty = target.replace("types ::", &format!("{krate} :: types ::"));
                        setters.push(format!(
                            ".body(serde_json::from_value::<{ty}>(standin::example_body(API, {key:?}).expect(\"a body example\")).expect(\"the example body decodes\"))"
                        ));
                    }
                    _ => setters.push(".body(reqwest::Body::from(Vec::<u8>::new()))".to_owned()),
                }
                continue;
            }
            if generic_arg(&inner, "Option").is_some() {
                continue; // optional parameter
            }
            let Some(name) = params
                .iter()
                .find(|p| progenitor_name(p.trim_end_matches("[]")) == field.trim_end_matches('_'))
            else {
                continue;
            };
            let ty = inner
                .to_token_stream()
                .to_string()
                .replace("types ::", &format!("{krate} :: types ::"));
            if path_params.contains(&name.as_str()) {
                path_setters.push((field.clone(), ty.clone(), name.clone()));
            }
            setters.push(format!(
                ".{field}(serde_json::from_value::<{ty}>(standin::example_param(API, {key:?}, {name:?}).expect(\"a parameter example\")).expect(\"the example parameter decodes\"))"
            ));
        }
        let errors: Vec<u16> = op
            .get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(code, _)| code.parse::<u16>().ok())
            .filter(|c| *c >= 400)
            .collect();
        operations += 1;
        statuses += errors.len();
        path_cases += path_setters.len();
        // Each path parameter set to values that would change the route (where its type takes
        // them) must be refused by the client hooks before anything is sent. The builder from
        // `make()` has every required value; its setter is called again to override one.
        let path_checks: String = path_setters
            .iter()
            .map(|(field, ty, name)| {
                format!(
                    "for bad in TRAVERSALS {{
                        let Ok(value) = serde_json::from_value::<{ty}>(serde_json::json!(bad)) else {{ continue }};
                        match make().{field}(value).send().await {{
                            Err(progenitor_client::Error::Custom(_)) => {{}}
                            other => failures.push(format!(\"{{}} ({id}): path parameter {name} = {{bad:?}} was not refused: {{:?}}\", {key:?}, other.map(|_| ()))),
                        }}
                    }}"
                )
            })
            .collect();
        let client = match (api.name, security_needs_secret_key(op, doc)) {
            ("archastro", true) => "&secret",
            _ => "&client",
        };
        // Each operation's future is boxed: one async fn holding ~100 of them inline overflows
        // the test thread's stack in debug builds.
        blocks.push(format!(
            "Box::pin(async {{
                let client = {client};
                let make = || client.{id}(){setters};
                match make().send().await {{
                    Ok(_) => {{}}
                    Err(e) => failures.push(format!(\"{{}} ({id}): {{e:?}}\", {key:?})),
                }}
                {path_checks}
                for status in {errors:?} {{
                    server.fault({key:?}, standin::Fault::Status {{ status, times: 1 }});
                    match make().send().await {{
                        Err(progenitor_client::Error::ErrorResponse(v)) if v.status().as_u16() == status => {{}}
                        other => failures.push(format!(\"{{}} ({id}) on {{status}}: {{:?}}\", {key:?}, other.map(|_| ()))),
                    }}
                }}
            }}).await;",
            setters = setters.join(""),
        ));
    });
    let api_variant = match api.name {
        "invent" => "Invent",
        "agentiv" => "Agentiv",
        _ => "ArchAstro",
    };
    format!(
        "//! Contract test for {name}: all {operations} operations against the stand-in, each must
         //! decode its typed success, {statuses} documented error statuses must come back typed, and
         //! each of {path_cases} path parameters must be refused, before anything is sent, when its
         //! value would change the route.
         //! Included by `tests/contract_{name}.rs`, which keeps rustfmt off this generated file.
         use agentapis_runtime::{{Auth, RetryPolicy, Runtime, Secret}};
         use agentapis_standin as standin;
         const API: standin::Api = standin::Api::{api_variant};
         /// Path parameter values that no encoding keeps from changing a route (a backslash is
         /// encoded instead: see `agentapis_runtime::encode_segment`).
         #[allow(dead_code)]
         const TRAVERSALS: [&str; 3] = [\"\", \".\", \"..\"];
         fn client(base: &str, auth: Auth) -> {krate}::Client {{
             let runtime = Runtime::builder({name:?}, auth, {krate}::OPERATIONS).retry(RetryPolicy::none()).build();
             {krate}::Client::new_with_client(base, reqwest::Client::new(), runtime)
         }}
         #[tokio::test]
         async fn every_operation_meets_its_contract() {{
             let server = standin::Standin::builder(API).start().await.expect(\"stand-in\");
             let client = client(server.base_url(), Auth::All(vec![
                 Auth::Bearer(Secret::new(\"contract-token\")),
                 Auth::Header {{ name: \"x-archastro-api-key\", value: Secret::new(\"pk_contract\") }},
             ]));
             #[allow(unused_variables)]
             let secret = client_with_secret(server.base_url());
             let mut failures: Vec<String> = Vec::new();
             {blocks}
             println!(\"contract {name}: {operations} operations, {statuses} error statuses, {path_cases} path parameters, {{}} failures\", failures.len());
             assert!(failures.is_empty(), \"{{}} contract failures:\\n{{}}\", failures.len(), failures.join(\"\\n\"));
         }}
         fn client_with_secret(base: &str) -> {krate}::Client {{
             client(base, Auth::Header {{ name: \"x-archastro-api-key\", value: Secret::new(\"sk_contract\") }})
         }}",
        name = api.name,
        blocks = blocks.join("\n"),
    )
}

/// The `T` of the first `TryInto<T>` in a signature's tokens (brackets matched).
fn try_into_target(sig: &str) -> Option<String> {
    let start = sig.find("TryInto <")? + "TryInto <".len();
    let mut depth = 1;
    for (i, c) in sig[start..].char_indices() {
        match c {
            '<' => depth += 1,
            '>' => {
                depth -= 1;
                if depth == 0 {
                    return Some(sig[start..start + i].trim().to_owned());
                }
            }
            _ => {}
        }
    }
    None
}

/// True when every security alternative of `op` needs ArchAstro's secret key.
fn security_needs_secret_key(op: &serde_json::Map<String, Value>, doc: &Value) -> bool {
    let security = op.get("security").or_else(|| doc.get("security"));
    security
        .and_then(Value::as_array)
        .is_some_and(|alts| !alts.is_empty() && alts.iter().all(|a| a.get("secretKey").is_some()))
}
