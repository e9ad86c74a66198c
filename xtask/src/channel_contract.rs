//! Emits the realtime contract test of an API with `x-channels`: one test per join, message and
//! push, each against the stand-in's Phoenix socket through the generated channel module. A join
//! must be accepted on the topic its params build; a message's reply must decode into its typed
//! reply; a push the stand-in sends from its schema's example must arrive as its typed variant
//! (not `Unknown` or `Malformed`). Params are the smallest values the schema accepts (required
//! properties only), so the test file names types, never data shapes.

use std::collections::BTreeSet;

use heck::ToSnakeCase;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::{Map, Value};

use crate::apis::ApiEntry;
use crate::channels::entry_key;
use crate::channels::{resolve, Channel};

/// What the emitted test covers (for the file's docs and `cargo xtask specs`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelCoverage {
    /// Joins, messages and pushes the spec describes.
    pub entries: usize,
    /// Those with a generated item and a test.
    pub covered: usize,
}

/// Deep enough for any params schema a person writes; a recursive one stops here.
const MAX_DEPTH: usize = 8;

/// The smallest value `schema` accepts: required properties only, strings named after their
/// property (`thread_id_1`, a valid topic segment), the first enum value.
pub fn minimal(doc: &Value, schema: &Value, name: &str, depth: usize) -> Value {
    let schema = resolve(doc, schema);
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    if let Some(first) = schema.get("enum").and_then(Value::as_array).and_then(|e| e.first()) {
        return first.clone();
    }
    if let Some(first) = ["allOf", "anyOf", "oneOf"]
        .iter()
        .find_map(|k| schema.get(*k).and_then(Value::as_array).and_then(|l| l.first()))
    {
        return minimal(doc, first, name, depth + 1);
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("string") => Value::String(format!("{name}_1")),
        Some("integer") => Value::from(1),
        Some("number") => Value::from(1.5),
        Some("boolean") => Value::Bool(true),
        Some("array") => Value::Array(Vec::new()),
        _ => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let required = schema.get("required").and_then(Value::as_array).into_iter().flatten();
            let object: Map<String, Value> = required
                .filter_map(Value::as_str)
                .filter_map(|p| Some((p, properties?.get(p)?)))
                .map(|(p, s)| (p.to_owned(), minimal(doc, s, p, depth + 1)))
                .collect();
            Value::Object(object)
        }
    }
}

