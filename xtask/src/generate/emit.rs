//! The items the xtask adds to progenitor's output, built as syntax trees with `quote!`: the
//! operations table the runtime reads, the pagination module, and the path-segment rewrite.

use proc_macro2::TokenStream;
use quote::quote;
use serde_json::Value;
use syn::visit_mut::VisitMut;

use crate::facts::Facts;
use crate::pagination;
use crate::paging_glue::{self, Glue};
use crate::rules::walk;
use crate::syntax::progenitor_name;

/// The function path parameters are encoded with instead of progenitor's `encode_path`, which
/// leaves `\` alone (a URL parser then reads it as `/`): see `agentapis_runtime::encode_segment`.
pub const SEGMENT_ENCODER: &str = "agentapis_runtime::encode_segment";

/// Points every call of progenitor's `encode_path` in `item` at [`SEGMENT_ENCODER`] (the `use`
/// of `encode_path` is left as it is, unused).
pub fn encode_segments_in(item: &mut syn::Item) -> usize {
    struct Rewrite(usize);
    impl VisitMut for Rewrite {
        fn visit_expr_call_mut(&mut self, call: &mut syn::ExprCall) {
            if let syn::Expr::Path(p) = call.func.as_mut() {
                if p.path.is_ident("encode_path") {
                    p.path = syn::parse_quote!(agentapis_runtime::encode_segment);
                    self.0 += 1;
                }
            }
            syn::visit_mut::visit_expr_call_mut(self, call);
        }
        fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
            // `format!(.., encode_path(..))` keeps its arguments as tokens: parse, rewrite, print.
            let Ok(mut args) =
                mac.parse_body_with(syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated)
            else {
                return;
            };
            let before = self.0;
            for arg in &mut args {
                self.visit_expr_mut(arg);
            }
            if self.0 != before {
                mac.tokens = quote!(#args);
            }
        }
    }
    let mut rewrite = Rewrite(0);
    rewrite.visit_item_mut(item);
    rewrite.0
}

/// The header progenitor stamps on every request with the document's `info.version`. None of the
/// APIs documents it, and building it costs every call a header map and three allocations.
pub const DROPPED_HEADER: &str = "api-version";

