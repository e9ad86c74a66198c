//! Fleet mode against a real Redis (cargo feature `redis`). Each test starts its own
//! `redis-server` on a free loopback port and stops it when done; `scripts/ensure-redis`
//! installs the server when it is missing (the test command runs it).
//!
//! The multi-process tests start worker processes by running this test binary again with
//! `FLEET_WORKER` set (see `worker`): each worker is a separate process with its own client,
//! sharing only Redis, the way a fleet of machines would.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentapis::fleet::{conformance, FailurePolicy, Fleet, RedisStore};
use agentapis::{agentiv, archastro, Api, ClientLimits, Error};
use agentapis_standin::Standin;

/// One test at a time: they measure shares of a rate and start worker processes, so two at once
/// would disturb each other's figures. A lock rather than `--test-threads=1`, so the binary can
/// run inside `cargo test --workspace` with the other tests.
async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    // tokio's lock: held across awaits, and a test that panicked while holding it poisons nothing.
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    SERIAL.lock().await
}

/// A `redis-server` of this test's own on a Unix socket in a temporary directory (no port to
/// race for, no other test's server to reach), killed on drop.
struct Redis {
    child: Child,
    dir: tempfile::TempDir,
}

impl Redis {
    fn start() -> Redis {
        // Under /tmp, whatever TMPDIR says: a socket path must stay under 108 bytes.
        let dir = tempfile::Builder::new()
            .prefix("fleet-redis")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let child = Self::spawn(&dir);
        Redis { child, dir }
    }

    fn socket(dir: &tempfile::TempDir) -> std::path::PathBuf {
        dir.path().join("redis.sock")
    }

    fn spawn(dir: &tempfile::TempDir) -> Child {
        let socket = Self::socket(dir);
        let mut child = Command::new("redis-server")
            .args([
                "--port",
                "0",
                "--save",
                "",
                "--appendonly",
                "no",
                "--unixsocketperm",
                "700",
            ])
            .arg("--unixsocket")
            .arg(&socket)
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start redis-server ({e}); the fleet tests need it on PATH: run \
                     scripts/ensure-redis (Debian package redis-server) or ./scripts/check"
                )
            });
        let until = Instant::now() + Duration::from_secs(10);
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("redis-server exited at start ({status})");
            }
            assert!(Instant::now() < until, "redis-server did not listen within 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        child
    }

    fn url(&self) -> String {
        format!("redis+unix://{}", Self::socket(&self.dir).display())
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(Self::socket(&self.dir));
    }

    /// Starts the server again where it was (after `kill`).
    fn restart(&mut self) {
        self.child = Self::spawn(&self.dir);
    }

    /// Every key with every value it holds, as text (for the "no credential in Redis" check).
    fn dump(&self) -> Vec<(String, String)> {
        let client = redis::Client::open(self.url()).expect("url");
        let mut con = client.get_connection().expect("connect");
        let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).expect("keys");
        keys.into_iter()
            .map(|key| {
                let kind: String = redis::cmd("TYPE").arg(&key).query(&mut con).expect("type");
                let value: Vec<String> = match kind.as_str() {
                    "string" => vec![redis::cmd("GET").arg(&key).query(&mut con).unwrap_or_default()],
                    "hash" => redis::cmd("HGETALL").arg(&key).query(&mut con).unwrap_or_default(),
                    "zset" => redis::cmd("ZRANGE")
                        .arg(&key)
                        .arg(0)
                        .arg(-1)
                        .query(&mut con)
                        .unwrap_or_default(),
                    _ => Vec::new(),
                };
                (key, value.join(" "))
            })
            .collect()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

fn store(redis: &Redis) -> Arc<RedisStore> {
    Arc::new(RedisStore::open(&redis.url()).expect("redis url"))
}

#[tokio::test]
async fn one_rate_is_shared_by_every_store_on_the_server() {
    // The conformance suite every store passes (the in-memory one in the runtime's tests).
    let _serial = serial().await;
    let redis = Redis::start();
    let (a, b) = (store(&redis), store(&redis));
    if let Err(failure) = conformance::rates(&*a, &*b, "rates").await {
        panic!("{failure}");
    }
}

