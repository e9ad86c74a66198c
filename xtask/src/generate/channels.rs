//! The typed realtime channel module (`channels.rs` of a client crate) from a normalized
//! document's `x-channels` (see [`crate::channels`]), written against
//! `agentapis_runtime::realtime`: a `Realtime` with one method per topic join, a handle per
//! channel with one method per client message, and a push enum per channel. The schemas were
//! hoisted into components by `hoist-channel-schemas`, so every type named here is one progenitor
//! generated; the facts say which of them are structs and what their fields are.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

use crate::channels::{entry_key, Channel, Join, Message, Push};
use crate::facts::Facts;
use crate::syntax::{generic_arg, typify_name};

/// The idempotency key property: a message whose params have it may be sent again safely.
pub const IDEMPOTENCY_KEY: &str = "idempotency_key";

/// The Rust type of a channel schema, as the generated module names it.
#[derive(Debug, Clone)]
enum Shape {
    /// A generated type (`types::X`) and, when it is a struct, its fields.
    Named(syn::Ident, Option<Vec<crate::facts::Field>>),
    /// Any JSON object (the spec gives no properties).
    Map,
    /// Any JSON value.
    Any,
}

impl Shape {
    fn of(schema: &Value, facts: &Facts) -> Shape {
        if let Some(name) = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
        {
            let name = typify_name(&name.replace("~1", "/").replace("~0", "~"));
            let fields = facts.types.get(&name).cloned();
            return Shape::Named(format_ident!("{name}"), fields);
        }
        // `{"type": "object"}` or `{"properties": {}}`; `{}` is any value.
        let declared = match schema.get("type").and_then(Value::as_str) {
            Some(t) => t == "object",
            None => schema.get("properties").is_some(),
        };
        let object = declared
            && schema
                .get("properties")
                .and_then(Value::as_object)
                .is_none_or(|p| p.is_empty())
            && !["allOf", "anyOf", "oneOf", "additionalProperties", "$ref"]
                .iter()
                .any(|k| schema.get(*k).is_some());
        if schema.is_object() && object {
            Shape::Map
        } else {
            Shape::Any
        }
    }

