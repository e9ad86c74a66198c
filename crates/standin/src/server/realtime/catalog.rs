//! The spec's `x-channels`, read once: each channel's join topics (patterns such as
//! `api:chat:team:{team_id}:thread:{thread_id}`), client messages and server pushes, with their
//! schemas. Specs without `x-channels` give an empty catalog.

use serde_json::Value;

/// One piece of a topic pattern, split at `:`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Param(String),
}

/// One way to join a channel.
#[derive(Debug, Clone)]
pub(crate) struct JoinSpec {
    pub(crate) pattern: String,
    pieces: Vec<Piece>,
    /// The join's params schema with the topic's own params no longer required: clients put
    /// those in the topic, not (necessarily) in the payload.
    pub(crate) params: Value,
    pub(crate) returns: Value,
}

/// A client event of a channel.
#[derive(Debug, Clone)]
pub(crate) struct MessageSpec {
    pub(crate) event: String,
    pub(crate) params: Value,
    pub(crate) returns: Value,
}

/// One channel of the spec.
#[derive(Debug, Clone)]
pub(crate) struct ChannelSpec {
    pub(crate) name: String,
    pub(crate) joins: Vec<JoinSpec>,
    pub(crate) messages: Vec<MessageSpec>,
    /// Server pushes: event and payload schema.
    pub(crate) pushes: Vec<(String, Value)>,
}

impl ChannelSpec {
    pub(crate) fn message(&self, event: &str) -> Option<&MessageSpec> {
        self.messages.iter().find(|m| m.event == event)
    }

    pub(crate) fn push_schema(&self, event: &str) -> Option<&Value> {
        self.pushes.iter().find(|(e, _)| e == event).map(|(_, s)| s)
    }
}

/// A topic matched against the catalog.
#[derive(Debug, Clone)]
pub(crate) struct Match<'a> {
    pub(crate) channel: usize,
    pub(crate) join: &'a JoinSpec,
    /// The pattern's params with their values in the topic.
    pub(crate) params: Vec<(String, String)>,
}

/// Every channel of a spec.
#[derive(Debug, Clone, Default)]
pub(crate) struct Catalog {
    pub(crate) channels: Vec<ChannelSpec>,
}

fn text(value: &Value, key: &str) -> String {
    value.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn schema(value: &Value, key: &str) -> Value {
    value
        .get(key)
        .cloned()
        .unwrap_or_else(|| serde_json::json!({"type": "object"}))
}

fn entries<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    value.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn pieces(pattern: &str) -> Vec<Piece> {
    pattern
        .split(':')
        .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => Piece::Param(name.to_owned()),
            None => Piece::Literal(s.to_owned()),
        })
        .collect()
}

/// `schema` with `names` removed from its `required` list (dropped once empty: draft 4, which
/// ArchAstro's schemas are checked with, rejects an empty `required`).
fn not_requiring(mut schema: Value, names: &[&str]) -> Value {
    if let Some(obj) = schema.as_object_mut() {
        if let Some(required) = obj.get_mut("required").and_then(Value::as_array_mut) {
            required.retain(|r| r.as_str().is_none_or(|r| !names.contains(&r)));
            if required.is_empty() {
                obj.remove("required");
            }
        }
    }
    schema
}

impl Catalog {
    pub(crate) fn read(doc: &Value) -> Self {
        let channels = entries(doc, "x-channels")
            .map(|channel| ChannelSpec {
                name: text(channel, "name"),
                joins: entries(channel, "joins")
                    .map(|join| {
                        let pattern = text(join, "pattern");
                        let pieces = pieces(&pattern);
                        let own: Vec<&str> = pieces
                            .iter()
                            .filter_map(|p| match p {
                                Piece::Param(name) => Some(name.as_str()),
                                Piece::Literal(_) => None,
                            })
                            .collect();
                        let params = not_requiring(schema(join, "params"), &own);
                        JoinSpec {
                            params,
                            returns: schema(join, "returns"),
                            pattern,
                            pieces,
                        }
                    })
                    .collect(),
                messages: entries(channel, "messages")
                    .map(|m| MessageSpec {
                        event: text(m, "event"),
                        params: schema(m, "params"),
                        returns: schema(m, "returns"),
                    })
                    .collect(),
                pushes: entries(channel, "pushes")
                    .map(|p| (text(p, "event"), schema(p, "payload")))
                    .collect(),
            })
            .collect();
        Self { channels }
    }

    /// The first join whose pattern `topic` fits: literals equal, each `{param}` one non-empty
    /// segment (segments never hold `:`, so a param cannot swallow part of the topic).
    pub(crate) fn match_topic(&self, topic: &str) -> Option<Match<'_>> {
        let segments: Vec<&str> = topic.split(':').collect();
        self.channels.iter().enumerate().find_map(|(channel, spec)| {
            spec.joins.iter().find_map(|join| {
                if join.pieces.len() != segments.len() {
                    return None;
                }
                let mut params = Vec::new();
                for (piece, segment) in join.pieces.iter().zip(&segments) {
                    match piece {
                        Piece::Literal(l) if l == segment => {}
                        Piece::Param(name) if !segment.is_empty() => {
                            params.push((name.clone(), (*segment).to_owned()));
                        }
                        _ => return None,
                    }
                }
                Some(Match { channel, join, params })
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn topics_match_patterns_segment_by_segment() {
        let doc = json!({"x-channels": [{"name": "C", "joins": [
            {"pattern": "api:object:{object_id}", "params": {"type": "object", "required": ["object_id", "x"]}},
            {"pattern": "api:object:{schema_type}:{row_key}", "params": {"required": ["row_key"]}}
        ]}]});
        let catalog = Catalog::read(&doc);
        let one = catalog.match_topic("api:object:obj_1");
        assert_eq!(
            one.as_ref().map(|m| m.params.clone()),
            Some(vec![("object_id".into(), "obj_1".into())])
        );
        assert_eq!(one.map(|m| m.join.params["required"].clone()), Some(json!(["x"])));
        assert_eq!(
            catalog.match_topic("api:object:t:k").map(|m| m.join.pattern.clone()),
            Some("api:object:{schema_type}:{row_key}".to_owned())
        );
        let two = catalog.match_topic("api:object:t:k");
        assert_eq!(two.map(|m| m.join.params.get("required").is_none()), Some(true));
        assert!(catalog.match_topic("api:object:").is_none());
        assert!(catalog.match_topic("api:objects:x").is_none());
        assert!(catalog.match_topic("api:object:a:b:c").is_none());
        assert!(Catalog::read(&json!({})).match_topic("api:object:x").is_none());
    }
}
