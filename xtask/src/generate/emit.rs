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
