//! Opening a WebSocket: the URL, the credential, TLS, and errors that never carry the token.

use std::sync::Arc;
use std::time::Duration;

use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::{header::AUTHORIZATION, HeaderValue};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::frame::MAX_FRAME_BYTES;
use super::RealtimeError;
use crate::secret::Secret;
use crate::token::TokenStore;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// An open WebSocket.
pub(crate) type Ws = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// The bearer credential a socket opens with.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum SocketAuth {
    /// A fixed token.
    Static(Secret),
    /// The client's replaceable token: read before every connect, refreshed through the store
    /// when the socket refuses it.
    Token(Arc<TokenStore>),
}

impl SocketAuth {
    /// The bearer credential of a client's [`crate::Auth`]: its token store, else its bearer
    /// secret. `None` when it has neither (an API key alone).
    pub fn from_auth(auth: &crate::Auth) -> Option<Self> {
        if let Some(store) = auth.token_store() {
            return Some(SocketAuth::Token(Arc::clone(store)));
        }
        match auth {
            crate::Auth::Bearer(secret) => Some(SocketAuth::Static(secret.clone())),
            crate::Auth::All(all) => all.iter().find_map(SocketAuth::from_auth),
            _ => None,
        }
    }

    /// The token to connect with and its generation (0 for a fixed token).
    pub(crate) fn current(&self) -> Option<(u64, Secret)> {
        match self {
            SocketAuth::Static(secret) => Some((0, secret.clone())),
            SocketAuth::Token(store) => {
                let (generation, token) = store.current();
                token.map(|t| (generation, t))
            }
        }
    }

    /// After the socket refused generation `seen`: whether a newer token is now available
    /// (waiting at most `within` for the refresh).
    pub(crate) async fn refresh(&self, seen: u64, within: Duration) -> bool {
        let deadline = std::time::Instant::now().checked_add(within);
        match self {
            SocketAuth::Static(_) => false,
            SocketAuth::Token(store) => {
                store.can_refresh()
                    && store.refresh_after(seen, deadline).await == crate::token::RefreshOutcome::Refreshed
            }
        }
    }
}

/// Why a connect failed.
pub(crate) enum ConnectFailure {
    /// The upgrade was answered 401 or 403.
    Unauthorized(u16),
    /// Anything else (network, TLS, other statuses, the timeout).
    Other(String),
}

/// `base` (`http(s)://host[/prefix]`) with `ws(s)` and `path` appended.
pub(crate) fn ws_url(base: &str, path: &str) -> Result<String, RealtimeError> {
    let base = base.trim_end_matches('/');
    let rest = base
        .strip_prefix("https://")
        .map(|r| format!("wss://{r}"))
        .or_else(|| base.strip_prefix("http://").map(|r| format!("ws://{r}")))
        .or_else(|| (base.starts_with("wss://") || base.starts_with("ws://")).then(|| base.to_owned()))
        .ok_or_else(|| RealtimeError::Connect(format!("base URL {base} is not http(s) or ws(s)")))?;
    Ok(format!("{rest}{path}"))
}

/// The TLS settings reqwest uses too: aws-lc-rs and the platform's trust store.
fn tls() -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls_platform_verifier::BuilderVerifierExt as _;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_platform_verifier()
        .map(|builder| Arc::new(builder.with_no_client_auth()))
        .map_err(|e| e.to_string())
}

/// The token as it goes in the socket URL's query.
pub(crate) fn url_encoded(token: &Secret) -> String {
    percent_encoding::utf8_percent_encode(token.expose(), percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Opens `url`, with `bearer` as an `Authorization` header when given, within `timeout`.
/// Every one of `secrets` (the token, raw and as encoded in the URL) is scrubbed from every
/// message.
pub(crate) async fn open(
    url: &str,
    bearer: Option<&Secret>,
    secrets: &[String],
    timeout: Duration,
) -> Result<Ws, ConnectFailure> {
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let scrub = |message: String| crate::secret::scrub(&message, &secrets);
    let mut request = url
        .into_client_request()
        .map_err(|e| ConnectFailure::Other(scrub(e.to_string())))?;
    if let Some(token) = bearer {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|_| ConnectFailure::Other("the token is not a valid header value".to_owned()))?;
        value.set_sensitive(true);
        request.headers_mut().insert(AUTHORIZATION, value);
    }
    let connector = if url.starts_with("wss://") {
        Some(tokio_tungstenite::Connector::Rustls(
            tls().map_err(ConnectFailure::Other)?,
        ))
    } else {
        None
    };
    // The server controls frame sizes: refuse big ones while reading, not after buffering them.
    let limits = WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES));
    let connecting = tokio_tungstenite::connect_async_tls_with_config(request, Some(limits), true, connector);
    match tokio::time::timeout(timeout, connecting).await {
        Err(_) => Err(ConnectFailure::Other(format!("no answer within {timeout:?}"))),
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(tokio_tungstenite::tungstenite::Error::Http(response))) => {
            let status = response.status().as_u16();
            if status == 401 || status == 403 {
                Err(ConnectFailure::Unauthorized(status))
            } else {
                Err(ConnectFailure::Other(format!("the upgrade was answered HTTP {status}")))
            }
        }
        Ok(Err(e)) => Err(ConnectFailure::Other(scrub(e.to_string()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_urls_follow_the_base_scheme() {
        assert_eq!(
            ws_url("https://platform.archastro.ai/", "/socket/api/websocket")
                .ok()
                .as_deref(),
            Some("wss://platform.archastro.ai/socket/api/websocket")
        );
        assert_eq!(
            ws_url("http://127.0.0.1:9", "/x").ok().as_deref(),
            Some("ws://127.0.0.1:9/x")
        );
        assert!(ws_url("ftp://x", "/x").is_err());
    }

    #[test]
    fn an_api_key_alone_has_no_socket_credential() {
        let key = crate::Auth::Header {
            name: "x-archastro-api-key",
            value: Secret::new("sk_1"),
        };
        assert!(SocketAuth::from_auth(&key).is_none());
        let both = crate::Auth::All(vec![key, crate::Auth::Bearer(Secret::new("t"))]);
        assert!(matches!(SocketAuth::from_auth(&both), Some(SocketAuth::Static(_))));
    }
}
