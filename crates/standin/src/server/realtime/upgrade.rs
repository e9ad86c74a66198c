//! The WebSocket handshake (answered by hand on hyper's upgrade, since the server is plain
//! hyper), the admission of ArchAstro's Phoenix socket, and the task that runs each socket.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt as _, StreamExt as _};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE};
use hyper::{Request, Response, StatusCode};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use super::{phoenix, Ending, Kind, MAX_MESSAGE};
use crate::server::{error, lookup, Reply, State};

/// How long a closing socket waits for the client's close frame before dropping the connection.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Whether `req` asks for a WebSocket.
pub(crate) fn is_upgrade(req: &Request<Incoming>) -> bool {
    req.headers()
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Records the attempt; a 503 while [`crate::Running::refuse_sockets`] is in effect.
pub(crate) fn refusal(state: &State) -> Option<Reply> {
    let remaining = state.realtime.attempt()?;
    let retry = remaining.as_secs() + u64::from(remaining.subsec_nanos() > 0);
    Some(error(
        state.api,
        503,
        "SERVICE_UNAVAILABLE",
        "the realtime service is restarting",
        &[("retry-after", retry.to_string())],
    ))
}

/// `GET /socket/api/websocket?vsn=2.0.0&token=…` on the ArchAstro stand-in.
pub(crate) fn phoenix_socket(state: &Arc<State>, mut req: Request<Incoming>) -> Reply {
    if let Ok(mut log) = state.log.lock() {
        log.push(format!("{} {} (upgrade)", req.method(), req.uri()));
    }
    if let Some(refused) = refusal(state) {
        return refused;
    }
    if req.method() != hyper::Method::GET {
        return error(state.api, 405, "METHOD_NOT_ALLOWED", "the socket takes GET", &[]);
    }
    let query: Vec<(String, String)> = url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    // As a Phoenix endpoint answers: 403 when the socket's `connect` refuses (no or a bad
    // token), and 403 for a serializer this endpoint does not speak.
    if lookup(&query, "vsn") != Some("2.0.0") {
        return error(
            state.api,
            403,
            "FORBIDDEN",
            "the socket speaks vsn=2.0.0 (Phoenix serializer v2) only",
            &[],
        );
    }
    let token = lookup(&query, "token").unwrap_or_default();
    if token.is_empty() {
        return error(state.api, 403, "FORBIDDEN", "the socket needs a token", &[]);
    }
    if !state.access_token_ok(token) {
        return error(
            state.api,
            403,
            "TOKEN_EXPIRED",
            "the access token is expired or unknown",
            &[],
        );
    }
    if !is_upgrade(&req) {
        return error(state.api, 400, "INVALID_INPUT", "expected a WebSocket upgrade", &[]);
    }
    accept(state, &mut req, Kind::Phoenix)
}

/// Answers 101 with the accept key and runs the socket once hyper hands the connection over.
pub(crate) fn accept(state: &Arc<State>, req: &mut Request<Incoming>, kind: Kind) -> Reply {
    let Some(key) = req.headers().get(SEC_WEBSOCKET_KEY) else {
        return error(state.api, 400, "INVALID_INPUT", "missing Sec-WebSocket-Key", &[]);
    };
    let Ok(accept_key) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) else {
        return error(state.api, 400, "INVALID_INPUT", "unusable Sec-WebSocket-Key", &[]);
    };
    let on_upgrade = hyper::upgrade::on(req);
    let state = Arc::clone(state);
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else { return };
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE));
        let ws =
            WebSocketStream::from_raw_socket(hyper_util::rt::TokioIo::new(upgraded), Role::Server, Some(config)).await;
        run(&state, ws, kind).await;
    });
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(SEC_WEBSOCKET_ACCEPT, accept_key);
    response
}

/// Serves one socket until the client leaves or the stand-in ends it: writes queued frames,
/// hands Phoenix text frames to [`phoenix::on_text`], ignores what feed clients send. Pings are
/// answered by tungstenite as part of reading.
async fn run<S>(state: &Arc<State>, mut ws: WebSocketStream<S>, kind: Kind)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let realtime = &state.realtime;
    let phoenix = kind == Kind::Phoenix;
    let mut socket = realtime.register(kind);
    let id = socket.id;
    let ending = loop {
        tokio::select! {
            // The stand-in's own ending wins over frames still queued: it models a sudden close.
            biased;
            ending = &mut socket.end => break ending.unwrap_or(Ending::Abort),
            out = socket.frames.recv() => match out {
                Some(text) => {
                    if ws.send(Message::text(text)).await.is_err() {
                        break Ending::Abort;
                    }
                }
                // The registry let go of the socket: its ending is on the way or it was dropped.
                None => break socket.end.try_recv().unwrap_or(Ending::Abort),
            },
            incoming = ws.next() => match incoming {
                Some(Ok(Message::Text(text))) if phoenix => {
                    if phoenix::on_text(state, id, text.as_str()) == phoenix::Flow::Drop {
                        break Ending::Abort;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(WsError::Capacity(e))) => {
                    tracing::debug!(socket = id, "client message too large: {e}");
                    break Ending::Close(CloseCode::Policy, "message too large");
                }
                Some(Err(_)) | None => break Ending::Abort,
            },
        }
    };
    realtime.unregister(id);
    if let Ending::Close(code, reason) = ending {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        if ws.send(Message::Close(Some(frame))).await.is_ok() {
            // Let the client answer the close, so it sees a clean close rather than a reset.
            let drain = async { while let Some(Ok(_)) = ws.next().await {} };
            let _ = tokio::time::timeout(CLOSE_GRACE, drain).await;
        }
    }
}
