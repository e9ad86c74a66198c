//! Paging: a window of a collection of `collection_size` generated entries, answered in the
//! operation's style (numbered pages with totals, `pagination-*` headers, or cursors).

use serde_json::{json, Value};

use super::lookup;
use crate::spec::Paging;

/// Refuses a page whose first entry's offset does not fit in 64 bits (a real server's database
/// would refuse it too), instead of overflowing.
pub(crate) fn page_window(query: &[(String, String)], paging: Paging) -> Result<(), String> {
    if !paging.is_numbered() {
        return Ok(());
    }
    let size_name = paging.size_param();
    let number = |name: &str, default: u64| {
        lookup(query, name)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(default)
    };
    let (page, size) = (number("page", 1).max(1), number(size_name, 20).max(1));
    let offset = (page - 1).checked_mul(size).filter(|o| i64::try_from(*o).is_ok());
    match offset {
        Some(_) => Ok(()),
        None => Err(format!("page {page} with {size_name} {size} is out of range")),
    }
}

/// Puts the page `query` asks for into `body` (entries made by `make`), with the paging fields
/// the schema has and, for page/take, the `pagination-*` headers. `false` for a style this
/// stand-in does not serve (the body stays as generated; a test over `Paging::ALL` keeps that
/// from happening to a bundled style).
pub(crate) fn page(
    paging: Paging,
    total: u64,
    query: &[(String, String)],
    body: &mut Value,
    headers: &mut Vec<(&'static str, String)>,
    make: impl Fn(std::ops::Range<u64>) -> Vec<Value>,
) -> bool {
    let q = |name: &str| lookup(query, name);
    let number = |name: &str, default: u64| q(name).and_then(|v| v.parse::<u64>().ok()).unwrap_or(default);
    match paging {
        Paging::PageTake => {
            let (page, take) = (number("page", 1).max(1), number("take", 20).clamp(1, 100));
            let from = (page - 1).saturating_mul(take).min(total);
            *body = Value::Array(make(from..from.saturating_add(take).min(total)));
            headers.push(("pagination-count", total.to_string()));
            headers.push(("pagination-page", page.to_string()));
            headers.push(("pagination-take", take.to_string()));
        }
        Paging::PageSize | Paging::PerPage => {
            let size_name = paging.size_param();
            let (page, size) = (number("page", 1).max(1), number(size_name, 20).max(1));
            let from = (page - 1).saturating_mul(size).min(total);
            let pages = total.div_ceil(size);
            let key = entries_key(body);
            set(
                body,
                &key,
                Value::Array(make(from..from.saturating_add(size).min(total))),
            );
            for (k, v) in [
                ("page", json!(page)),
                (size_name, json!(size)),
                ("total_pages", json!(pages)),
                ("total_entries", json!(total)),
                ("total_count", json!(total)),
                ("has_next", json!(page < pages)),
                ("has_prev", json!(page > 1)),
            ] {
                set_if_present(body, k, v);
            }
        }
        Paging::Cursor => cursor_page(query, total, body, make),
        _ => return false,
    }
    true
}

/// A cursor page: `limit` entries after `after_cursor` or before `before_cursor` (the first
/// page without either), with both cursors and `has_more`, in the body or in its `data` object.
fn cursor_page(
    query: &[(String, String)],
    total: u64,
    body: &mut Value,
    make: impl Fn(std::ops::Range<u64>) -> Vec<Value>,
) {
    let q = |name: &str| lookup(query, name);
    let limit = q("limit").and_then(|v| v.parse::<u64>().ok()).unwrap_or(20).max(1);
    let at = |c: &str| c.trim_start_matches('c').parse::<u64>().unwrap_or(0).min(total);
    let (from, to) = match (q("before_cursor"), q("after_cursor")) {
        (Some(c), _) => (at(c).saturating_sub(limit), at(c)),
        (None, Some(c)) => (at(c), at(c).saturating_add(limit).min(total)),
        (None, None) => (0, limit.min(total)),
    };
    let entries = Value::Array(make(from..to));
    let cursors = [
        (
            "after_cursor",
            if to < total {
                json!(format!("c{to}"))
            } else {
                Value::Null
            },
        ),
        (
            "before_cursor",
            if from > 0 {
                json!(format!("c{from}"))
            } else {
                Value::Null
            },
        ),
        ("has_more", json!(to < total)),
    ];
    let key = entries_key(body);
    if body.get(&key).is_some_and(Value::is_array) {
        set(body, &key, entries);
        cursors.into_iter().for_each(|(k, v)| set_or_remove(body, k, v));
    } else if let Some(data) = body.get_mut("data").filter(|d| d.is_object()) {
        let list = data
            .as_object()
            .and_then(|m| m.iter().find(|(_, v)| v.is_array()).map(|(k, _)| k.clone()));
        if let Some(list) = list {
            data[list.as_str()] = entries;
        }
        cursors.into_iter().for_each(|(k, v)| set_or_remove(data, k, v));
    }
}

/// Where a page body keeps its entries ([`agentapis_paging::entries_field`]; `data` when the
/// body's shape says nothing).
fn entries_key(body: &Value) -> String {
    let fields = body
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v.is_array()));
    agentapis_paging::entries_field(fields).unwrap_or("data").to_owned()
}

