//! Bracket-encoded ("deep") query parameters, as Phoenix/Plug and Rails servers read them.
//!
//! progenitor can only put scalars and arrays of scalars in a query string. For an object or an
//! array of objects (for example a metadata filter tree) the xtask turns the parameter into a
//! string; the caller builds it with [`encode_deep`], and [`splice_deep_params`] (run by the
//! runtime on every request) replaces `name=<encoded>` with the bracket pairs themselves:
//!
//! ```
//! use serde_json::json;
//! let value = agentapis_runtime::query::encode_deep(
//!     "metadata",
//!     &json!({"operator": "and", "clauses": [{"path": ["tier"], "operator": "eq", "value": "gold"}]}),
//! );
//! assert_eq!(
//!     value,
//!     "metadata%5Bclauses%5D%5B%5D%5Boperator%5D=eq&metadata%5Bclauses%5D%5B%5D%5Bpath%5D%5B%5D=tier\
//!      &metadata%5Bclauses%5D%5B%5D%5Bvalue%5D=gold&metadata%5Boperator%5D=and"
//! );
//! ```

use reqwest::Url;
use serde_json::Value;

/// The bracket pairs for `value` under `name`: objects become `name[key]` (keys sorted), arrays
/// `name[]`.
/// Nulls are left out (Plug has no null); booleans and numbers are written as JSON writes them.
pub fn bracket_pairs(name: &str, value: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    push_pairs(name, value, &mut out);
    out
}

fn push_pairs(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Null => {}
        Value::Bool(b) => out.push((prefix.to_owned(), b.to_string())),
        Value::Number(n) => out.push((prefix.to_owned(), n.to_string())),
        Value::String(s) => out.push((prefix.to_owned(), s.clone())),
        Value::Array(items) => {
            for item in items {
                push_pairs(&format!("{prefix}[]"), item, out);
            }
        }
        Value::Object(map) => {
            // Sorted, so the encoding does not depend on whether serde_json keeps insertion order
            // (its `preserve_order` feature may be switched on by any crate in the build).
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            for (k, v) in entries {
                push_pairs(&format!("{prefix}[{k}]"), v, out);
            }
        }
    }
}

/// The value to pass for a deep query parameter: its bracket pairs, form-encoded.
pub fn encode_deep(name: &str, value: &Value) -> String {
    let mut url = Url::parse("http://x/").unwrap_or_else(|_| unreachable!("static URL parses"));
    url.query_pairs_mut().extend_pairs(bracket_pairs(name, value));
    url.query().unwrap_or_default().to_owned()
}

/// Replaces each `name=<encoded pairs>` in `url`'s query, for `name` in `deep`, by the pairs.
/// A value whose pairs are not all keyed `name[...]` was not made by [`encode_deep`] and is
/// left as is.
pub fn splice_deep_params(url: &mut Url, deep: &[&str]) {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if !pairs.iter().any(|(k, _)| deep.contains(&k.as_str())) {
        return;
    }
    let mut spliced = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        let inner = if deep.contains(&k.as_str()) {
            url::form_urlencoded_parse(&v)
        } else {
            Vec::new()
        };
        let prefix = format!("{k}[");
        if !inner.is_empty() && inner.iter().all(|(ik, _)| ik.starts_with(&prefix)) {
            spliced.extend(inner);
        } else {
            spliced.push((k, v));
        }
    }
    url.query_pairs_mut().clear().extend_pairs(spliced);
}

mod url {
    pub fn form_urlencoded_parse(encoded: &str) -> Vec<(String, String)> {
        let parsed = reqwest::Url::parse(&format!("http://x/?{encoded}"));
        parsed
            .map(|u| u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arrays_of_objects_use_empty_brackets() {
        let pairs = bracket_pairs(
            "filter",
            &json!([{"key": "a", "value": 1}, {"key": "b", "value": null}]),
        );
        assert_eq!(
            pairs,
            vec![
                ("filter[][key]".to_owned(), "a".to_owned()),
                ("filter[][value]".to_owned(), "1".to_owned()),
                ("filter[][key]".to_owned(), "b".to_owned()),
            ]
        );
    }

    #[test]
    fn splice_replaces_only_encoded_deep_params() {
        let encoded = encode_deep("metadata", &json!({"operator": "and"}));
        let mut url = Url::parse("https://h/teams").expect("url");
        url.query_pairs_mut()
            .append_pair("page", "2")
            .append_pair("metadata", &encoded)
            .append_pair("q", "x[y]");
        splice_deep_params(&mut url, &["metadata", "q"]);
        assert_eq!(url.query(), Some("page=2&metadata%5Boperator%5D=and&q=x%5By%5D"));
    }
}
