//! The one raw test server of the facade's tests (beside the stand-in): a keep-alive HTTP/1.1
//! server on a TCP socket where each request gets an [`Act`]: a scripted answer, or a transport
//! fault no real HTTP server library would produce (a reset, a cut body, a huge body, a stall).
//! Every request is recorded: its head, its arrival time and `"METHOD target"`.

// Each test binary uses a different subset.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// One request as a handler sees it.
pub struct Req {
    pub method: String,
    pub path: String,
    pub query: HashMap<String, String>,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    /// 0-based index of this request among all the server saw.
    pub n: usize,
}

impl Req {
    pub fn q(&self, key: &str) -> Option<&str> {
        self.query.get(key).map(String::as_str)
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// What the server does with one request.
#[derive(Clone)]
pub enum Act {
    /// Answer with this status, extra headers and body.
    Reply(u16, Vec<(&'static str, String)>, String),
    /// Read the request, then reset the connection without answering.
    Reset,
    /// Send headers promising more body than follows, then close.
    CutBody,
    /// Wait, then answer 200 `{"id":"agt_1"}`.
    Slow(Duration),
    /// Answer `status` with a body of `bytes` spaces, declared by `Content-Length` or sent
    /// chunked; written until done or the client hangs up.
    Big { status: u16, bytes: u64, chunked: bool },
}

/// A scripted JSON answer: status, extra headers, body.
pub type Reply = (u16, Vec<(&'static str, String)>, Value);

pub fn ok() -> Act {
    Act::Reply(200, vec![], r#"{"id":"agt_1"}"#.into())
}

pub fn status(code: u16) -> Act {
    Act::Reply(
        code,
        vec![],
        r#"{"error":{"code":"oops","message":"try later"}}"#.into(),
    )
}

type Handler = dyn Fn(&Req) -> Act + Send + Sync;

/// A running server; it stops with the test's runtime.
pub struct Server {
    pub base: String,
    hits: Arc<AtomicUsize>,
    /// The raw head of every request.
    pub heads: Arc<Mutex<Vec<String>>>,
    /// When each request arrived.
    pub arrivals: Arc<Mutex<Vec<Instant>>>,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Answers each request with what `handler` says.
    pub async fn start(handler: impl Fn(&Req) -> Act + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let server = Self {
            base: format!("http://{}", listener.local_addr().expect("addr")),
            hits: Arc::default(),
            heads: Arc::default(),
            arrivals: Arc::default(),
            seen: Arc::default(),
        };
        let handler: Arc<Handler> = Arc::new(handler);
        let shared = server.shared();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (handler, shared) = (Arc::clone(&handler), shared.clone());
                tokio::spawn(async move { serve(socket, shared, handler).await });
            }
        });
        server
    }

    /// Plays `acts` in order, one per request (the last repeats).
    pub async fn acts(acts: Vec<Act>) -> Self {
        Self::start(move |req| acts.get(req.n).or(acts.last()).cloned().unwrap_or_else(ok)).await
    }

    /// Answers each request with the JSON reply `handler` makes.
    pub async fn script(handler: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> Self {
        Self::start(move |req| {
            let (status, headers, body) = handler(req);
            Act::Reply(status, headers, body.to_string())
        })
        .await
    }

    fn shared(&self) -> Shared {
        Shared {
            hits: Arc::clone(&self.hits),
            heads: Arc::clone(&self.heads),
            arrivals: Arc::clone(&self.arrivals),
            seen: Arc::clone(&self.seen),
        }
    }

    /// Requests received so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// `"METHOD /path?query"` of every request so far.
    pub fn requests(&self) -> Vec<String> {
        self.seen.lock().expect("log").clone()
    }
}

#[derive(Clone)]
struct Shared {
    hits: Arc<AtomicUsize>,
    heads: Arc<Mutex<Vec<String>>>,
    arrivals: Arc<Mutex<Vec<Instant>>>,
    seen: Arc<Mutex<Vec<String>>>,
}

/// Reads until `buf` holds `len` bytes; false when the client went away.
async fn fill(socket: &mut TcpStream, buf: &mut Vec<u8>, len: usize) -> bool {
    while buf.len() < len {
        let mut chunk = [0u8; 4096];
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    true
}

async fn serve(mut socket: TcpStream, shared: Shared, handler: Arc<Handler>) {
    let mut buf = Vec::new();
    loop {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let wanted = buf.len() + 1;
            if !fill(&mut socket, &mut buf, wanted).await {
                return;
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        buf.drain(..head_end);
        let mut lines = head.lines();
        let mut first = lines.next().unwrap_or_default().split(' ');
        let method = first.next().unwrap_or_default().to_owned();
        let target = first.next().unwrap_or("/").to_owned();
        let headers: HashMap<String, String> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let length: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        if !fill(&mut socket, &mut buf, length).await {
            return;
        }
        let body: Vec<u8> = buf.drain(..length).collect();
        // The index and the log entries are taken under one lock, so entry `n` is request `n`
        // even when requests arrive together.
        let n = {
            let mut seen = shared.seen.lock().expect("log");
            seen.push(format!("{method} {target}"));
            shared.heads.lock().expect("heads").push(head);
            shared.arrivals.lock().expect("arrivals").push(Instant::now());
            shared.hits.fetch_add(1, Ordering::SeqCst)
        };
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let req = Req {
            method,
            path: path.to_owned(),
            query: url::form_urlencoded::parse(query.as_bytes()).into_owned().collect(),
            headers,
            body,
            n,
        };
        let (code, headers, body) = match handler(&req) {
            Act::Reset => {
                // A zero linger makes the close an RST (a real reset); it does not block on
                // drop, which is what the deprecation warns about.
                #[allow(deprecated)]
                let _ = socket.set_linger(Some(Duration::ZERO));
                return;
            }
            Act::CutBody => {
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"id\":\"agt")
                    .await;
                return;
            }
            Act::Slow(delay) => {
                tokio::time::sleep(delay).await;
                (200, vec![], r#"{"id":"agt_1"}"#.to_owned())
            }
            Act::Reply(code, headers, body) => (code, headers, body),
            Act::Big { status, bytes, chunked } => {
                write_big(&mut socket, status, bytes, chunked).await;
                return;
            }
        };
        let mut out = format!("HTTP/1.1 {code} X\r\ncontent-length: {}\r\n", body.len());
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
            out.push_str("content-type: application/json\r\n");
        }
        for (k, v) in headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        out.push_str(&body);
        if socket.write_all(out.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Writes a `bytes`-long body of spaces from one reused 64 KiB buffer (the server side must not
/// be what uses the memory a test measures).
async fn write_big(socket: &mut TcpStream, status: u16, bytes: u64, chunked: bool) {
    let framing = if chunked {
        "transfer-encoding: chunked".to_owned()
    } else {
        format!("content-length: {bytes}")
    };
    let head = format!("HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n{framing}\r\n\r\n");
    if socket.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let block = vec![b' '; 64 * 1024];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        let written = if chunked {
            let mut framed = format!("{n:x}\r\n").into_bytes();
            framed.extend_from_slice(&block[..n]);
            framed.extend_from_slice(b"\r\n");
            socket.write_all(&framed).await
        } else {
            socket.write_all(&block[..n]).await
        };
        if written.is_err() {
            return;
        }
        left -= n as u64;
    }
    if chunked {
        let _ = socket.write_all(b"0\r\n\r\n").await;
    }
}
