//! Pagination benchmark: prints ratios measured side by side in one run (the machine is shared
//! and noisy, so absolute numbers mean little).
//!
//! 1. Peak heap while streaming 1000 pages vs 100 pages: memory must not grow with the walk
//!    (target ratio ≤ 1.1).
//! 2. Wall time with prefetch (depth 1) vs without, when both the server and the consumer take
//!    time per page (target ≤ 0.6×).
//!
//! Run with `cargo bench -p agentapis --bench pagination`.

use std::alloc::System;
use std::time::{Duration, Instant};

use agentapis::{archastro, PageOptions};
use futures::TryStreamExt as _;
use peakmem_alloc::{PeakMemAlloc, PeakMemAllocTrait as _, INSTRUMENTED_SYSTEM};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// Counts heap use and its peak.
#[global_allocator]
static GLOBAL: &PeakMemAlloc<System> = &INSTRUMENTED_SYSTEM;

const PAGE_SIZE: u64 = 50;

/// Serves `GET /api/v1/agents?page=N&page_size=S` for `pages` pages, waiting `delay` per request.
async fn serve(pages: u64, delay: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
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
                    buf.drain(..end);
                    let page: u64 = head
                        .split(['?', '&', ' '])
                        .find_map(|kv| kv.strip_prefix("page="))
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(1);
                    tokio::time::sleep(delay).await;
                    let items: Vec<String> = (0..PAGE_SIZE)
                        .map(|i| format!(r#"{{"id":"agt_{page}_{i}","name":"agent {i} of page {page}"}}"#))
                        .collect();
                    let body = format!(
                        r#"{{"data":[{}],"page":{page},"page_size":{PAGE_SIZE},"total_pages":{pages},"has_next":{}}}"#,
                        items.join(","),
                        page < pages
                    );
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if socket.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    base
}

fn client(base: &str) -> archastro::Client {
    archastro::Client::builder()
        .secret_key("sk_bench")
        .base_url(base)
        .build()
        .expect("client")
}

/// Streams `pages` pages item by item; returns (items seen, peak heap during the walk, wall time).
async fn walk(pages: u64, delay: Duration, work: Duration, prefetch: usize) -> (u64, usize, Duration) {
    let base = serve(pages, delay).await;
    let client = client(&base);
    GLOBAL.reset_peak_memory();
    let started = Instant::now();
    let mut stream = client.items(
        |api| api.list_agents(),
        PageOptions::new().page_size(PAGE_SIZE).prefetch(prefetch),
    );
    let mut seen = 0u64;
    while let Some(agent) = stream.try_next().await.expect("walk") {
        std::hint::black_box(&agent);
        seen += 1;
        if seen.is_multiple_of(PAGE_SIZE) && !work.is_zero() {
            tokio::time::sleep(work).await;
        }
    }
    (seen, GLOBAL.get_peak_memory(), started.elapsed())
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        // Warm up connection pools, TLS-free paths and lazy statics before measuring.
        walk(5, Duration::ZERO, Duration::ZERO, 1).await;

        let (n100, peak100, _) = walk(100, Duration::ZERO, Duration::ZERO, 1).await;
        let (n1000, peak1000, _) = walk(1000, Duration::ZERO, Duration::ZERO, 1).await;
        assert_eq!((n100, n1000), (100 * PAGE_SIZE, 1000 * PAGE_SIZE));
        println!("peak heap, 100 pages:  {:>9} bytes", peak100);
        println!("peak heap, 1000 pages: {:>9} bytes", peak1000);
        println!(
            "memory ratio 1000/100 pages: {:.3} (target <= 1.1)",
            peak1000 as f64 / peak100.max(1) as f64
        );

        let per_page = Duration::from_millis(20);
        let (_, _, without) = walk(40, per_page, per_page, 0).await;
        let (_, _, with) = walk(40, per_page, per_page, 1).await;
        println!("40 pages, 20 ms server + 20 ms consumer per page: prefetch 0 {without:?}, prefetch 1 {with:?}");
        println!(
            "time ratio prefetch/no prefetch: {:.3} (target <= 0.6)",
            with.as_secs_f64() / without.as_secs_f64()
        );
    });
}
