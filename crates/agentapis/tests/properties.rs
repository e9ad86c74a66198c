//! Property tests through the public API: arbitrary durations and limits into the builder,
//! arbitrary response headers into calls, and arbitrary page options and server paging facts into
//! the pager. Nothing may panic; builds either succeed or say `Error::InvalidConfig`; calls and walks end.

mod testserver;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use agentapis::{
    archastro, BodyLimits, ClientLimits, Direction, Error, Pacing, PageOptions, Position, RetryBudget, RetryPolicy,
};
use futures::StreamExt as _;
use proptest::prelude::*;
use serde_json::{json, Value};
use testserver::{Req, Server};

fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::ZERO),
        Just(Duration::MAX),
        (0u64..10_000).prop_map(Duration::from_millis),
        (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
    ]
}

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        "[0-9]{12,40}",
        (0u64..4_000_000_000).prop_map(|s| httpdate::fmt_http_date(SystemTime::UNIX_EPOCH + Duration::from_secs(s))),
        "[ -~]{0,30}",
    ]
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_settings_build_or_say_why(
        deadline in proptest::option::of(duration()),
        attempt in duration(),
        connect in duration(),
        base in duration(),
        cap in duration(),
        max_wait in duration(),
        attempts in any::<u32>(),
        per_minute in proptest::option::of(any::<u32>()),
        concurrency in proptest::option::of(any::<u32>()),
        success_limit in any::<u64>(),
        budget in any::<u32>(),
    ) {
        let mut limits = ClientLimits::new();
        if let Some(n) = per_minute {
            limits = limits.per_minute(n);
        }
        if let Some(n) = concurrency {
            limits = limits.concurrency(n);
        }
        let built = archastro::Client::builder()
            .secret_key("sk_x")
            .base_url("http://127.0.0.1:9")
            .deadline(deadline)
            .attempt_timeout(attempt)
            .connect_timeout(connect)
            .retry(
                RetryPolicy::default()
                    .max_attempts(attempts)
                    .base_delay(base)
                    .max_delay(cap)
                    .max_retry_after(max_wait)
                    .budget(RetryBudget::default().capacity(budget)),
            )
            .limits(limits)
            .body_limits(BodyLimits::default().success(success_limit))
            .build();
        match built {
            Ok(_) | Err(Error::InvalidConfig(_)) => {}
            Err(other) => prop_assert!(false, "{other:?}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// One server whose next answer's headers the case sets; two calls per case (the second one
    /// reads whatever the first stored).
    #[test]
    fn any_response_headers_leave_the_caller_standing(
        status in prop_oneof![Just(200u16), Just(429), Just(503), Just(500)],
        headers in proptest::collection::vec(
            (prop_oneof![
                Just("x-ratelimit-limit"), Just("x-ratelimit-remaining"), Just("x-ratelimit-reset"),
                Just("retry-after"), Just("pagination-count"), Just("x-request-id"),
            ], header_value()),
            0..5,
        ),
    ) {
        let rt = runtime();
        rt.block_on(async {
            let slot: Arc<Mutex<Vec<(&'static str, String)>>> = Arc::new(Mutex::new(headers));
            let answer = Arc::clone(&slot);
            let server = Server::script(move |_req: &Req| {
                let headers = answer.lock().map(|h| h.clone()).unwrap_or_default();
                (status, headers, json!({"id": "agt_1"}))
            })
            .await;
            let client = archastro::Client::builder()
                .secret_key("sk_x")
                .base_url(&server.base)
                .retry(
                    RetryPolicy::default()
                        .base_delay(Duration::from_millis(1))
                        .max_delay(Duration::from_millis(2))
                        .max_retry_after(Duration::from_millis(50)),
                )
                .pacing(Pacing::FailFast)
                .deadline(Some(Duration::from_secs(2)))
                .build()
                .expect("client");
            for _ in 0..2 {
                let started = std::time::Instant::now();
                let result = client.call(|api| api.get_agent().agent("agt_1").send()).await;
                assert!(started.elapsed() < Duration::from_secs(3), "{result:?}");
                if let Err(e) = &result {
                    let _ = (e.to_string(), format!("{e:?}"), e.retry_after(), e.is_retryable());
                }
            }
        });
    }

    /// Arbitrary options against a server with arbitrary (even contradictory) paging facts: the
    /// walk ends or errs; it never panics or hangs.
    #[test]
    fn any_page_options_against_any_paging_facts_end(
        page_size in proptest::option::of(0u64..300),
        prefetch in 0usize..6,
        max_items in proptest::option::of(any::<u64>()),
        max_pages in proptest::option::of(any::<u64>()),
        start in prop_oneof![
            Just(Position::First),
            any::<u64>().prop_map(Position::Page),
            "[ -~]{0,12}".prop_map(Position::After),
            "[ -~]{0,12}".prop_map(Position::Before),
        ],
        backward in proptest::bool::ANY,
        entries in 0usize..4,
        has_more in proptest::option::of(proptest::bool::ANY),
        has_next in proptest::option::of(proptest::bool::ANY),
        cursor in proptest::option::of("c[0-9]{0,2}"),
        total in proptest::option::of(any::<i64>()),
        page in proptest::option::of(any::<i64>()),
    ) {
        let rt = runtime();
        rt.block_on(async {
            let server = Server::script(move |req: &Req| {
                let data: Vec<Value> = (0..entries).map(|i| json!({"id": format!("e{}_{i}", req.n)})).collect();
                let mut body = json!({"data": data});
                if let Some(v) = has_more { body["has_more"] = json!(v); }
                if let Some(v) = has_next { body["has_next"] = json!(v); }
                if let Some(c) = &cursor {
                    body["after_cursor"] = json!(format!("{c}{}", req.n));
                    body["before_cursor"] = json!(format!("{c}-{}", req.n));
                }
                if let Some(t) = total { body["total_pages"] = json!(t); body["total_entries"] = json!(t); }
                if let Some(p) = page { body["page"] = json!(p); }
                (200, vec![], body)
            })
            .await;
            let client = archastro::Client::builder()
                .secret_key("sk_x")
                .base_url(&server.base)
                .retry(RetryPolicy::none())
                .build()
                .expect("client");
            let mut options = PageOptions::new().prefetch(prefetch).start(start);
            if let Some(n) = page_size { options = options.page_size(n); }
            if let Some(n) = max_items { options = options.max_items(n); }
            if let Some(n) = max_pages { options = options.max_pages(n); }
            if backward { options = options.direction(Direction::Backward); }
            // Page-numbered and cursor operations both.
            let numbered = client.pages(|api| api.list_agents(), options.clone()).take(60).collect::<Vec<_>>();
            let cursored = client.pages(|api| api.get_activity_feed(), options).take(60).collect::<Vec<_>>();
            let bounded = tokio::time::timeout(Duration::from_secs(10), async { (numbered.await, cursored.await) }).await;
            assert!(bounded.is_ok(), "a walk did not end");
        });
    }
}