    fn ty(&self) -> TokenStream {
        match self {
            Shape::Named(name, _) => quote!(crate::types::#name),
            Shape::Map => quote!(serde_json::Map<String, serde_json::Value>),
            Shape::Any => quote!(serde_json::Value),
        }
    }

    /// The struct field for property `name` (typify adds `_` to a keyword) and its type.
    fn field(&self, name: &str) -> Option<(syn::Ident, &syn::Type)> {
        let Shape::Named(_, Some(fields)) = self else {
            return None;
        };
        let snake = crate::syntax::progenitor_name(name);
        let keyword = format!("{snake}_");
        let f = fields.iter().find(|f| f.name == snake || f.name == keyword)?;
        Some((format_ident!("{}", f.name), &f.ty))
    }
}

/// What the module holds: its code and the entries it has an item for (`channel/kind/name`).
pub struct Emitted {
    /// The module's items.
    pub tokens: TokenStream,
    /// One key per join, message and push with a generated item.
    pub entries: Vec<String>,
}

fn docs(lines: &[Option<&str>]) -> TokenStream {
    let text: Vec<String> = lines
        .iter()
        .flatten()
        .flat_map(|t| t.lines().chain(std::iter::once("")))
        .map(|l| format!(" {l}"))
        .collect();
    let text = text.get(..text.len().saturating_sub(1)).unwrap_or_default();
    quote!(#(#[doc = #text])*)
}

/// The channel module for `channels` (read from the normalized document; `facts` from the
/// generated client).
pub fn emit(api: &str, channels: &[Channel], facts: &Facts) -> Result<Emitted, String> {
    let mut entries = Vec::new();
    let mut joins = TokenStream::new();
    let mut items = TokenStream::new();
    for channel in channels {
        for join in &channel.joins {
            joins.extend(join_method(channel, join, facts)?);
            entries.push(entry_key(&channel.name, "join", &join.name));
        }
        let handle = format_ident!("{}", channel.handle());
        let push_enum = format_ident!("{}", channel.push_enum());
        let methods = channel
            .messages
            .iter()
            .map(|m| message_method(m, facts))
            .collect::<Result<Vec<_>, _>>()?;
        entries.extend(
            channel
                .messages
                .iter()
                .map(|m| entry_key(&channel.name, "message", &m.event)),
        );
        entries.extend(
            channel
                .pushes
                .iter()
                .map(|p| entry_key(&channel.name, "push", &p.event)),
        );
        let about = format!(
            "A joined `{}` channel (from [`Realtime`]). Dropping it leaves the topic.",
            channel.name
        );
        let handle_docs = docs(&[channel.description.as_deref(), Some(&about)]);
        let pushes = push_enum_items(channel, &push_enum, facts);
        items.extend(quote! {
            #handle_docs
            #[derive(Debug)]
            pub struct #handle {
                channel: realtime::Channel,
            }
            impl #handle {
                /// The topic this channel joined.
                pub fn topic(&self) -> &str {
                    self.channel.topic()
                }
                /// The underlying channel, for events the spec does not describe.
                pub fn channel(&self) -> &realtime::Channel {
                    &self.channel
                }
                #(#methods)*
                /// The next server push, typed by its event (`None` once the channel is closed).
                pub async fn next(&mut self) -> Option<#push_enum> {
                    self.channel.next_push().await.map(#push_enum::from_push)
                }
                /// Pushes dropped because they were not taken with [`Self::next`] fast enough.
                pub fn missed(&self) -> u64 {
                    self.channel.missed()
                }
                /// Why the channel ended (refused at a rejoin, closed by the server), once it has.
                pub fn closed_reason(&self) -> Option<&str> {
                    self.channel.closed_reason()
                }
                /// Leaves the topic.
                pub async fn leave(self) -> Result<(), RealtimeError> {
                    self.channel.leave().await
                }
            }
            /// The server pushes as a stream (the same as calling `next` in a loop).
            impl futures::Stream for #handle {
                type Item = #push_enum;
                fn poll_next(
                    mut self: ::std::pin::Pin<&mut Self>,
                    cx: &mut ::std::task::Context<'_>,
                ) -> ::std::task::Poll<Option<#push_enum>> {
                    ::std::pin::Pin::new(&mut self.channel)
                        .poll_next(cx)
                        .map(|push| push.map(#push_enum::from_push))
                }
            }
            #pushes
        });
    }
    let module_docs = format!(
        " Typed realtime channels of {api}: [`Realtime`] joins a topic and returns the channel's\n handle, whose methods send the client messages and decode their replies, and whose `next`\n yields the server pushes as an enum. Generated from the spec's `x-channels`."
    );
    let module_docs = module_docs.lines();
    let tokens = quote! {
        #(#![doc = #module_docs])*
        use agentapis_runtime::realtime::{self, RealtimeError, Resend, Socket};

        /// Joins the realtime channels over one socket (see `agentapis_runtime::realtime`).
        #[derive(Clone, Debug)]
        pub struct Realtime {
            socket: Socket,
        }
        impl Realtime {
            /// Joins through `socket`.
            pub fn new(socket: Socket) -> Self {
                Self { socket }
            }
            /// The socket the channels are joined through.
            pub fn socket(&self) -> &Socket {
                &self.socket
            }
            #joins
        }
        /// `params` as a join payload: a JSON object without the keys the topic already carries.
        #[allow(dead_code)]
        fn join_payload<T: serde::Serialize>(params: &T, topic_keys: &[&str]) -> Result<serde_json::Value, RealtimeError> {
            let mut payload = realtime::encode("phx_join", params)?;
            if let serde_json::Value::Object(map) = &mut payload {
                for key in topic_keys {
                    map.remove(*key);
                }
            }
            Ok(payload)
        }
        #items
    };
    Ok(Emitted { tokens, entries })
}

