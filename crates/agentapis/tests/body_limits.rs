//! Bounded memory for response bodies (issue 9, item 4), measured: the heap's high-water mark
//! while a hostile server sends a 1 GiB body stays within a few MB of the 32 MiB cap. In its own
//! test binary, with the cases run one after another in one test, so nothing else allocates
//! while a case is measured.

mod testserver;

use std::alloc::System;
use std::time::{Duration, Instant};

use agentapis::{archastro, BodyLimits, Error, RetryPolicy, StopReason};
use peakmem_alloc::{PeakMemAlloc, PeakMemAllocTrait as _, INSTRUMENTED_SYSTEM};
use testserver::{Act, Server};

#[global_allocator]
static GLOBAL: &PeakMemAlloc<System> = &INSTRUMENTED_SYSTEM;

const GIB: u64 = 1024 * 1024 * 1024;
const MIB: usize = 1024 * 1024;
const CAP: usize = 32 * MIB;

fn client(base: &str) -> archastro::Client {
    archastro::Client::builder()
        .secret_key("sk_x")
        .base_url(base)
        .retry(
            RetryPolicy::default()
                .base_delay(Duration::from_millis(5))
                .max_delay(Duration::from_millis(10)),
        )
        .build()
        .expect("client")
}

async fn get_agent(client: &archastro::Client) -> Result<String, Error> {
    client
        .call(|api| api.get_agent().agent("agt_1").send())
        .await
        .map(|agent| agent.id.clone())
}

/// Runs `case` and returns its result and the heap's peak above where it started, in bytes.
async fn measured<T>(case: impl std::future::Future<Output = T>) -> (T, usize) {
    GLOBAL.reset_peak_memory();
    let before = GLOBAL.get_peak_memory();
    let out = case.await;
    (out, GLOBAL.get_peak_memory().saturating_sub(before))
}

/// A `/proc/self/status` field in kB (Linux), e.g. `VmRSS` or `VmHWM`.
fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets the resident-set high-water mark (Linux ≥ 4.0), so `VmHWM` measures from here.
fn reset_hwm() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[tokio::test]
async fn bodies_are_bounded_while_reading() {
    // A declared 1 GiB success body is refused before any of it is read, and not retried.
    let server = Server::acts(vec![Act::Big {
        status: 200,
        bytes: GIB,
        chunked: false,
    }])
    .await;
    let started = Instant::now();
    let (result, peak) = measured(get_agent(&client(&server.base))).await;
    match result {
        Err(Error::BodyTooLarge {
            limit,
            declared: Some(declared),
            ..
        }) => assert_eq!((limit, declared), (CAP as u64, GIB)),
        other => panic!("{other:?}"),
    }
    assert!(peak < 4 * MIB, "declared 1 GiB: peak {peak}");
    assert_eq!(server.hits(), 1);
    println!(
        "declared 1 GiB body: heap peak {:.1} MiB, {:?}",
        peak as f64 / MIB as f64,
        started.elapsed()
    );

    // A chunked 1 GiB success body is counted as it arrives and cut off at the cap.
    let server = Server::acts(vec![Act::Big {
        status: 200,
        bytes: GIB,
        chunked: true,
    }])
    .await;
    let started = Instant::now();
    let rss_before = status_kb("VmRSS");
    let hwm_reset = reset_hwm();
    let (result, peak) = measured(get_agent(&client(&server.base))).await;
    assert!(
        matches!(result, Err(Error::BodyTooLarge { declared: None, .. })),
        "{result:?}"
    );
    assert!(peak < CAP + 8 * MIB, "chunked 1 GiB: peak {peak}");
    // The resident set too (when the kernel lets the high-water mark be reset).
    let rss_growth_kb = match (hwm_reset, rss_before, status_kb("VmHWM")) {
        (true, Some(before), Some(high)) => Some(high.saturating_sub(before)),
        _ => None,
    };
    if let Some(growth) = rss_growth_kb {
        assert!(
            growth < (CAP as u64 + 16 * MIB as u64) / 1024,
            "chunked 1 GiB: RSS grew {growth} kB"
        );
    }
    println!(
        "chunked 1 GiB body: heap peak {:.1} MiB (cap 32 MiB), peak RSS growth {} in {:?}",
        peak as f64 / MIB as f64,
        rss_growth_kb.map_or("n/a".to_owned(), |kb| format!("{:.1} MiB", kb as f64 / 1024.0)),
        started.elapsed(),
    );

    // A 300 MiB error body, three attempts: each keeps only a 64 KiB prefix.
    let server = Server::acts(vec![Act::Big {
        status: 503,
        bytes: 300 * MIB as u64,
        chunked: true,
    }])
    .await;
    let (result, peak) = measured(get_agent(&client(&server.base))).await;
    let Err(Error::Api(e)) = &result else {
        panic!("{result:?}")
    };
    assert_eq!((e.status.as_u16(), e.attempts), (503, 3));
    assert_eq!(e.stop, Some(StopReason::AttemptsExhausted));
    assert_eq!(e.body.len(), 64 * 1024);
    assert!(peak < 4 * MIB, "300 MiB error bodies: peak {peak}");
    println!("300 MiB error body x3: heap peak {:.1} MiB", peak as f64 / MIB as f64);

    // An undecodable success body under the cap: the error keeps a bounded prefix.
    let server = Server::acts(vec![Act::Big {
        status: 200,
        bytes: 4 * MIB as u64,
        chunked: false,
    }])
    .await;
    match get_agent(&client(&server.base)).await {
        Err(Error::Decode { body, .. }) => assert_eq!(body.len(), 64 * 1024),
        other => panic!("{other:?}"),
    }

    // The cap is the caller's to set.
    let server = Server::acts(vec![Act::Big {
        status: 200,
        bytes: 2048,
        chunked: true,
    }])
    .await;
    let small = archastro::Client::builder()
        .secret_key("sk_x")
        .base_url(&server.base)
        .body_limits(BodyLimits::default().success(1024))
        .build()
        .expect("client");
    assert!(matches!(
        get_agent(&small).await,
        Err(Error::BodyTooLarge { limit: 1024, .. })
    ));
}
