//! Detects which operations page through results, and in which style, from their parameters and
//! response shape alone.

use serde_json::{Map, Value};

/// A paging scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Style {
    /// `before_cursor`/`after_cursor` query parameters and cursor fields in the response body.
    Cursor,
    /// 1-based `page` with `page_size`.
    PageSize,
    /// 1-based `page` with `per_page`.
    PerPage,
    /// 1-based `page` with `take`; a bare array body and totals in `pagination-*` headers.
    PageTake,
}

impl Style {
    /// Short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Style::Cursor => "cursor",
            Style::PageSize => "page+page_size",
            Style::PerPage => "page+per_page",
            Style::PageTake => "page+take",
        }
    }
}

fn query_names(op: &Map<String, Value>) -> Vec<String> {
    op.get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| p.get("in").and_then(Value::as_str) == Some("query"))
        .filter_map(|p| p.get("name").and_then(Value::as_str))
        .map(|n| n.trim_end_matches("[]").to_owned())
        .collect()
}

/// The paging style of a (normalized) GET operation, if any.
pub fn detect(method: &str, op: &Map<String, Value>) -> Option<Style> {
    if method != "get" {
        return None;
    }
    let q = query_names(op);
    let has = |n: &str| q.iter().any(|x| x == n);
    if has("before_cursor") || has("after_cursor") {
        Some(Style::Cursor)
    } else if has("page") && has("page_size") {
        Some(Style::PageSize)
    } else if has("page") && has("per_page") {
        Some(Style::PerPage)
    } else if has("page") && has("take") {
        Some(Style::PageTake)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(names: &[&str]) -> Map<String, Value> {
        let params: Vec<Value> = names.iter().map(|n| json!({"name": n, "in": "query"})).collect();
        let Value::Object(m) = json!({ "parameters": params }) else {
            unreachable!()
        };
        m
    }

    #[test]
    fn styles_are_told_apart_by_parameters() {
        assert_eq!(detect("get", &op(&["limit", "before_cursor"])), Some(Style::Cursor));
        assert_eq!(detect("get", &op(&["page", "page_size"])), Some(Style::PageSize));
        assert_eq!(detect("get", &op(&["page", "per_page"])), Some(Style::PerPage));
        assert_eq!(detect("get", &op(&["page", "take", "next"])), Some(Style::PageTake));
        assert_eq!(detect("get", &op(&["page"])), None);
        assert_eq!(detect("post", &op(&["page", "take"])), None);
    }
}