#[tokio::test]
async fn a_crashed_holder_frees_its_slot_when_the_lease_expires() {
    // A holder that never gives its lease back (crashed) frees its slot when the lease expires.
    let _serial = serial().await;
    let redis = Redis::start();
    let (a, b) = (store(&redis), store(&redis));
    if let Err(failure) = conformance::slots(&*a, &*b, "slots").await {
        panic!("{failure}");
    }
}

#[tokio::test]
async fn a_stated_budget_is_counted_down_by_every_store() {
    // Counted down by both connections; a distant reset holds one interval, then one probe each.
    let _serial = serial().await;
    let redis = Redis::start();
    let (a, b) = (store(&redis), store(&redis));
    if let Err(failure) = conformance::budgets(&*a, &*b, "budgets").await {
        panic!("{failure}");
    }
}

#[tokio::test]
async fn session_writes_and_locks_are_atomic_across_stores() {
    // Compare-and-swap writes and single-holder locks across connections.
    let _serial = serial().await;
    let redis = Redis::start();
    let (a, b) = (store(&redis), store(&redis));
    if let Err(failure) = conformance::sessions(&*a, &*b, "sessions").await {
        panic!("{failure}");
    }
}

fn agentiv_client(base_url: &str, fleet: Option<Fleet>, limits: ClientLimits) -> agentiv::Client {
    let mut builder = agentiv::Client::builder()
        .api_key("ak_live_fleet_secret_0001")
        .base_url(base_url)
        .limits(limits)
        .deadline(Some(Duration::from_secs(60)));
    if let Some(fleet) = fleet {
        builder = builder.fleet(fleet);
    }
    builder.build().expect("client")
}

#[tokio::test]
async fn when_redis_dies_fail_open_goes_on_and_fail_closed_refuses_without_hanging() {
    let _serial = serial().await;
    let mut redis = Redis::start();
    let standin = Standin::builder(Api::Agentiv).start().await.expect("stand-in");
    let limits = ClientLimits::new().per_minute(6000).concurrency(4);
    let open = Fleet::redis(&redis.url(), "killed").expect("url");
    let closed = Fleet::redis(&redis.url(), "killed")
        .expect("url")
        .on_failure(FailurePolicy::FailClosed)
        .store_timeout(Duration::from_millis(200));
    let (open_client, closed_client) = (
        agentiv_client(standin.base_url(), Some(open), limits),
        agentiv_client(standin.base_url(), Some(closed), limits),
    );
    open_client
        .call(|api| api.list_agents().send())
        .await
        .expect("redis up");
    closed_client
        .call(|api| api.list_agents().send())
        .await
        .expect("redis up");
    redis.kill();
    let started = Instant::now();
    for _ in 0..3 {
        let call = Instant::now();
        open_client
            .call(|api| api.list_agents().send())
            .await
            .expect("fail open: the local limits take over");
        // At most one store timeout (500 ms) per outage, never a hang (generous for CI).
        assert!(call.elapsed() < Duration::from_secs(3), "{:?}", call.elapsed());
    }
    match closed_client.call(|api| api.list_agents().send()).await {
        Err(Error::FleetUnavailable { problem, .. }) => {
            assert!(!problem.to_string().contains("fleet_secret"), "{problem}");
        }
        other => panic!("fail closed must refuse with FleetUnavailable, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "no call waited past its deadline"
    );
    // Redis back where it was: the shared store is used again.
    redis.restart();
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        match closed_client.call(|api| api.list_agents().send()).await {
            Ok(_) => break,
            Err(Error::FleetUnavailable { .. }) if Instant::now() < until => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("after Redis came back: {e}"),
        }
    }
}

// ---- Worker processes -------------------------------------------------------------------------