fn set(body: &mut Value, key: &str, value: Value) {
    if let Some(obj) = body.as_object_mut() {
        obj.insert(key.to_owned(), value);
    }
}

fn set_if_present(body: &mut Value, key: &str, value: Value) {
    if let Some(slot) = body.get_mut(key) {
        *slot = value;
    }
}

/// Sets a cursor field the schema has; a null cursor is left out (the field is optional).
fn set_or_remove(body: &mut Value, key: &str, value: Value) {
    let Some(obj) = body.as_object_mut() else { return };
    if value.is_null() {
        obj.remove(key);
    } else {
        obj.insert(key.to_owned(), value);
    }
}

/// The schema of one entry: a bare array's items, the entries field's items (`data`, or the
/// only array beside the paging fields), or the items of the only array inside `data`.
pub(crate) fn items_schema<'a>(doc: &'a Value, schema: &'a Value) -> Option<&'a Value> {
    let schema = crate::spec::resolve(doc, schema);
    if let Some(items) = schema.get("items") {
        return Some(items);
    }
    let props = schema.get("properties")?.as_object()?;
    let is_array = |p: &Value| crate::spec::resolve(doc, p).get("type").and_then(Value::as_str) == Some("array");
    let entries = agentapis_paging::entries_field(props.iter().map(|(k, p)| (k.as_str(), is_array(p))))?;
    let data = crate::spec::resolve(doc, props.get(entries)?);
    if let Some(items) = data.get("items") {
        return Some(items);
    }
    let props = data.get("properties")?.as_object()?;
    let arrays: Vec<&Value> = props
        .values()
        .map(|p| crate::spec::resolve(doc, p))
        .filter(|p| p.get("type").and_then(Value::as_str) == Some("array"))
        .collect();
    match arrays.as_slice() {
        [only] => only.get("items"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_under_another_name_than_data_are_paged() {
        let query = vec![
            ("after_cursor".to_owned(), "c2".to_owned()),
            ("limit".to_owned(), "2".to_owned()),
        ];
        let mut body = json!({"replies": [], "after_cursor": "", "has_more": true, "thread_id": "t"});
        let served = page(Paging::Cursor, 5, &query, &mut body, &mut Vec::new(), |range| {
            range.map(|i| json!({ "n": i })).collect()
        });
        assert!(served);
        assert_eq!(body["replies"], json!([{"n": 2}, {"n": 3}]), "{body}");
        assert_eq!((&body["after_cursor"], &body["has_more"]), (&json!("c4"), &json!(true)));
        assert!(body.get("data").is_none());
        let doc = json!({});
        let schema = json!({"type": "object", "properties": {
            "replies": {"type": "array", "items": {"type": "object", "title": "Reply"}},
            "has_more": {"type": "boolean"}}});
        assert_eq!(
            items_schema(&doc, &schema),
            Some(&json!({"type": "object", "title": "Reply"}))
        );
    }

    #[test]
    fn every_paging_style_is_served() {
        for paging in Paging::ALL {
            let size = paging.size_param();
            let query = vec![("page".to_owned(), "2".to_owned()), (size.to_owned(), "2".to_owned())];
            let mut body = json!({"data": [], "page": 0, "total_pages": 0, "after_cursor": "", "has_more": true});
            let mut headers = Vec::new();
            let served = page(paging, 5, &query, &mut body, &mut headers, |range| {
                range.map(|i| json!({ "n": i })).collect()
            });
            assert!(served, "{paging:?} is not served");
            let entries = body.as_array().or_else(|| body["data"].as_array()).map_or(0, Vec::len);
            assert!(entries > 0, "{paging:?}: {body}");
        }
    }
}
