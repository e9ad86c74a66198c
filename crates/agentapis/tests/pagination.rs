//! Pagination streams against a scripted local server: every paging style, end detection,
//! broken servers, retries per page, resume after failure, and prefetch overlap.

mod testserver;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentapis::{
    archastro, invent, ArgumentError, Direction, Error, PageOptions, PaginationFault, Position, RetryPolicy,
};
use futures::{StreamExt as _, TryStreamExt as _};
use serde_json::{json, Value};
use testserver::{Reply, Req, Server};

fn q<'a>(query: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    query.get(key).map(String::as_str)
}

fn page_of(query: &HashMap<String, String>) -> u64 {
    q(query, "page").and_then(|p| p.parse().ok()).unwrap_or(1)
}

fn agents(ids: std::ops::Range<u64>) -> Value {
    Value::Array(ids.map(|i| json!({"id": format!("agt_{i}")})).collect())
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(3)
        .base_delay(Duration::from_millis(5))
        .max_delay(Duration::from_millis(20))
}

fn archastro_client(base: &str) -> archastro::Client {
    archastro::Client::builder()
        .secret_key("sk_test")
        .base_url(base)
        .retry(fast_retries())
        .build()
        .expect("client")
}

fn invent_client(base: &str) -> invent::Client {
    invent::Client::builder()
        .api_key("inv_test")
        .base_url(base)
        .retry(fast_retries())
        .build()
        .expect("client")
}

/// ArchAstro `page` + `page_size`, `total` entries, with totals in the body.
fn page_size_server(total: u64, with_totals: bool) -> impl Fn(&Req) -> Reply {
    move |req: &Req| {
        let query = &req.query;
        let size: u64 = q(query, "page_size").and_then(|s| s.parse().ok()).unwrap_or(10);
        let page = page_of(query);
        let from = ((page - 1) * size).min(total);
        let to = (page * size).min(total);
        let pages = total.div_ceil(size);
        let mut body = json!({"data": agents(from..to)});
        if with_totals {
            body["page"] = json!(page);
            body["page_size"] = json!(size);
            body["total_pages"] = json!(pages);
            body["total_entries"] = json!(total);
            body["has_next"] = json!(page < pages);
        }
        (200, vec![], body)
    }
}

#[tokio::test]
async fn page_size_style_walks_every_page_and_keeps_filters() {
    let server = Server::script(page_size_server(5, true)).await;
    let client = archastro_client(&server.base);
    let ids: Vec<String> = client
        .items(
            |api| api.list_agents().search("support"),
            PageOptions::new().page_size(2),
        )
        .map_ok(|a| a.id)
        .try_collect()
        .await
        .expect("walk");
    assert_eq!(ids, ["agt_0", "agt_1", "agt_2", "agt_3", "agt_4"]);
    let requests = server.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    for (i, r) in requests.iter().enumerate() {
        assert!(r.contains("search=support") && r.contains("page_size=2"), "{r}");
        assert!(r.contains(&format!("page={}", i + 1)), "{r}");
    }
}

#[tokio::test]
async fn exact_multiple_without_totals_ends_on_the_empty_page() {
    let server = Server::script(page_size_server(4, false)).await;
    let client = archastro_client(&server.base);
    let pages: Vec<_> = client
        .pages(|api| api.list_agents(), PageOptions::new().page_size(2).prefetch(0))
        .try_collect()
        .await
        .expect("walk");
    assert_eq!(
        pages.iter().map(|p| p.items.len()).collect::<Vec<_>>(),
        [2, 2],
        "the empty tail page is not handed out"
    );
    assert_eq!(
        server.requests().len(),
        3,
        "two full pages, then one empty page proves the end"
    );
    assert_eq!(pages[1].next, Some(Position::Page(3)));
}