/// A worker: this test binary run again with `FLEET_WORKER` set. It reads commands from stdin
/// and answers each with one line on stdout.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Worker {
    fn spawn(env: &[(&str, String)]) -> Worker {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "worker",
                "--nocapture",
                "--include-ignored",
                "--test-threads=1",
            ])
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn worker");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Worker { child, stdin, stdout }
    }

    fn send(&mut self, command: &str) {
        writeln!(self.stdin, "{command}").expect("write to worker");
        self.stdin.flush().expect("flush");
    }

    /// The worker's next answer (lines the test harness prints are skipped).
    fn answer(&mut self) -> String {
        let mut line = String::new();
        loop {
            line.clear();
            let read = self.stdout.read_line(&mut line).expect("read worker");
            assert!(read > 0, "worker exited early");
            // The harness prints `test worker ... ` without a newline before the first answer.
            if let Some((_, answer)) = line.trim().split_once("WORKER ") {
                return answer.to_owned();
            }
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The worker's side. Commands: `agentiv <calls>` (calls `list_agents` with the configured
/// limits, answers `ok=<n> err=<n>`), `load` (takes up the shared ArchAstro session), `me`
/// (one ArchAstro call, answers `ok` or the error).
#[test]
#[ignore = "run by the multi-process tests as a worker"]
fn worker() {
    let Ok(role) = std::env::var("FLEET_WORKER") else {
        return;
    };
    if std::env::var_os("FLEET_TRACE").is_some() {
        tracing_subscriber::fmt().with_writer(std::io::stderr).init();
    }
    let runtime = tokio::runtime::Runtime::new().expect("tokio");
    runtime.block_on(async move {
        let var = |name: &str| std::env::var(name).unwrap_or_default();
        let (base_url, redis_url) = (var("FLEET_BASE_URL"), var("FLEET_REDIS"));
        let fleet = (role == "fleet").then(|| Fleet::redis(&redis_url, "workers").expect("url"));
        let per_minute: u32 = var("FLEET_PER_MINUTE").parse().unwrap_or(600);
        let limits = ClientLimits::new().per_minute(per_minute).burst(1).concurrency(4);
        let agentiv = agentiv_client(&base_url, fleet.clone(), limits);
        let mut archastro_builder = archastro::Client::builder()
            .publishable_key("pk_live_fleet_secret_0002")
            .base_url(&base_url)
            .deadline(Some(Duration::from_secs(20)));
        if let Some(fleet) = fleet {
            archastro_builder = archastro_builder.fleet(fleet).share_session("user-1");
        }
        let archastro = archastro_builder.build().expect("client");
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            let line = line.expect("stdin");
            let mut words = line.split_whitespace();
            let answer = match (words.next(), words.next()) {
                (Some("agentiv"), Some(n)) => {
                    let n: usize = n.parse().expect("a count");
                    let calls = (0..n).map(|_| agentiv.call(|api| api.list_agents().send()));
                    let results = futures::future::join_all(calls).await;
                    let ok = results.iter().filter(|r| r.is_ok()).count();
                    format!("ok={ok} err={}", n - ok)
                }
                (Some("load"), _) => format!("{:?}", archastro.load_session().await.map_err(|e| e.to_string())),
                (Some("me"), _) => match archastro.me().await {
                    Ok(_) => "ok".to_owned(),
                    Err(e) => format!("error: {e}"),
                },
                _ => "unknown command".to_owned(),
            };
            println!("WORKER {answer}");
        }
    });
}

fn spawn_workers(n: usize, role: &str, base_url: &str, redis: &Redis, per_minute: u32) -> Vec<Worker> {
    (0..n)
        .map(|_| {
            Worker::spawn(&[
                ("FLEET_WORKER", role.to_owned()),
                ("FLEET_BASE_URL", base_url.to_owned()),
                ("FLEET_REDIS", redis.url()),
                ("FLEET_PER_MINUTE", per_minute.to_string()),
            ])
        })
        .collect()
}

/// Runs `calls` Agentiv calls in each of `workers` processes at once; returns (ok, err, 429s the
/// server sent, seconds from the first command to the last answer).
async fn goodput_run(
    role: &str,
    workers: usize,
    calls: usize,
    limit: u64,
    window: Duration,
    per_minute: u32,
) -> (usize, usize, u64, f64) {
    let redis = Redis::start();
    let standin = Standin::builder(Api::Agentiv)
        .rate_limit(limit, window)
        .start()
        .await
        .expect("stand-in");
    let pool = spawn_workers(workers, role, standin.base_url(), &redis, per_minute);
    let started = Instant::now();
    let (answers, _pool) = ask_all(pool, &format!("agentiv {calls}")).await;
    let secs = started.elapsed().as_secs_f64();
    let (mut ok, mut err) = (0, 0);
    for answer in answers {
        let counts: Vec<usize> = answer
            .split_whitespace()
            .filter_map(|kv| kv.split_once('=').and_then(|(_, v)| v.parse().ok()))
            .collect();
        assert_eq!(counts.len(), 2, "worker answered {answer:?}");
        ok += counts[0];
        err += counts[1];
    }
    (ok, err, standin.rate_limited(), secs)
}

#[tokio::test]
async fn a_fleet_of_processes_stays_inside_one_budget() {
    let _serial = serial().await;
    // The server allows 20 a second; four processes each paced at 12 a second on their own
    // overrun it more than twice over, while the fleet shares one schedule of 12 a second (the
    // headroom keeps scheduling jitter on a busy machine from pushing a window over).
    let (ok, err, refused, _) = goodput_run("fleet", 4, 12, 20, Duration::from_secs(1), 720).await;
    assert_eq!((ok, err), (48, 0));
    assert_eq!(refused, 0, "the fleet never trips the server's limit");
    let (_, _, refused, _) = goodput_run("alone", 4, 12, 20, Duration::from_secs(1), 720).await;
    assert!(refused > 0, "without a fleet, each process believes it owns the budget");
}

/// A signed-in ArchAstro session shared through a fresh Redis and `workers` worker processes
/// that have taken it up (each answered `load` with `Ok(true)`).
async fn shared_session(workers: usize) -> (Redis, agentapis_standin::Running, Vec<Worker>) {
    let redis = Redis::start();
    let standin = Standin::builder(Api::ArchAstro)
        .rotating_sessions()
        .start()
        .await
        .expect("stand-in");
    let (access, refresh) = standin.issue_session();
    // Someone signs in and shares the session.
    let first = archastro::Client::builder()
        .publishable_key("pk_live_fleet_secret_0002")
        .base_url(standin.base_url())
        .token(access)
        .refresh_token(refresh)
        .fleet(Fleet::redis(&redis.url(), "workers").expect("url"))
        .share_session("user-1")
        .build()
        .expect("client");
    first.publish_session().await.expect("published");
    let pool = spawn_workers(workers, "fleet", standin.base_url(), &redis, 600);
    let (loaded, pool) = ask_all(pool, "load").await;
    assert!(loaded.iter().all(|a| a == "Ok(true)"), "{loaded:?}");
    (redis, standin, pool)
}

#[tokio::test]
async fn one_refresh_per_rotation_across_processes() {
    let _serial = serial().await;
    let (redis, standin, pool) = shared_session(4).await;
    let (called, mut pool) = ask_all(pool, "me").await;
    assert!(called.iter().all(|a| a == "ok"), "{called:?}");
    assert_eq!(standin.refreshes(), 0);
    // Every access token expires at once: every worker gets a 401 on its next call.
    for round in 1..=2 {
        standin.expire_sessions();
        let (called, back) = ask_all(pool, "me").await;
        pool = back;
        assert!(called.iter().all(|a| a == "ok"), "{called:?}");
        assert_eq!(standin.refreshes(), round, "exactly one refresh per rotation");
    }
    // Nothing in Redis holds the app key; the session's tokens are under its own key only.
    for (key, value) in redis.dump() {
        assert!(
            !key.contains("fleet_secret") && !value.contains("fleet_secret"),
            "{key}: {value}"
        );
        if value.contains("at_") || value.contains("rt_") {
            assert!(key.ends_with(":session"), "tokens outside the session key: {key}");
        }
    }
}

// ---- The fleet benchmark ----------------------------------------------------------------------

/// `scripts/fleet-bench` runs this: goodput of worker processes sharing one key against a server
/// that enforces one budget, fleet mode beside per-process limits, and a refresh storm. Prints a
/// Markdown table (and writes it to `$FLEET_BENCH_OUT` when set). Not a test of speed: nothing is
/// asserted about time.
#[tokio::test]
#[ignore = "a benchmark: run by scripts/fleet-bench"]
async fn fleet_bench() {
    let quick = std::env::var_os("FLEET_BENCH_QUICK").is_some();
    let (workers, calls) = if quick { (4, 10) } else { (6, 40) };
    // "120 a minute" scaled down: 40 requests per 2-second window (20 a second).
    let (limit, window) = (40u64, Duration::from_secs(2));
    let allowed_per_s = limit as f64 / window.as_secs_f64();
    // Each process is configured with the plan's limit; the fleet shares it, at 97% of the
    // budget so that arrival jitter cannot push one window over.
    let plan_per_minute = (allowed_per_s * 60.0) as u32;
    let fleet_per_minute = plan_per_minute * 97 / 100;
    let mut rows = Vec::new();
    for (label, role, per_minute) in [
        ("fleet (Redis)", "fleet", fleet_per_minute),
        ("per-process limits", "alone", plan_per_minute),
    ] {
        let (ok, err, refused, secs) = goodput_run(role, workers, calls, limit, window, per_minute).await;
        let share = ok as f64 / secs / allowed_per_s * 100.0;
        rows.push(format!(
            "| {label} | {workers} | {} | {ok} | {err} | {refused} | {secs:.1} | {share:.0}% |",
            workers * calls
        ));
    }
    let rotations = 3u64;
    let storm_workers = if quick { 4 } else { 8 };
    let refreshes = refresh_storm(storm_workers, rotations).await;
    let table = format!(
        "Fleet benchmark ({}; server budget {limit} per {:?} = {allowed_per_s:.0}/s, fixed window)\n\n\
         | mode | workers | calls | ok | failed | 429s received | seconds | goodput / allowed rate |\n\
         |---|---|---|---|---|---|---|---|\n{}\n\n\
         Refresh storm: {storm_workers} worker processes share one ArchAstro session; every access token \
         expires at once, {rotations} times: {refreshes} refresh call(s) reached the server (target: {rotations}).\n",
        if quick { "quick" } else { "full" },
        window,
        rows.join("\n")
    );
    println!("{table}");
    if let Some(path) = std::env::var_os("FLEET_BENCH_OUT") {
        std::fs::write(path, &table).expect("write the results");
    }
}

/// Expires every worker's token `rotations` times; returns the refreshes the server answered.
async fn refresh_storm(workers: usize, rotations: u64) -> u64 {
    let (_redis, standin, mut pool) = shared_session(workers).await;
    for _ in 0..rotations {
        standin.expire_sessions();
        let (answers, back) = ask_all(pool, "me").await;
        assert!(answers.iter().all(|a| a == "ok"), "{answers:?}");
        pool = back;
    }
    standin.refreshes()
}

/// Sends `command` to every worker and collects the answers, off the async runtime.
async fn ask_all(mut pool: Vec<Worker>, command: &str) -> (Vec<String>, Vec<Worker>) {
    let command = command.to_owned();
    // A hung worker fails the test (its pipes close when the test process ends) instead of
    // holding CI until its time limit.
    let answered = tokio::task::spawn_blocking(move || {
        for w in &mut pool {
            w.send(&command);
        }
        let answers = pool.iter_mut().map(Worker::answer).collect();
        (answers, pool)
    });
    tokio::time::timeout(Duration::from_secs(120), answered)
        .await
        .expect("every worker answers within 2 minutes")
        .expect("workers")
}
