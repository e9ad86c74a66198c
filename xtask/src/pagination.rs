//! Which operations of a (normalized) document page through results: the operation's query
//! parameter names handed to the one detection function the runtime and the stand-in share
//! ([`agentapis_paging::detect`]).

use serde_json::{Map, Value};

pub use agentapis_paging::Paging;

/// The names of an operation's query parameters.
pub fn query_names(op: &Map<String, Value>) -> impl Iterator<Item = &str> {
    op.get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| p.get("in").and_then(Value::as_str) == Some("query"))
        .filter_map(|p| p.get("name").and_then(Value::as_str))
}

/// The paging style of an operation, if any.
pub fn detect(method: &str, op: &Map<String, Value>) -> Option<Paging> {
    agentapis_paging::detect(method, query_names(op))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_operation_is_detected_by_its_query_parameters_only() {
        let Value::Object(op) = json!({ "parameters": [
            {"name": "page", "in": "query"},
            {"name": "take", "in": "query"},
            {"name": "per_page", "in": "path"}
        ]}) else {
            unreachable!()
        };
        assert_eq!(detect("get", &op), Some(Paging::PageTake));
        assert_eq!(detect("post", &op), None);
    }
}