#[tokio::test]
async fn short_last_page_ends_without_an_extra_request() {
    let server = Server::script(page_size_server(5, false)).await;
    let client = archastro_client(&server.base);
    let n = client
        .items(|api| api.list_agents(), PageOptions::new().page_size(2).prefetch(0))
        .try_collect::<Vec<_>>()
        .await
        .expect("walk")
        .len();
    assert_eq!(n, 5);
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn empty_first_page_yields_one_empty_page_and_no_items() {
    let server = Server::script(page_size_server(0, true)).await;
    let client = archastro_client(&server.base);
    let pages: Vec<_> = client
        .pages(|api| api.list_agents(), PageOptions::new())
        .try_collect()
        .await
        .expect("walk");
    assert_eq!(pages.len(), 1);
    assert!(pages[0].items.is_empty() && pages[0].next.is_none());
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn per_page_style_uses_per_page_and_total_pages() {
    let server = Server::script(|req: &Req| {
        let query = &req.query;
        let per: u64 = q(query, "per_page").and_then(|s| s.parse().ok()).unwrap_or(10);
        let page = page_of(query);
        let total = 7u64;
        let (from, to) = (((page - 1) * per).min(total), (page * per).min(total));
        let data: Vec<Value> = (from..to).map(|i| json!({"id": format!("scb_{i}")})).collect();
        let body = json!({"data": data, "page": page, "per_page": per, "total_count": total, "total_pages": total.div_ceil(per)});
        (200, vec![], body)
    })
    .await;
    let client = archastro_client(&server.base);
    let pages: Vec<_> = client
        .pages(
            |api| api.list_slack_channel_bindings().team(vec!["t1".to_owned()]),
            PageOptions::new().page_size(3),
        )
        .try_collect()
        .await
        .expect("walk");
    assert_eq!(pages.iter().map(|p| p.items.len()).collect::<Vec<_>>(), [3, 3, 1]);
    assert_eq!(pages[0].total_items, Some(7));
    let requests = server.requests();
    assert_eq!(
        requests.len(),
        3,
        "total_pages says 3: no 4th request even with prefetch"
    );
    assert!(
        requests.iter().all(|r| r.contains("per_page=3") && r.contains("=t1")),
        "{requests:?}"
    );
}

/// Invent: bare arrays, totals in `pagination-*` headers.
fn invent_server(total: u64) -> impl Fn(&Req) -> Reply {
    move |req: &Req| {
        let query = &req.query;
        let take: u64 = q(query, "take").and_then(|s| s.parse().ok()).unwrap_or(20);
        let page = page_of(query);
        let (from, to) = (((page - 1) * take).min(total), (page * take).min(total));
        let body: Vec<Value> = (from..to)
            .map(|i| json!({"id": format!("as_{i}"), "name": format!("A{i}")}))
            .collect();
        let headers = vec![
            ("pagination-count", total.to_string()),
            ("pagination-page", page.to_string()),
            ("pagination-take", take.to_string()),
        ];
        (200, headers, Value::Array(body))
    }
}

#[tokio::test]
async fn invent_headers_tell_the_last_page() {
    let server = Server::script(invent_server(4)).await;
    let client = invent_client(&server.base);
    let pages: Vec<_> = client
        .pages(|api| api.list_assistants(), PageOptions::new().page_size(2).prefetch(3))
        .try_collect()
        .await
        .expect("walk");
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[1].next, None, "count 4 / take 2: page 2 is the last");
    assert_eq!(pages[0].total_items, Some(4));
    // With prefetch 3 pages 3 and 4 may have been asked for before page 1 arrived, but never
    // beyond what was scheduled; the walk itself ends at page 2.
    assert!(server
        .requests()
        .iter()
        .all(|r| r.starts_with("GET /orgs/c/assistants")));
}

#[tokio::test]
async fn take_above_the_documented_maximum_is_rejected_before_sending() {
    let server = Server::script(invent_server(4)).await;
    let client = invent_client(&server.base);
    let first = client
        .items(|api| api.list_assistants(), PageOptions::new().page_size(101))
        .next()
        .await;
    assert!(
        matches!(
            first,
            Some(Err(Error::InvalidArgument(ArgumentError::PageSize {
                size: 101,
                max: Some(100)
            })))
        ),
        "{first:?}"
    );
    assert!(server.requests().is_empty());
}

/// ArchAstro activity feed: cursors both ways over entries 0..total (newest first).
fn feed_server(total: u64, repeat_cursor: bool) -> impl Fn(&Req) -> Reply {
    move |req: &Req| {
        let query = &req.query;
        let limit: u64 = q(query, "limit").and_then(|s| s.parse().ok()).unwrap_or(2);
        let at = |c: &str| c.trim_start_matches("c").parse::<u64>().unwrap_or(0);
        let backward = q(query, "before_cursor").is_some();
        let (from, to) = if let Some(c) = q(query, "before_cursor") {
            let end = at(c);
            (end.saturating_sub(limit), end)
        } else {
            let start = q(query, "after_cursor").map_or(0, at);
            (start, (start + limit).min(total))
        };
        let data: Vec<Value> = (from..to).map(|i| json!({"id": format!("ev_{i}")})).collect();
        let after = if repeat_cursor {
            "c2".to_owned()
        } else {
            format!("c{to}")
        };
        let body = json!({
            "data": data,
            // As documented: more entries beyond this page *in the requested direction*.
            "has_more": if backward { from > 0 } else { to < total },
            "after_cursor": if to < total { Value::from(after) } else { Value::Null },
            "before_cursor": if from > 0 { Value::from(format!("c{from}")) } else { Value::Null },
        });
        (200, vec![], body)
    }
}

#[tokio::test]
async fn cursor_walks_forward_and_backward() {
    let server = Server::script(feed_server(5, false)).await;
    let client = archastro_client(&server.base);
    let forward: Vec<String> = client
        .items(
            |api| api.get_activity_feed().kind(vec!["message".to_owned()]),
            PageOptions::new().page_size(2),
        )
        .map_ok(|e| e.id)
        .try_collect()
        .await
        .expect("forward");
    assert_eq!(forward, ["ev_0", "ev_1", "ev_2", "ev_3", "ev_4"]);
    let backward: Vec<String> = client
        .items(
            |api| api.get_activity_feed(),
            PageOptions::new()
                .page_size(2)
                .direction(Direction::Backward)
                .start(Position::Before("c5".into())),
        )
        .map_ok(|e| e.id)
        .try_collect()
        .await
        .expect("backward");
    assert_eq!(backward, ["ev_3", "ev_4", "ev_1", "ev_2", "ev_0"]);
    assert!(server.requests()[1].contains("after_cursor=c2") && server.requests()[1].contains("message"));
}

#[tokio::test]
async fn a_repeated_cursor_is_an_error_not_a_loop() {
    let server = Server::script(feed_server(10, true)).await;
    let client = archastro_client(&server.base);
    let result: Result<Vec<_>, _> = client
        .items(|api| api.get_activity_feed(), PageOptions::new().page_size(2))
        .try_collect()
        .await;
    assert!(
        matches!(result, Err(Error::Pagination { fault: PaginationFault::RepeatedCursor(ref c), .. }) if c.contains("c2")),
        "{result:?}"
    );
    assert!(server.requests().len() <= 3, "{:?}", server.requests());
}

#[tokio::test]
async fn empty_cursor_pages_that_say_more_remain_are_walked_through() {
    // Pages 1 and 2 are empty (a filter matched nothing there) but more remain.
    let server = Server::script(|req: &Req| {
        let at: u64 = req
            .q("after_cursor")
            .and_then(|c| c.trim_start_matches('c').parse().ok())
            .unwrap_or(0);
        let data: Vec<Value> = if at == 3 { vec![json!({"id": "ev_3"})] } else { vec![] };
        let more = at < 3;
        let cursor = if more {
            Value::from(format!("c{}", at + 1))
        } else {
            Value::Null
        };
        (
            200,
            vec![],
            json!({"data": data, "has_more": more, "after_cursor": cursor}),
        )
    })
    .await;
    let client = archastro_client(&server.base);
    let ids: Vec<String> = client
        .items(|api| api.get_activity_feed(), PageOptions::new())
        .map_ok(|e| e.id)
        .try_collect()
        .await
        .expect("walk");
    assert_eq!(ids, ["ev_3"]);
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn endless_empty_cursor_pages_are_an_error_not_a_loop() {
    let server = Server::script(|req: &Req| {
        let next = format!("c{}", req.n + 1);
        (200, vec![], json!({"data": [], "has_more": true, "after_cursor": next}))
    })
    .await;
    let client = archastro_client(&server.base);
    let result: Result<Vec<_>, _> = client
        .items(|api| api.get_activity_feed(), PageOptions::new())
        .try_collect()
        .await;
    assert!(
        matches!(
            result,
            Err(Error::Pagination {
                fault: PaginationFault::EmptyPages(_),
                ..
            })
        ),
        "{result:?}"
    );
    assert!(server.requests().len() <= 20, "{}", server.requests().len());
}

#[tokio::test]
async fn more_remaining_without_a_cursor_is_an_error() {
    let server = Server::script(|_req: &Req| {
        (
            200,
            vec![],
            json!({"data": [{"id": "ev_0"}], "has_more": true, "after_cursor": null}),
        )
    })
    .await;
    let client = archastro_client(&server.base);
    let result: Result<Vec<_>, _> = client
        .items(|api| api.get_activity_feed(), PageOptions::new())
        .try_collect()
        .await;
    assert!(
        matches!(
            result,
            Err(Error::Pagination {
                fault: PaginationFault::NoCursor,
                ..
            })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_page_that_fails_twice_is_retried_by_the_runtime() {
    let inner = page_size_server(6, true);
    let server = Server::script(move |req: &Req| {
        let query = &req.query;
        // Requests 1 and 2 (page 2's first two attempts) fail.
        if page_of(query) == 2 && (1..=2).contains(&req.n) {
            return (
                503,
                vec![],
                json!({"error": {"code": "unavailable", "message": "busy"}}),
            );
        }
        inner(req)
    })
    .await;
    let client = archastro_client(&server.base);
    let pages: Vec<_> = client
        .pages(|api| api.list_agents(), PageOptions::new().page_size(2).prefetch(0))
        .try_collect()
        .await
        .expect("walk");
    assert_eq!(pages.len(), 3);
    assert_eq!(pages[1].attempts, 3);
    assert_eq!(server.requests().len(), 5);
}

#[tokio::test]
async fn a_page_that_fails_for_good_can_be_resumed() {
    let broken = Arc::new(Mutex::new(true));
    let flag = Arc::clone(&broken);
    let inner = page_size_server(6, true);
    let server = Server::script(move |req: &Req| {
        let query = &req.query;
        if page_of(query) == 2 && *flag.lock().expect("flag") {
            return (500, vec![], json!({"error": "internal", "message": "down"}));
        }
        inner(req)
    })
    .await;
    let client = archastro_client(&server.base);
    let mut stream = client.pages(
        |api| api.list_agents().search("x"),
        PageOptions::new().page_size(2).prefetch(0),
    );
    let first = stream.try_next().await.expect("page 1").expect("some");
    assert_eq!(first.items.len(), 2);
    let failure = stream.try_next().await;
    assert!(
        matches!(failure, Err(Error::Api(ref e)) if e.status == 500 && e.attempts == 3),
        "{failure:?}"
    );
    assert!(
        stream.try_next().await.expect("ended").is_none(),
        "the stream ends after an error"
    );
    let resume = stream.resume_position().cloned().expect("a position to resume from");
    assert_eq!(resume, Position::Page(2));
    let saved = resume.to_string();

    *broken.lock().expect("flag") = false;
    let rest: Vec<String> = client
        .items(
            |api| api.list_agents().search("x"),
            PageOptions::new().page_size(2).start(saved.parse().expect("position")),
        )
        .map_ok(|a| a.id)
        .try_collect()
        .await
        .expect("resumed walk");
    assert_eq!(rest, ["agt_2", "agt_3", "agt_4", "agt_5"]);
    assert!(server.requests().last().is_some_and(|r| r.contains("search=x")));
}

#[tokio::test]
async fn prefetch_overlaps_the_next_request_with_the_consumer() {
    for (depth, expect_ahead) in [(1usize, true), (0, false)] {
        let server = Server::script(page_size_server(6, true)).await;
        let client = archastro_client(&server.base);
        let mut items = client.items(|api| api.list_agents(), PageOptions::new().page_size(3).prefetch(depth));
        let first = items.try_next().await.expect("item").expect("some");
        assert_eq!(first.id, "agt_0");
        // The consumer "works" on page 1 without polling the stream.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let seen = server.requests().len();
        assert_eq!(
            seen == 2,
            expect_ahead,
            "prefetch {depth}: server saw {seen} request(s) while page 1 was in use"
        );
        let rest: Vec<_> = items.try_collect().await.expect("rest");
        assert_eq!(rest.len(), 5);
    }
}

#[tokio::test]
async fn max_items_and_max_pages_stop_early() {
    let server = Server::script(page_size_server(50, true)).await;
    let client = archastro_client(&server.base);
    let items: Vec<_> = client
        .items(
            |api| api.list_agents(),
            PageOptions::new().page_size(4).max_items(6).prefetch(0),
        )
        .try_collect()
        .await
        .expect("walk");
    assert_eq!(items.len(), 6);
    assert_eq!(server.requests().len(), 2);
    let pages: Vec<_> = client
        .pages(
            |api| api.list_agents(),
            PageOptions::new().page_size(4).max_pages(3).prefetch(2),
        )
        .try_collect()
        .await
        .expect("walk");
    assert_eq!(pages.len(), 3);
    assert_eq!(server.requests().len(), 5, "max_pages bounds prefetch too");
}

#[tokio::test]
async fn a_server_answering_the_wrong_page_is_an_error() {
    let server =
        Server::script(|_: &Req| (200, vec![], json!({"data": agents(0..2), "page": 1, "total_pages": 9}))).await;
    let client = archastro_client(&server.base);
    let result: Result<Vec<_>, _> = client
        .items(|api| api.list_agents(), PageOptions::new().page_size(2).prefetch(0))
        .try_collect()
        .await;
    assert!(
        matches!(
            result,
            Err(Error::Pagination {
                position: Position::Page(2),
                ..
            })
        ),
        "{result:?}"
    );
}
