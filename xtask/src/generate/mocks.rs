//! A client's typed `httpmock` mocks: progenitor's generator (one `MockServerExt` method per
//! operation, typed `When` and `Then` wrappers), written to the client crate's `mock.rs` behind
//! its `mock` feature, so tests of the client (ours and users') name operations, parameters and
//! bodies by their types instead of hand-written paths and JSON.
//!
//! One repair: progenitor matches an array query parameter with `value.to_string()`, which a
//! `Vec` does not have; it is matched as one pair per item (`kind[]=a&kind[]=b`), as sent.

use proc_macro2::TokenStream;
use quote::quote;
use syn::visit_mut::VisitMut;

/// The mock module's source (without the file header) from progenitor's mock tokens.
pub fn emit(tokens: TokenStream) -> Result<String, String> {
    let mut file: syn::File = syn::parse2(tokens).map_err(|e| format!("mocks do not parse: {e}"))?;
    ArrayQueries.visit_file_mut(&mut file);
    Ok(prettyplease::unparse(&file))
}

/// Rewrites `query_param(name, value.to_string())` in a setter whose value is a `Vec`.
struct ArrayQueries;

impl VisitMut for ArrayQueries {
    fn visit_impl_item_fn_mut(&mut self, method: &mut syn::ImplItemFn) {
        let takes_vec = method
            .sig
            .generics
            .where_clause
            .as_ref()
            .is_some_and(|w| quote!(#w).to_string().contains(":: vec :: Vec <"));
        if takes_vec {
            PerItem.visit_block_mut(&mut method.block);
        }
    }
}

struct PerItem;

impl VisitMut for PerItem {
    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        syn::visit_mut::visit_expr_mut(self, expr);
        let syn::Expr::MethodCall(call) = expr else { return };
        if call.method != "query_param" || call.args.len() != 2 {
            return;
        }
        let (receiver, name) = (&call.receiver, &call.args[0]);
        let per_item: TokenStream = quote! {
            value.iter().fold(#receiver, |when, item| when.query_param(#name, item.to_string()))
        };
        if let Ok(replaced) = syn::parse2(per_item) {
            *expr = replaced;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_array_query_parameter_is_matched_one_pair_per_item() {
        let mut method: syn::ImplItemFn = syn::parse_quote! {
            pub fn kind<'a, T>(self, value: T) -> Self
            where
                T: Into<Option<&'a ::std::vec::Vec<::std::string::String>>>,
            {
                if let Some(value) = value.into() {
                    Self(self.0.query_param("kind[]", value.to_string()))
                } else {
                    Self(self.0.query_param_missing("kind[]"))
                }
            }
        };
        ArrayQueries.visit_impl_item_fn_mut(&mut method);
        let text = quote!(#method).to_string();
        assert!(text.contains("value . iter () . fold (self . 0"), "{text}");
        assert!(text.contains("query_param_missing"), "{text}");
        let mut scalar: syn::ImplItemFn = syn::parse_quote! {
            pub fn page<T>(self, value: T) -> Self where T: Into<Option<i64>> {
                Self(self.0.query_param("page", value.to_string()))
            }
        };
        let before = quote!(#scalar).to_string();
        ArrayQueries.visit_impl_item_fn_mut(&mut scalar);
        assert_eq!(
            quote!(#scalar).to_string(),
            before,
            "a scalar stays as progenitor wrote it"
        );
    }
}
