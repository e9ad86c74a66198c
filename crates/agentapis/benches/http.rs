//! The facade against raw reqwest, side by side in one process (`cargo bench -p agentapis --bench
//! http [-- --quick]`; `cargo xtask bench` runs it with the other benchmarks): a minimal hyper
//! server answers Agentiv's `list_agents` (GET) and `run` (a 10 KB POST) with fixed bodies; the
//! variants run in interleaved rounds and every figure is the median of per-round ratios, with
//! the spread (the machine is shared and noisy, so only ratios measured together mean anything).
//! A second server enforces a rate limit, for goodput: the facade beside a naive client that
//! sleeps `Retry-After` and tries again.
//!
//! Raw reqwest here is what a user would write by hand: one shared `reqwest::Client`, the key in
//! a header, the body read and decoded into the same generated types. Nothing is asserted.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use agentapis::agentiv::{self, generated::types};
use agentapis::archastro;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Request, Response, StatusCode};

/// Counts every allocation of the process (the server thread's too, which both variants share:
/// the figures are differences).
#[global_allocator]
static GLOBAL: &stats_alloc::StatsAlloc<std::alloc::System> = &stats_alloc::INSTRUMENTED_SYSTEM;

const KEY: &str = "ak_live_bench_key";
const SLUG: &str = "email-triage";
const ARCHASTRO_KEY: &str = "pk_bench";
const ARCHASTRO_TOKEN: &str = "bench-user-token";
const ARCHASTRO_KEY_HEADER: &str = agentapis::archastro::KEY_HEADER;
const AGENT_ID: &str = "agt_bench";

/// What the minimal server answers.
#[derive(Clone)]
struct Bodies {
    list: Bytes,
    run: Bytes,
    /// ArchAstro's `get_agent` answer.
    agent: Bytes,
}

/// A fixed window: `limit` requests per `window`, stated in `X-RateLimit-*` headers.
struct Window {
    limit: u64,
    window: Duration,
    state: Mutex<(Instant, u64)>,
    refused: AtomicU64,
}

async fn answer(
    bodies: Bodies,
    limit: Option<Arc<Window>>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let is_run = req.method() == hyper::Method::POST;
    let is_agent = req.uri().path().starts_with("/api/v1/agents/");
    // Read the body whole, as a real server would.
    let _ = req.into_body().collect().await;
    let mut headers = Vec::new();
    if let Some(w) = limit {
        let (left, reset) = {
            let mut state = w.state.lock().unwrap_or_else(|e| e.into_inner());
            if state.0.elapsed() >= w.window {
                *state = (Instant::now(), 0);
            }
            let left_time = w.window.saturating_sub(state.0.elapsed());
            let reset = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default() + left_time;
            if state.1 >= w.limit {
                (None, reset)
            } else {
                state.1 += 1;
                (Some(w.limit - state.1), reset)
            }
        };
        // The reset in Unix milliseconds (which the runtime reads by magnitude): whole seconds
        // would make a one-second window look up to twice as long to any client.
        let reset_secs = reset.as_secs() + u64::from(reset.subsec_nanos() > 0);
        headers.push(("x-ratelimit-limit", w.limit.to_string()));
        headers.push(("x-ratelimit-reset", reset.as_millis().to_string()));
        match left {
            Some(left) => headers.push(("x-ratelimit-remaining", left.to_string())),
            None => {
                w.refused.fetch_add(1, Ordering::Relaxed);
                let mut r = Response::new(Full::new(Bytes::from_static(
                    br#"{"success":false,"error":{"code":"RATE_LIMITED","message":"slow down"}}"#,
                )));
                *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                let wait = reset_secs.saturating_sub(
                    SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .unwrap_or_default()
                        .as_secs(),
                );
                headers.push(("x-ratelimit-remaining", "0".into()));
                headers.push(("retry-after", wait.max(1).to_string()));
                for (k, v) in headers {
                    if let Ok(v) = v.parse() {
                        r.headers_mut().insert(k, v);
                    }
                }
                return Ok(r);
            }
        }
    }
    let mut r = Response::new(Full::new(if is_run {
        bodies.run
    } else if is_agent {
        bodies.agent
    } else {
        bodies.list
    }));
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    for (k, v) in headers {
        if let Ok(v) = v.parse() {
            r.headers_mut().insert(k, v);
        }
    }
    Ok(r)
}

