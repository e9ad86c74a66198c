//! A raw TCP server that misbehaves on cue, for fault-injection tests.

// Each test binary uses a different subset.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

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

pub fn ok() -> Act {
    Act::Reply(200, vec![], r#"{"id":"agt_1"}"#.into())
}

#[allow(dead_code)]
pub fn status(code: u16) -> Act {
    Act::Reply(
        code,
        vec![],
        r#"{"error":{"code":"oops","message":"try later"}}"#.into(),
    )
}

/// Serves `acts` in order, one per request (the last repeats); counts requests and keeps the
/// raw request heads.
pub struct Faulty {
    pub base: String,
    hits: Arc<AtomicUsize>,
    pub heads: Arc<Mutex<Vec<String>>>,
    /// When each request arrived.
    pub arrivals: Arc<Mutex<Vec<std::time::Instant>>>,
}

impl Faulty {
    pub async fn start(acts: Vec<Act>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let hits = Arc::new(AtomicUsize::new(0));
        let heads: Arc<Mutex<Vec<String>>> = Arc::default();
        let arrivals: Arc<Mutex<Vec<std::time::Instant>>> = Arc::default();
        let (h, log, times) = (Arc::clone(&hits), Arc::clone(&heads), Arc::clone(&arrivals));
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (h, log, times, acts) = (Arc::clone(&h), Arc::clone(&log), Arc::clone(&times), acts.clone());
                tokio::spawn(async move { serve(socket, h, log, times, acts).await });
            }
        });
        Self {
            base,
            hits,
            heads,
            arrivals,
        }
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn serve(
    mut socket: TcpStream,
    hits: Arc<AtomicUsize>,
    log: Arc<Mutex<Vec<String>>>,
    times: Arc<Mutex<Vec<std::time::Instant>>>,
    acts: Vec<Act>,
) {
    let mut buf = Vec::new();
    loop {
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_string();
        let length: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().to_owned())
            })
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < end + length {
            let mut chunk = [0u8; 4096];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..end + length);
        let n = hits.fetch_add(1, Ordering::SeqCst);
        log.lock().expect("log").push(head);
        times.lock().expect("times").push(std::time::Instant::now());
        let act = acts.get(n).or(acts.last()).cloned().unwrap_or_else(ok);
        let (code, headers, body) = match act {
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