/// Removes the [`DROPPED_HEADER`] progenitor writes in `item`'s `send` functions: the `append`
/// statement, and the header map around it when nothing else goes into the map. Returns how many
/// functions changed.
pub fn drop_api_version_header(item: &mut syn::Item) -> usize {
    struct Rewrite(usize);
    impl VisitMut for Rewrite {
        fn visit_block_mut(&mut self, block: &mut syn::Block) {
            syn::visit_mut::visit_block_mut(self, block);
            let before = block.stmts.len();
            block.stmts.retain(|stmt| !appends_api_version(stmt));
            if block.stmts.len() == before {
                return;
            }
            self.0 += 1;
            let uses = block
                .stmts
                .iter()
                .map(|stmt| quote!(#stmt).to_string().matches("header_map").count())
                .sum::<usize>();
            // Only the declaration and `.headers(header_map)` are left: drop both.
            if uses == 2 {
                block.stmts.retain(|stmt| !declares_header_map(stmt));
                struct Unchain;
                impl VisitMut for Unchain {
                    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
                        syn::visit_mut::visit_expr_mut(self, expr);
                        if let syn::Expr::MethodCall(call) = expr {
                            let passes_map = call.method == "headers"
                                && call.args.len() == 1
                                && call
                                    .args
                                    .first()
                                    .is_some_and(|a| quote!(#a).to_string() == "header_map");
                            if passes_map {
                                *expr = (*call.receiver).clone();
                            }
                        }
                    }
                }
                for stmt in &mut block.stmts {
                    Unchain.visit_stmt_mut(stmt);
                }
            }
        }
    }
    fn appends_api_version(stmt: &syn::Stmt) -> bool {
        let syn::Stmt::Expr(syn::Expr::MethodCall(call), _) = stmt else {
            return false;
        };
        let text = quote!(#call).to_string();
        call.method == "append"
            && text.starts_with("header_map")
            && text.contains(&format!("from_static (\"{DROPPED_HEADER}\")"))
    }
    fn declares_header_map(stmt: &syn::Stmt) -> bool {
        let syn::Stmt::Local(local) = stmt else { return false };
        let pat = &local.pat;
        quote!(#pat).to_string() == "mut header_map"
    }
    let mut rewrite = Rewrite(0);
    rewrite.visit_item_mut(item);
    rewrite.0
}

/// Operations whose pagination glue could not be emitted, with why.
pub type Unwalkable = Vec<(String, String)>;

/// The `paging` module: a `Paginated` impl per paginated operation (see [`paging_glue`]).
pub fn paging_module(doc: &Value, facts: &Facts) -> (TokenStream, Unwalkable) {
    let mut impls = TokenStream::new();
    let mut count = 0usize;
    let mut unwalkable = Vec::new();
    for glue in paging_glue::emit(doc, facts) {
        match glue {
            Glue::Code(code) => {
                impls.extend(code);
                count += 1;
            }
            Glue::Skipped { operation, reason } => unwalkable.push((operation, reason)),
        }
    }
    let summary = format!("Pagination glue: how the facade's pager drives each of the {count} paginated operations.");
    let missing = (!unwalkable.is_empty()).then(|| {
        let list: Vec<String> = unwalkable.iter().map(|(op, why)| format!("`{op}` ({why})")).collect();
        let line = format!("Paginated by parameters but not walkable: {}.", list.join("; "));
        quote!(#[doc = #line])
    });
    let module = quote! {
        #[doc = #summary]
        #missing
        pub mod paging {
            #[allow(unused_imports)]
            use super::types::*;
            #[allow(unused_imports)]
            use super::{builder, types};
            #impls
        }
    };
    (module, unwalkable)
}

/// A table of every operation for the runtime: id, method, path template, paging style and the
/// query parameters that carry pre-encoded bracket pairs.
pub fn operations_table(doc: &Value) -> TokenStream {
    let rows = walk::each_operation(doc).map(|o| {
        // The name progenitor reports in `OperationInfo` (its snake_case of the operationId).
        let id = progenitor_name(o.id());
        let deep = o
            .op
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|p| p.get("x-deep-query").is_some())
            .filter_map(|p| p.get("name").and_then(Value::as_str));
        let paging = match pagination::detect(o.method, o.op) {
            Some(style) => {
                let style = quote::format_ident!("{style:?}");
                quote!(Some(agentapis_runtime::Paging::#style))
            }
            None => quote!(None),
        };
        let multipart = o.op.get("x-multipart").and_then(Value::as_bool).unwrap_or(false);
        let method = o.method.to_uppercase();
        let path = o.path;
        quote! {
            agentapis_runtime::OperationMeta { id: #id, method: #method, path: #path, paging: #paging, deep_query: &[#(#deep),*], multipart: #multipart },
        }
    });
    quote! {
        /// Every operation of this API with what the runtime needs to know about it.
        pub const OPERATIONS: &[agentapis_runtime::OperationMeta] = &[#(#rows)*];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_version_header_is_left_out() {
        let mut alone: syn::Item = syn::parse_quote! {
            impl<'a> A<'a> {
                pub async fn send(self) -> R {
                    let mut header_map = ::reqwest::header::HeaderMap::with_capacity(1usize);
                    header_map.append(
                        ::reqwest::header::HeaderName::from_static("api-version"),
                        ::reqwest::header::HeaderValue::from_static(super::Client::api_version()),
                    );
                    let mut request = client.client.get(url).header(ACCEPT, json).headers(header_map).build()?;
                    request
                }
            }
        };
        assert_eq!(drop_api_version_header(&mut alone), 1);
        let text = quote!(#alone).to_string();
        assert!(!text.contains("header_map"), "{text}");
        assert!(
            text.contains("get (url) . header (ACCEPT , json) . build () ?"),
            "{text}"
        );
        let mut with_params: syn::Item = syn::parse_quote! {
            impl<'a> B<'a> {
                pub async fn send(self) -> R {
                    let mut header_map = ::reqwest::header::HeaderMap::with_capacity(2usize);
                    header_map.append(
                        ::reqwest::header::HeaderName::from_static("api-version"),
                        ::reqwest::header::HeaderValue::from_static(super::Client::api_version()),
                    );
                    header_map.append("x-trace", value.to_string().try_into()?);
                    let mut request = client.client.get(url).headers(header_map).build()?;
                    request
                }
            }
        };
        assert_eq!(drop_api_version_header(&mut with_params), 1);
        let text = quote!(#with_params).to_string();
        assert!(!text.contains("api-version"), "{text}");
        assert!(text.contains("\"x-trace\""), "{text}");
        assert!(text.contains(". headers (header_map)"), "{text}");
    }

    #[test]
    fn path_parameters_are_encoded_by_the_runtime() {
        let mut import: syn::Item = syn::parse_quote!(
            use progenitor_client::{encode_path, ClientHooks};
        );
        let mut item: syn::Item = syn::parse_quote! {
            fn url(client: &Client, id: &str) -> String {
                let direct = encode_path(&id.to_string());
                format!("{}/a/{}", client.baseurl, encode_path(&id.to_string()))
            }
        };
        assert_eq!(encode_segments_in(&mut import), 0);
        assert_eq!(encode_segments_in(&mut item), 2);
        let text = quote!(#import #item).to_string();
        assert!(
            text.contains("agentapis_runtime :: encode_segment (& id . to_string ())"),
            "{text}"
        );
        assert!(!text.contains("encode_path (&"), "{text}");
        assert!(
            text.contains("{ encode_path , ClientHooks }"),
            "the import is left as is"
        );
    }
}
