//! Property tests for everything the network or a caller feeds the runtime: header values,
//! persisted positions, durations and path parameters. "No panic" is the least of it: each
//! property also states what the result must satisfy.

use std::time::{Duration, SystemTime};

use agentapis_runtime::paging::Position;
use agentapis_runtime::rate_limit::{parse_reset, parse_retry_after};
use agentapis_runtime::{Auth, OperationMeta, RateLimit, RetryPolicy, Runtime};
use proptest::prelude::*;
use reqwest::header::{HeaderMap, HeaderValue};

const DAY: Duration = Duration::from_secs(24 * 3600);

/// Header values as servers send them, hostile ones included: numbers of every size and sign,
/// fractions, dates, and arbitrary printable text.
fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u128>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        (0u64..4_000_000_000).prop_map(|s| httpdate::fmt_http_date(SystemTime::UNIX_EPOCH + Duration::from_secs(s))),
        "[ -~]{0,40}",
        "[0-9]{15,40}",
    ]
}

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn rate_limit_headers_never_panic_and_stay_in_range(
        limit in header_value(),
        remaining in header_value(),
        reset in header_value(),
        retry_after in header_value(),
        count in header_value(),
    ) {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("x-ratelimit-limit", &limit),
            ("x-ratelimit-remaining", &remaining),
            ("x-ratelimit-reset", &reset),
            ("retry-after", &retry_after),
            ("pagination-count", &count),
            ("pagination-page", &count),
        ] {
            if let Ok(v) = HeaderValue::from_str(value) {
                headers.insert(name, v);
            }
        }
        let parsed = RateLimit::from_headers(&headers, now());
        if let Some(at) = parsed.reset_at {
            prop_assert!(at >= now() && at <= now() + DAY, "{reset:?} → {at:?}");
        }
        if let Some(wait) = parsed.retry_after {
            prop_assert!(wait <= DAY);
        }
        if let Some(wait) = parsed.wait(now()) {
            prop_assert!(wait <= DAY);
        }
        let mut merged = RateLimit::default();
        merged.merge(&parsed);
    }

    #[test]
    fn reset_units_are_decided_by_magnitude(n in any::<u64>()) {
        let at = parse_reset(&n.to_string(), now());
        match n {
            0..=999_999_999 => prop_assert_eq!(at, Some((now() + Duration::from_secs(n)).min(now() + DAY))),
            1_000_000_000..=99_999_999_999 => {
                let expected = (SystemTime::UNIX_EPOCH + Duration::from_secs(n)).clamp(now(), now() + DAY);
                prop_assert_eq!(at, Some(expected));
            }
            100_000_000_000..=99_999_999_999_999 => {
                let expected = (SystemTime::UNIX_EPOCH + Duration::from_millis(n)).clamp(now(), now() + DAY);
                prop_assert_eq!(at, Some(expected));
            }
            _ => prop_assert_eq!(at, None),
        }
    }

    #[test]
    fn digit_strings_of_any_length_are_a_wait(digits in "[0-9]{1,60}") {
        let wait = parse_retry_after(&digits, now()).expect("digits are seconds");
        prop_assert!(wait <= DAY);
    }

    #[test]
    fn positions_parse_without_panic_and_round_trip(text in ".{0,60}", n in any::<u64>()) {
        if let Ok(position) = text.parse::<Position>() {
            prop_assert_eq!(position.to_string().parse::<Position>(), Ok(position));
        }
        let page = format!("page:{n}").parse::<Position>();
        prop_assert_eq!(page.is_ok(), n >= 1);
    }

    #[test]
    fn backoff_never_exceeds_its_cap(
        base_secs in any::<u64>(), base_nanos in 0u32..1_000_000_000,
        cap_secs in any::<u64>(), cap_nanos in 0u32..1_000_000_000,
        attempt in any::<u32>(), fraction in any::<f64>(),
    ) {
        let policy = RetryPolicy::default()
            .base_delay(Duration::new(base_secs, base_nanos))
            .max_delay(Duration::new(cap_secs, cap_nanos));
        prop_assert!(policy.backoff_at(attempt, fraction) <= policy.max_delay);
        prop_assert!(policy.backoff(attempt) <= policy.max_delay);
    }

    #[test]
    fn a_path_parameter_is_refused_exactly_when_it_would_change_the_route(
        id in prop_oneof![
            Just(String::new()), Just(".".to_owned()), Just("..".to_owned()),
            "[./\\\\a%]{0,6}", ".{0,12}",
        ],
        base in prop_oneof![Just("https://h"), Just("https://h/v1"), Just("http://127.0.0.1:9/a/b")],
    ) {
        const OPS: &[OperationMeta] = &[OperationMeta {
            id: "get_agent",
            method: "GET",
            path: "/api/v1/agents/{agent}/runs",
            paging: None,
            deep_query: &[],
            multipart: false,
        }];
        let runtime = Runtime::new(agentapis_runtime::Api::Agentiv, Auth::None, OPS);
        // Exactly what the generated code does with a path parameter.
        let url = format!("{base}/api/v1/agents/{}/runs", agentapis_runtime::encode_segment(&id));
        let Ok(url) = reqwest::Url::parse(&url) else {
            return Ok(());
        };
        let request = reqwest::Request::new(reqwest::Method::GET, url);
        let refused = runtime.check_request(&request, "get_agent", base).is_err();
        let collapses = id.is_empty() || id == "." || id == "..";
        prop_assert_eq!(refused, collapses, "{:?} → {}", id, request.url());
        if !refused {
            // What goes out is the template with the id as one segment, decoding back to the id.
            let path = request.url().path();
            let segment = path.strip_suffix("/runs").and_then(|p| p.rsplit_once('/')).map(|(_, s)| s);
            let decoded = segment.map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned());
            prop_assert_eq!(decoded.as_deref(), Some(id.as_str()), "{}", path);
        }
    }
}
