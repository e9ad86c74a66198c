//! Realtime channels (`x-channels`). For an API whose table entry names a channel module, each
//! join is a `channels::Realtime` method, each message a method of the channel's handle and
//! each push a variant of its push enum (non-exhaustive), so removals are breaking and additions
//! additive; the params, reply and payload types are components (`hoist-channel-schemas`),
//! compared with the other schemas. For an API without channel code every change is internal.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{change, schema, Change, Impact};
use crate::channels::{method_name, prefix, variant_name};

/// The Rust item a channel entry becomes (`channels::ChatChannel::post_message`).
fn item(channel: &str, part: &str, key: &str) -> String {
    let prefix = prefix(channel);
    match part {
        "joins" => format!("channels::Realtime::{key}"),
        "messages" => format!("channels::{prefix}Channel::{}", method_name(key)),
        _ => format!("channels::{prefix}Push::{}", variant_name(key)),
    }
}

/// The schemas of an entry (params, reply, payload), which decide its Rust signature.
fn signature(entry: &Value) -> Vec<Value> {
    ["params", "returns", "payload"]
        .iter()
        .filter_map(|k| entry.get(*k).map(schema::shape))
        .collect()
}

/// Realtime channels (`x-channels`): joins, client messages and server pushes by name.
/// `generated`: whether the API's crate has channel code.
pub(super) fn compare(old_doc: &Value, new_doc: &Value, generated: bool, out: &mut Vec<Change>) {
    let index = |doc: &Value| -> BTreeMap<String, Value> {
        doc.get("x-channels")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| Some((c.get("name")?.as_str()?.to_owned(), c.clone())))
            .collect()
    };
    let (old, new) = (index(old_doc), index(new_doc));
    let note = if generated {
        ""
    } else {
        "; no generated Rust items (the API has no channel module)"
    };
    let impact = |when_generated: Impact| if generated { when_generated } else { Impact::Internal };
    let rust = |items: Vec<String>| if generated { items } else { Vec::new() };
    for (name, channel) in &old {
        let Some(next) = new.get(name) else {
            let p = prefix(name);
            out.push(change(
                "channel-removed",
                format!("channel {name}"),
                format!("removed{note}"),
                impact(Impact::Breaking),
                rust(vec![format!("channels::{p}Channel"), format!("channels::{p}Push")]),
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
                    format!("{part}: `{key}` removed{note}"),
                    impact(Impact::Breaking),
                    rust(vec![item(name, part, key)]),
                ));
            }
            for key in b.keys().filter(|k| !a.contains_key(*k)) {
                out.push(change(
                    "channel-entry-added",
                    format!("channel {name}"),
                    format!("{part}: `{key}` added{note}"),
                    impact(Impact::Additive),
                    rust(vec![item(name, part, key)]),
                ));
            }
            for (key, entry) in &a {
                let Some(next_entry) = b.get(key) else { continue };
                if schema::shape(next_entry) == schema::shape(entry) {
                    continue;
                }
                // A different type in the signature breaks callers; a new topic pattern or
                // other data does not change the Rust item.
                let retyped = signature(next_entry) != signature(entry);
                out.push(change(
                    "channel-entry-changed",
                    format!("channel {name}"),
                    format!(
                        "{part}: `{key}` {}{note}",
                        if retyped {
                            "takes or gives another type"
                        } else {
                            "changed (not its types)"
                        }
                    ),
                    impact(if retyped { Impact::Breaking } else { Impact::Internal }),
                    rust(vec![item(name, part, key)]),
                ));
            }
        }
    }
    for name in new.keys().filter(|k| !old.contains_key(*k)) {
        out.push(change(
            "channel-added",
            format!("channel {name}"),
            format!("added{note}"),
            impact(Impact::Additive),
            rust(vec![format!("channels::{}Channel", prefix(name))]),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn generated_channels_classify_like_rust_items() {
        let old = json!({"x-channels": [{"name": "ApiChatChannel",
            "joins": [{"name": "join_thread", "pattern": "t:{id}", "params": {"$ref": "#/components/schemas/A"}}],
            "messages": [{"event": "api:chat:post", "params": {"type": "object"}, "returns": {"type": "object"}}],
            "pushes": [{"event": "added", "payload": {"type": "object"}}]}]});
        let mut new = old.clone();
        new["x-channels"][0]["joins"][0]["pattern"] = json!("thread:{id}");
        new["x-channels"][0]["messages"][0]["returns"] = json!({"$ref": "#/components/schemas/B"});
        new["x-channels"][0]["pushes"] = json!([{"event": "removed", "payload": {"type": "object"}}]);
        let mut out = Vec::new();
        compare(&old, &new, true, &mut out);
        let seen: Vec<(&str, Impact, String)> = out.iter().map(|c| (c.kind, c.impact, c.rust.join(","))).collect();
        assert_eq!(
            seen,
            [
                (
                    "channel-entry-changed",
                    Impact::Internal,
                    "channels::Realtime::join_thread".to_owned()
                ),
                (
                    "channel-entry-changed",
                    Impact::Breaking,
                    "channels::ChatChannel::post".to_owned()
                ),
                (
                    "channel-entry-removed",
                    Impact::Breaking,
                    "channels::ChatPush::Added".to_owned()
                ),
                (
                    "channel-entry-added",
                    Impact::Additive,
                    "channels::ChatPush::Removed".to_owned()
                ),
            ]
        );
        let mut without = Vec::new();
        compare(&old, &new, false, &mut without);
        assert!(without
            .iter()
            .all(|c| c.impact == Impact::Internal && c.rust.is_empty()));
    }
}
