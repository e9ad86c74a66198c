//! A scripted keep-alive HTTP/1.1 server for tests: each request is answered by a closure that
//! sees the method, path, query, body and the request's index, and every request is recorded
//! with its arrival time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// One request as the handler sees it.
#[allow(dead_code)] // each test file uses a different subset
pub struct Req {
    pub method: String,
    pub path: String,
    pub query: HashMap<String, String>,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    /// 0-based index of this request among all the server saw.
    pub n: usize,
}

#[allow(dead_code)]
impl Req {
    pub fn q(&self, key: &str) -> Option<&str> {
        self.query.get(key).map(String::as_str)
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// What the server answers: status, extra headers, JSON body.
pub type Reply = (u16, Vec<(&'static str, String)>, Value);

type Handler = dyn Fn(&Req) -> Reply + Send + Sync;

pub struct Script {
    pub base: String,
    seen: Arc<Mutex<Vec<(String, Instant)>>>,
}

fn find(buf: &[u8], pat: &[u8]) -> Option<usize> {
    buf.windows(pat.len()).position(|w| w == pat)
}

#[allow(dead_code)]
impl Script {
    pub async fn start(handler: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let seen: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
        let handler: Arc<Handler> = Arc::new(handler);
        let log = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (handler, log) = (Arc::clone(&handler), Arc::clone(&log));
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    loop {
                        let head_end = loop {
                            if let Some(i) = find(&buf, b"\r\n\r\n") {
                                break i + 4;
                            }
                            let mut chunk = [0u8; 4096];
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
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
                        while buf.len() < length {
                            let mut chunk = [0u8; 4096];
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        let body: Vec<u8> = buf.drain(..length).collect();
                        let n = {
                            let mut log = log.lock().expect("log");
                            log.push((format!("{method} {target}"), Instant::now()));
                            log.len() - 1
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
                        let (status, extra, body) = handler(&req);
                        let body = body.to_string();
                        let mut out = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
                            body.len()
                        );
                        for (k, v) in extra {
                            out.push_str(&format!("{k}: {v}\r\n"));
                        }
                        out.push_str("\r\n");
                        out.push_str(&body);
                        if socket.write_all(out.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self { base, seen }
    }

    /// `"METHOD /path?query"` of every request so far.
    pub fn requests(&self) -> Vec<String> {
        self.seen.lock().expect("log").iter().map(|(t, _)| t.clone()).collect()
    }
}
