//! Realtime channels (`x-channels`). The generated crate has no channel items yet, so every
//! change here is internal for it; the report still lists them for the people who use them.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{change, schema, Change, Impact};

/// Realtime channels (`x-channels`): joins, client messages and server pushes by name.
pub(super) fn compare(old_doc: &Value, new_doc: &Value, out: &mut Vec<Change>) {
    let index = |doc: &Value| -> BTreeMap<String, Value> {
        doc.get("x-channels")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| Some((c.get("name")?.as_str()?.to_owned(), c.clone())))
            .collect()
    };
    let (old, new) = (index(old_doc), index(new_doc));
    let note = "no generated Rust items yet (realtime is not generated)";
    for (name, channel) in &old {
        let Some(next) = new.get(name) else {
            out.push(change(
                "channel-removed",
                format!("channel {name}"),
                format!("removed; {note}"),
                Impact::Internal,
                vec![],
            ));
            continue;
        };
        for part in ["joins", "messages", "pushes"] {
            let names = |c: &Value| -> BTreeMap<String, Value> {
                c.get(part)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|e| {
                        let key = e.get("name").or_else(|| e.get("event"))?.as_str()?.to_owned();
                        Some((key, e.clone()))
                    })
                    .collect()
            };
            let (a, b) = (names(channel), names(next));
            for key in a.keys().filter(|k| !b.contains_key(*k)) {
                out.push(change(
                    "channel-entry-removed",
                    format!("channel {name}"),
                    format!("{part}: `{key}` removed; {note}"),
                    Impact::Internal,
                    vec![],
                ));
            }
            for key in b.keys().filter(|k| !a.contains_key(*k)) {
                out.push(change(
                    "channel-entry-added",
                    format!("channel {name}"),
                    format!("{part}: `{key}` added; {note}"),
                    Impact::Internal,
                    vec![],
                ));
            }
            for (key, entry) in &a {
                if b.get(key).is_some_and(|e| schema::shape(e) != schema::shape(entry)) {
                    out.push(change(
                        "channel-entry-changed",
                        format!("channel {name}"),
                        format!("{part}: `{key}` changed; {note}"),
                        Impact::Internal,
                        vec![],
                    ));
                }
            }
        }
    }
    for name in new.keys().filter(|k| !old.contains_key(*k)) {
        out.push(change(
            "channel-added",
            format!("channel {name}"),
            format!("added; {note}"),
            Impact::Internal,
            vec![],
        ));
    }
}
