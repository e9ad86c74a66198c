//! Invent chats: sending text, and reading message parts with the text part typed.

use futures::Stream;
use serde_json::Value;

use super::generated::types::{ChatMessage, CreateChatMessageBody, MessagePart};
use super::Client;
use crate::{ArgumentError, Error, PageOptions, Response};

/// One part of a chat message. Only the text part is documented in full; the other kinds the
/// docs mention are kept as raw JSON so nothing is lost.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Part {
    /// A text part.
    Text(String),
    /// Any other kind of part, as sent.
    Other(Value),
}

impl Part {
    /// Reads a generated message part.
    pub fn from_generated(part: &MessagePart) -> Self {
        let value = serde_json::to_value(part).unwrap_or(Value::Null);
        match (value.get("type").and_then(Value::as_str), &part.text) {
            (Some("text"), Some(text)) => Part::Text(text.clone()),
            _ => Part::Other(value),
        }
    }
}

/// Every part of `message`, in order.
pub fn parts(message: &ChatMessage) -> Vec<Part> {
    message
        .messages
        .iter()
        .flat_map(|block| &block.parts)
        .map(Part::from_generated)
        .collect()
}

/// The text of `message`: its text parts joined by newlines.
pub fn text(message: &ChatMessage) -> String {
    parts(message)
        .into_iter()
        .filter_map(|p| match p {
            Part::Text(t) => Some(t),
            Part::Other(_) => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

impl Client {
    /// Posts a text message to chat `chat_id` (not retried after it may have reached the
    /// server: a message must not be posted twice).
    pub async fn send_text(&self, chat_id: &str, text: &str) -> Result<Response<ChatMessage>, Error> {
        if text.trim().is_empty() {
            return Err(ArgumentError::EmptyText.into());
        }
        let body: CreateChatMessageBody =
            serde_json::from_value(serde_json::json!({ "message": [{ "type": "text", "text": text }] }))
                .map_err(|e| ArgumentError::Request(format!("cannot build the message: {e}")))?;
        self.call(|api| api.create_chat_message().chat_id(chat_id).body(body).send())
            .await
    }

    /// Every message of chat `chat_id`, page after page.
    pub fn chat_messages<'a>(
        &'a self,
        chat_id: &'a str,
        options: PageOptions,
    ) -> impl Stream<Item = Result<ChatMessage, Error>> + 'a {
        self.items(move |api| api.list_chat_messages().chat_id(chat_id), options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_parts_are_typed_and_others_kept() {
        let message: ChatMessage = serde_json::from_value(serde_json::json!({
            "messages": [
                {"role": "assistant", "parts": [{"type": "text", "text": "Hello"}, {"type": "image", "url": "https://x/y.png"}]},
                {"parts": [{"type": "text", "text": "How can I help?"}]}
            ]
        }))
        .expect("a chat message");
        let parts = parts(&message);
        assert_eq!(parts[0], Part::Text("Hello".into()));
        assert!(matches!(&parts[1], Part::Other(v) if v["type"] == "image"));
        assert_eq!(text(&message), "Hello\nHow can I help?");
    }
}