fn join_method(channel: &Channel, join: &Join, facts: &Facts) -> Result<TokenStream, String> {
    let method = format_ident!("{}", join.name);
    let handle = format_ident!("{}", channel.handle());
    let params = Shape::of(&join.params, facts);
    let params_ty = params.ty();
    let pattern = &join.pattern;
    let pairs = join
        .topic_params
        .iter()
        .map(|p| {
            let (field, _) = params
                .field(p)
                .ok_or_else(|| format!("join `{}`: its params type has no field `{p}` for the topic", join.name))?;
            Ok(quote!((#p, params.#field.as_str())))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let keys = &join.topic_params;
    let payload = match params {
        Shape::Map => quote!(serde_json::Value::Object(params)),
        _ => quote!(join_payload(&params, &[#(#keys),*])?),
    };
    let named: Vec<String> = join.topic_params.iter().map(|p| format!("`{p}`")).collect();
    let how = match named.as_slice() {
        [] => format!("Returns the joined [`{handle}`]; the params are the join payload."),
        _ => format!(
            "Returns the joined [`{handle}`]. The topic `{pattern}` is built from {}; the other params are the join payload.",
            named.join(" and ")
        ),
    };
    let method_docs = docs(&[join.description.as_deref(), Some(&how)]);
    Ok(quote! {
        #method_docs
        pub async fn #method(&self, params: #params_ty) -> Result<#handle, RealtimeError> {
            let topic = realtime::topic(#pattern, &[#(#pairs),*])?;
            let payload = #payload;
            let channel = self.socket.join(topic, payload).await?;
            Ok(#handle { channel })
        }
    })
}

fn message_method(message: &Message, facts: &Facts) -> Result<TokenStream, String> {
    let method = format_ident!("{}", message.method);
    let event = &message.event;
    let params = Shape::of(&message.params, facts);
    let reply = Shape::of(&message.returns, facts).ty();
    let params_ty = params.ty();
    let key = params.field(IDEMPOTENCY_KEY);
    let key_field = key.as_ref().map(|(f, _)| f.clone());
    let key = key.map(|(_, ty)| ty);
    // An optional string key is filled in when the caller leaves it out; a required one is the
    // caller's. Either way the message is safe to send again. Any other type is left alone.
    let fill = key.is_some_and(|ty| {
        generic_arg(ty, "Option")
            .is_some_and(|inner| quote!(#inner).to_string().replace(' ', "") == "::std::string::String")
    });
    let required = key.is_some_and(|ty| generic_arg(ty, "Option").is_none());
    let safe = fill || required;
    let (resend, how) = if safe {
        (
            quote!(Resend::Safe),
            format!("Sends `{event}` and decodes its reply. It carries an `{IDEMPOTENCY_KEY}`{}, so it is sent again if the connection drops before the reply ([`Resend::Safe`]): the server applies it once.", if fill { " (a fresh one when left out)" } else { "" }),
        )
    } else {
        (
            quote!(Resend::Never),
            format!("Sends `{event}` and decodes its reply. It is never sent twice: when the connection drops before the reply, the result is [`RealtimeError::Disconnected`] and it may or may not have been applied."),
        )
    };
    let method_docs = docs(&[message.description.as_deref(), Some(&how)]);
    let mutable = fill.then(|| quote!(mut));
    let fill = fill.then(|| {
        let field = key_field;
        quote! {
            if params.#field.is_none() {
                params.#field = Some(realtime::idempotency_key());
            }
        }
    });
    let payload = match params {
        Shape::Map => quote!(serde_json::Value::Object(params)),
        _ => quote!(realtime::encode(#event, &params)?),
    };
    Ok(quote! {
        #method_docs
        pub async fn #method(&self, #mutable params: #params_ty) -> Result<#reply, RealtimeError> {
            #fill
            let payload = #payload;
            let reply = self.channel.push(#event, payload, #resend).await?;
            realtime::decode(#event, reply)
        }
    })
}

fn push_enum_items(channel: &Channel, name: &syn::Ident, facts: &Facts) -> TokenStream {
    let handle = channel.handle();
    let variant = |p: &Push| format_ident!("{}", p.variant);
    let variants = channel.pushes.iter().map(|p| {
        let v = variant(p);
        let ty = Shape::of(&p.payload, facts).ty();
        let event = format!("Event `{}`.", p.event);
        let d = docs(&[Some(p.description.as_deref().unwrap_or(&event))]);
        quote!(#d #v(#ty),)
    });
    let arms = channel.pushes.iter().map(|p| {
        let (v, event) = (variant(p), &p.event);
        quote!(#event => Self::typed(push, Self::#v),)
    });
    let events = channel.pushes.iter().map(|p| {
        let (v, event) = (variant(p), &p.event);
        quote!(Self::#v(_) => #event,)
    });
    let about = format!("A server push on a [`{handle}`], by event (see [`Self::event`]). New events may be added (so the enum is non-exhaustive); one the spec does not describe arrives as `Unknown`, and a described one whose payload does not decode as `Malformed`, with its payload: no push is lost.");
    let enum_docs = docs(&[Some(&about)]);
    quote! {
        #enum_docs
        #[derive(Debug)]
        #[non_exhaustive]
        pub enum #name {
            #(#variants)*
            /// An event the spec does not describe for this channel.
            Unknown {
                /// The event name.
                event: String,
                /// Its payload.
                payload: serde_json::Value,
            },
            /// A described event whose payload did not decode into its type.
            Malformed {
                /// The event name.
                event: String,
                /// Its payload, as received.
                payload: serde_json::Value,
                /// Why it did not decode.
                error: RealtimeError,
            },
        }
        impl #name {
            fn from_push(push: realtime::Push) -> Self {
                match push.event.as_str() {
                    #(#arms)*
                    _ => Self::Unknown { event: push.event, payload: push.payload },
                }
            }
            #[allow(dead_code)]
            fn typed<T: serde::de::DeserializeOwned>(push: realtime::Push, variant: fn(T) -> Self) -> Self {
                match realtime::decode(&push.event, push.payload.clone()) {
                    Ok(value) => variant(value),
                    Err(error) => Self::Malformed { event: push.event, payload: push.payload, error },
                }
            }
            /// The push's event name.
            pub fn event(&self) -> &str {
                match self {
                    #(#events)*
                    Self::Unknown { event, .. } | Self::Malformed { event, .. } => event,
                }
            }
        }
    }
}