/// Serves on its own thread and runtime, so the client side's runtime is measured alone.
fn serve(bodies: Bodies, limit: Option<Arc<Window>>) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("server runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            while let Ok((stream, _)) = listener.accept().await {
                let (bodies, limit) = (bodies.clone(), limit.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| answer(bodies.clone(), limit.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    addr
}

/// The bodies the stand-in gives for the two operations, so both clients decode real answers.
async fn bodies() -> Bodies {
    let standin = agentapis_standin::Standin::builder(agentapis::Api::Agentiv)
        .start()
        .await
        .expect("stand-in");
    let http = reqwest::Client::new();
    let list = http
        .get(format!("{}/api/agents", standin.base_url()))
        .bearer_auth(KEY)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .expect("list");
    let list = list.bytes().await.expect("list body");
    let run = http
        .post(format!("{}/api/agents/{SLUG}/run", standin.base_url()))
        .bearer_auth(KEY)
        .json(&serde_json::json!({"input_payload": {"subject": "hi", "body": "hello"}}))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .expect("run");
    let run = run.bytes().await.expect("run body");
    let archastro = agentapis_standin::Standin::builder(agentapis::Api::ArchAstro)
        .start()
        .await
        .expect("stand-in");
    let agents: serde_json::Value = http
        .get(format!("{}/api/v1/agents", archastro.base_url()))
        .header(ARCHASTRO_KEY_HEADER, ARCHASTRO_KEY)
        .bearer_auth(ARCHASTRO_TOKEN)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .expect("agents")
        .json()
        .await
        .expect("agents body");
    let id = agents["data"][0]["id"].as_str().expect("an agent").to_owned();
    let agent = http
        .get(format!("{}/api/v1/agents/{id}", archastro.base_url()))
        .header(ARCHASTRO_KEY_HEADER, ARCHASTRO_KEY)
        .bearer_auth(ARCHASTRO_TOKEN)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .expect("agent")
        .bytes()
        .await
        .expect("agent body");
    Bodies { list, run, agent }
}

/// A run request with a 10 KB input.
fn run_request() -> types::RunRequest {
    let mut input = serde_json::Map::new();
    input.insert("subject".into(), "quarterly numbers".into());
    input.insert("body".into(), "x".repeat(10 * 1024).into());
    types::RunRequest {
        async_: false,
        input_payload: input,
        webhook_url: None,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Variant {
    Raw,
    Facade,
}

#[derive(Clone, Copy)]
enum Op {
    Get,
    Post,
    /// ArchAstro's `get_agent` (the call the issue compares with the vendor's SDK).
    GetAgent,
}

#[derive(Clone)]
struct Clients {
    base: String,
    raw: reqwest::Client,
    facade: agentiv::Client,
    archastro: archastro::Client,
    run: Arc<types::RunRequest>,
}

impl Clients {
    async fn once(&self, variant: Variant, op: Op) {
        match (variant, op) {
            (Variant::Raw, Op::Get) => {
                let r = self
                    .raw
                    .get(format!("{}/api/agents", self.base))
                    .bearer_auth(KEY)
                    .send()
                    .await
                    .expect("raw get");
                let bytes = r.bytes().await.expect("body");
                let decoded: types::AgentListEnvelope = serde_json::from_slice(&bytes).expect("decode");
                std::hint::black_box(decoded);
            }
            (Variant::Raw, Op::Post) => {
                // Both variants build the body they send (the generated builder takes it by
                // value), so the clone is not counted against the facade.
                let body = (*self.run).clone();
                let r = self
                    .raw
                    .post(format!("{}/api/agents/{SLUG}/run", self.base))
                    .bearer_auth(KEY)
                    .json(&body)
                    .send()
                    .await
                    .expect("raw post");
                let bytes = r.bytes().await.expect("body");
                let decoded: types::RunResultEnvelope = serde_json::from_slice(&bytes).expect("decode");
                std::hint::black_box(decoded);
            }
            (Variant::Raw, Op::GetAgent) => {
                let r = self
                    .raw
                    .get(format!("{}/api/v1/agents/{AGENT_ID}", self.base))
                    .header(ARCHASTRO_KEY_HEADER, ARCHASTRO_KEY)
                    .bearer_auth(ARCHASTRO_TOKEN)
                    .send()
                    .await
                    .expect("raw get agent");
                let bytes = r.bytes().await.expect("body");
                let decoded: archastro::generated::types::Agent = serde_json::from_slice(&bytes).expect("decode");
                std::hint::black_box(decoded);
            }
            (Variant::Facade, Op::GetAgent) => {
                let r = self
                    .archastro
                    .call(|api| api.get_agent().agent(AGENT_ID).send())
                    .await
                    .expect("facade get agent");
                std::hint::black_box(r);
            }
            (Variant::Facade, Op::Get) => {
                let r = self
                    .facade
                    .call(|api| api.list_agents().send())
                    .await
                    .expect("facade get");
                std::hint::black_box(r);
            }
            (Variant::Facade, Op::Post) => {
                let body = (*self.run).clone();
                let r = self
                    .facade
                    .call(|api| api.run_agent().agent_slug(SLUG).body(body).send())
                    .await
                    .expect("facade post");
                std::hint::black_box(r);
            }
        }
    }

    /// Mean latency of `n` calls one after another.
    async fn latency(&self, variant: Variant, op: Op, n: u32) -> Duration {
        let started = Instant::now();
        for _ in 0..n {
            self.once(variant, op).await;
        }
        started.elapsed() / n
    }

    /// Calls per second with `concurrency` callers making `each` calls.
    async fn throughput(&self, variant: Variant, op: Op, concurrency: u32, each: u32) -> f64 {
        let started = Instant::now();
        let tasks: Vec<_> = (0..concurrency)
            .map(|_| {
                let me = self.clone();
                tokio::spawn(async move {
                    for _ in 0..each {
                        me.once(variant, op).await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
        f64::from(concurrency * each) / started.elapsed().as_secs_f64()
    }

    /// Allocations per call, over `n` calls.
    async fn allocations(&self, variant: Variant, op: Op, n: u32) -> f64 {
        self.once(variant, op).await; // warm
        let region = stats_alloc::Region::new(GLOBAL);
        for _ in 0..n {
            self.once(variant, op).await;
        }
        let change = region.change();
        (change.allocations + change.reallocations) as f64 / f64::from(n)
    }
}

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let mid = v.get(v.len() / 2).copied().unwrap_or(f64::NAN);
    (
        mid,
        v.first().copied().unwrap_or(f64::NAN),
        v.last().copied().unwrap_or(f64::NAN),
    )
}

struct Row {
    figure: String,
    target: String,
    measured: String,
    met: Option<bool>,
}

fn ratio_row(figure: &str, target: &str, ratios: Vec<f64>, good: impl Fn(f64) -> bool) -> Row {
    let (mid, lo, hi) = median(ratios);
    Row {
        figure: figure.into(),
        target: target.into(),
        measured: format!("{mid:.3}× ({lo:.3}–{hi:.3})"),
        met: Some(good(mid)),
    }
}

/// Goodput under a rate-limited server: `total` calls from `concurrency` callers.
async fn goodput(variant: Variant, bodies: &Bodies, limit: u64, total: u32, concurrency: u32) -> (f64, u64, u32) {
    let window = Arc::new(Window {
        limit,
        window: Duration::from_secs(1),
        state: Mutex::new((Instant::now(), 0)),
        refused: AtomicU64::new(0),
    });
    let addr = serve(bodies.clone(), Some(Arc::clone(&window)));
    let base = format!("http://{addr}");
    let facade = agentiv::Client::builder()
        .api_key(KEY)
        .base_url(&base)
        .deadline(Some(Duration::from_secs(120)))
        .max_attempts(10)
        .build()
        .expect("client");
    let raw = reqwest::Client::new();
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let each = total / concurrency;
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (facade, raw, base, failed) = (facade.clone(), raw.clone(), base.clone(), Arc::clone(&failed));
            tokio::spawn(async move {
                for _ in 0..each {
                    let ok = match variant {
                        Variant::Facade => facade.call(|api| api.list_agents().send()).await.is_ok(),
                        Variant::Raw => loop {
                            // The naive client: on 429, sleep Retry-After and try again.
                            let r = raw.get(format!("{base}/api/agents")).bearer_auth(KEY).send().await;
                            match r {
                                Ok(r) if r.status() == StatusCode::TOO_MANY_REQUESTS => {
                                    let wait = r
                                        .headers()
                                        .get("retry-after")
                                        .and_then(|v| v.to_str().ok())
                                        .and_then(|v| v.parse::<u64>().ok())
                                        .unwrap_or(1);
                                    tokio::time::sleep(Duration::from_secs(wait)).await;
                                }
                                Ok(r) => break r.bytes().await.is_ok(),
                                Err(_) => break false,
                            }
                        },
                    };
                    if !ok {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    let secs = started.elapsed().as_secs_f64();
    let done = f64::from(each * concurrency) - failed.load(Ordering::Relaxed) as f64;
    let share = done / secs / limit as f64;
    (
        share,
        window.refused.load(Ordering::Relaxed),
        u32::try_from(failed.load(Ordering::Relaxed)).unwrap_or(u32::MAX),
    )
}

/// `--profile facade-get` (or `raw-post`, `facade-agent`, ...): run that variant alone, for a
/// profiler (`perf record`, `heaptrack`); prints the calls made and allocations per call.
fn profile_target() -> Option<(Variant, Op)> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == "--profile")?;
    let (variant, op) = args.get(at + 1)?.split_once('-')?;
    let variant = match variant {
        "raw" => Variant::Raw,
        "facade" => Variant::Facade,
        _ => return None,
    };
    let op = match op {
        "get" => Op::Get,
        "post" => Op::Post,
        "agent" => Op::GetAgent,
        _ => return None,
    };
    Some((variant, op))
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let rows = rt.block_on(async move {
        let bodies = bodies().await;
        let addr = serve(bodies.clone(), None);
        let base = format!("http://{addr}");
        let clients = Clients {
            raw: reqwest::Client::new(),
            facade: agentiv::Client::builder()
                .api_key(KEY)
                .base_url(&base)
                .build()
                .expect("client"),
            archastro: archastro::Client::builder()
                .publishable_key(ARCHASTRO_KEY)
                .token(ARCHASTRO_TOKEN)
                .base_url(&base)
                .build()
                .expect("client"),
            base,
            run: Arc::new(run_request()),
        };
        if let Some((variant, op)) = profile_target() {
            // One variant alone at c=64 for a few seconds.
            let until = Instant::now() + Duration::from_secs(8);
            let mut calls = 0u64;
            while Instant::now() < until {
                clients.throughput(variant, op, 64, 20).await;
                calls += 64 * 20;
            }
            let region = stats_alloc::Region::new(GLOBAL);
            for _ in 0..100 {
                clients.once(variant, op).await;
            }
            let change = region.change();
            eprintln!(
                "{calls} calls; per call: {} allocations, {} reallocations",
                change.allocations / 100,
                change.reallocations / 100
            );
            return Vec::new();
        }
        let (rounds, n, each) = if quick { (3, 100, 5) } else { (11, 500, 20) };
        let mut ratios: [Vec<f64>; 6] = Default::default();
        let mut agent_tput = Vec::new();
        for round in 0..rounds {
            // Alternate which variant goes first, so drift in the machine's load cancels out.
            let order = if round % 2 == 0 {
                [Variant::Raw, Variant::Facade]
            } else {
                [Variant::Facade, Variant::Raw]
            };
            for (slot, op) in [(0, Op::Get), (1, Op::Post)] {
                let mut lat = [Duration::ZERO; 2];
                let mut tput = [0.0; 2];
                let mut allocs = [0.0; 2];
                for v in order {
                    let i = usize::from(v == Variant::Facade);
                    lat[i] = clients.latency(v, op, n).await;
                    tput[i] = clients.throughput(v, op, 64, each).await;
                    allocs[i] = clients.allocations(v, op, 50).await;
                }
                ratios[slot].push(lat[1].as_secs_f64() / lat[0].as_secs_f64());
                ratios[slot + 2].push(tput[1] / tput[0]);
                ratios[slot + 4].push(allocs[1] - allocs[0]);
            }
            let mut tput = [0.0; 2];
            for v in order {
                tput[usize::from(v == Variant::Facade)] = clients.throughput(v, Op::GetAgent, 64, each).await;
            }
            agent_tput.push(tput[1] / tput[0]);
        }
        let [get_lat, post_lat, get_tput, post_tput, get_alloc, post_alloc] = ratios;
        let mut rows = vec![
            ratio_row(
                "GET `list_agents`, c=1 latency, facade / raw",
                "≤ 1.03×",
                get_lat,
                |r| r <= 1.03,
            ),
            ratio_row("GET, c=64 throughput, facade / raw", "≥ 0.97×", get_tput, |r| {
                r >= 0.97
            }),
            ratio_row(
                "POST 10 KB (`run`), c=1 latency, facade / raw",
                "≤ 1.03×",
                post_lat,
                |r| r <= 1.03,
            ),
            ratio_row("POST, c=64 throughput, facade / raw", "≥ 0.97×", post_tput, |r| {
                r >= 0.97
            }),
            // The vendor's own Rust SDK is not a crate this machine can fetch; the issue measured
            // it at 0.98× of raw reqwest on this call, which is the bar.
            ratio_row(
                "ArchAstro `get_agent`, c=64 throughput, facade / raw (vendor SDK: 0.98×, from the issue)",
                "≥ 0.98× (the vendor SDK's ratio)",
                agent_tput,
                |r| r >= 0.98,
            ),
        ];
        for (figure, extra) in [
            ("GET allocations per call, facade − raw", get_alloc),
            ("POST allocations per call, facade − raw", post_alloc),
        ] {
            let (mid, lo, hi) = median(extra);
            rows.push(Row {
                figure: figure.into(),
                target: "≤ +10".into(),
                measured: format!("{mid:+.0} ({lo:+.0} to {hi:+.0})"),
                met: Some(mid <= 10.0),
            });
        }
        let (limit, total) = if quick { (100, 300) } else { (50, 1000) };
        for variant in [Variant::Facade, Variant::Raw] {
            let (share, refused, failed) = goodput(variant, &bodies, limit, total, 16).await;
            let who = if variant == Variant::Facade {
                "facade"
            } else {
                "naive retry-on-429 client"
            };
            rows.push(Row {
                figure: format!("rate limit {limit}/s, 16 concurrent, {total} requests: {who}"),
                target: if variant == Variant::Facade {
                    "≥ 95% of the rate, 0 429s after the first response, no call fails".into()
                } else {
                    "(reference)".into()
                },
                measured: format!("{:.0}% of the rate, {refused} 429s, {failed} failed", share * 100.0),
                met: (variant == Variant::Facade).then_some(share >= 0.95 && refused == 0 && failed == 0),
            });
        }
        rows
    });
    println!(
        "| figure | target | measured (median of {} rounds, min–max) | verdict |",
        if quick { 3 } else { 11 }
    );
    println!("|---|---|---|---|");
    for row in rows {
        let verdict = match row.met {
            Some(true) => "met",
            Some(false) => "not met",
            None => "",
        };
        println!("| {} | {} | {} | {verdict} |", row.figure, row.target, row.measured);
    }
}