/// `params!(r#"{..}"#)`: the JSON decoded into whatever the call it is passed to takes.
fn params_expr(value: &Value) -> TokenStream {
    let text = value.to_string();
    // A raw string whose delimiter the JSON does not contain.
    let hashes = (1..)
        .map(|n| "#".repeat(n))
        .find(|h| !text.contains(&format!("\"{h}")))
        .unwrap_or_default();
    match format!("r{hashes}\"{text}\"{hashes}").parse::<proc_macro2::Literal>() {
        Ok(literal) => quote!(params!(#literal)),
        Err(_) => quote!(params!(#text)),
    }
}

/// The test file for `api`'s channels and its coverage (`generated`: the entry keys the channel
/// module has items for).
pub fn emit(api: &ApiEntry, channels: &[Channel], doc: &Value, generated: &[String]) -> (TokenStream, ChannelCoverage) {
    let krate = format_ident!("{}_client", api.name);
    let variant = format_ident!("{}", api.variant);
    let generated: BTreeSet<&str> = generated.iter().map(String::as_str).collect();
    let mut coverage = ChannelCoverage::default();
    let mut tests = TokenStream::new();
    for channel in channels {
        coverage.entries += channel.entries();
        let snake = channel.prefix.to_snake_case();
        let handle = format_ident!("{}", channel.handle());
        let push_enum = format_ident!("{}", channel.push_enum());
        // Messages and pushes need a joined channel: the channel's first join.
        let opener = format_ident!("join_{snake}");
        if let Some(first) = channel.joins.first() {
            let method = format_ident!("{}", first.name);
            let params = params_expr(&minimal(doc, &first.params, "value", 0));
            tests.extend(quote! {
                async fn #opener(realtime: &channels::Realtime) -> channels::#handle {
                    realtime.#method(#params).await.expect("joined")
                }
            });
        }
        let mut add = |kind: &str, name: &str, test: TokenStream| {
            if generated.contains(entry_key(&channel.name, kind, name).as_str()) {
                coverage.covered += 1;
                tests.extend(test);
            }
        };
        for join in &channel.joins {
            let method = format_ident!("{}", join.name);
            let test = format_ident!("{snake}_join_{}", join.name.trim_start_matches("join_"));
            let example = minimal(doc, &join.params, "value", 0);
            let topic = join.topic_params.iter().fold(join.pattern.clone(), |t, p| {
                t.replace(
                    &format!("{{{p}}}"),
                    example.get(p).and_then(Value::as_str).unwrap_or_default(),
                )
            });
            let params = params_expr(&example);
            add(
                "join",
                &join.name,
                quote! {
                    #[tokio::test]
                    async fn #test() {
                        let (server, realtime) = start().await;
                        let channel = realtime.#method(#params).await.expect("joined");
                        assert_eq!(channel.topic(), #topic);
                        assert!(server.joined().iter().any(|t| t == #topic), "{:?}", server.joined());
                    }
                },
            );
        }
        if channel.joins.is_empty() {
            continue;
        }
        for message in &channel.messages {
            let method = format_ident!("{}", message.method);
            let test = format_ident!("{snake}_message_{}", message.method);
            let params = params_expr(&minimal(doc, &message.params, "value", 0));
            let failed = format!("{}: {{e}}", message.event);
            add(
                "message",
                &message.event,
                quote! {
                    #[tokio::test]
                    async fn #test() {
                        let (_server, realtime) = start().await;
                        let channel = #opener(&realtime).await;
                        if let Err(e) = channel.#method(#params).await {
                            panic!(#failed);
                        }
                    }
                },
            );
        }
        for push in &channel.pushes {
            let variant = format_ident!("{}", push.variant);
            let test = format_ident!("{snake}_push_{}", push.variant.to_snake_case());
            let event = &push.event;
            let failed = format!("{event}: {{other:?}}");
            add(
                "push",
                event,
                quote! {
                    #[tokio::test]
                    async fn #test() {
                        let (server, realtime) = start().await;
                        let mut channel = #opener(&realtime).await;
                        assert_eq!(server.push_example(channel.topic(), #event), 1, "one socket reached");
                        match tokio::time::timeout(WAIT, channel.next()).await {
                            Ok(Some(channels::#push_enum::#variant(_))) => {}
                            other => panic!(#failed),
                        }
                    }
                },
            );
        }
    }
    let name = api.name;
    let ChannelCoverage { entries, covered } = coverage;
    let docs = format!(
        " Realtime contract test for {name}: {covered} of {entries} channel entries against the stand-in's\n socket: each join accepted on the topic its params build, each message's reply decoded into\n its typed reply, each push delivered as its typed variant.\n Included by `tests/contract_{name}_channels.rs`, which keeps rustfmt off this generated file."
    );
    let docs = docs.lines();
    let tokens = quote! {
        #(#![doc = #docs])*
        use std::time::Duration;
        use agentapis_runtime::realtime::{Socket, SocketAuth, SocketConfig};
        use agentapis_runtime::Secret;
        use agentapis_standin as standin;
        use #krate::channels;
        const API: agentapis_runtime::Api = agentapis_runtime::Api::#variant;
        /// How long a push may take to arrive.
        const WAIT: Duration = Duration::from_secs(10);
        /// Params from JSON, typed by the call they are passed to.
        macro_rules! params {
            ($json:literal) => {
                serde_json::from_str($json).expect(concat!("the params decode: ", $json))
            };
        }
        async fn start() -> (standin::Running, channels::Realtime) {
            let server = standin::Standin::builder(API).start().await.expect("stand-in");
            let auth = SocketAuth::Static(Secret::new("test-token"));
            let socket = Socket::new(SocketConfig::new(server.base_url(), auth));
            (server, channels::Realtime::new(socket))
        }
        #tests
    };
    (tokens, coverage)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn minimal_values_hold_required_properties_only() {
        let doc = json!({"components": {"schemas": {"Kind": {"type": "string", "enum": ["a", "b"]}}}});
        let schema = json!({"type": "object", "required": ["id", "kind", "n", "tags", "inner"], "properties": {
            "id": {"type": "string"}, "kind": {"$ref": "#/components/schemas/Kind"}, "n": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}}, "skip": {"type": "string"},
            "inner": {"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}}}}});
        assert_eq!(
            minimal(&doc, &schema, "value", 0),
            json!({"id": "id_1", "kind": "a", "n": 1, "tags": [], "inner": {"ok": true}})
        );
    }
}
