//! The Redis store (cargo feature `redis`): every decision is one Lua script run atomically on
//! the server and timed by the server's clock (`TIME`), so workers whose clocks disagree still
//! share one schedule. One multiplexed connection per store, reconnected when it breaks.

use std::fmt;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Script;
use tokio::sync::OnceCell;

use super::{BoxFuture, LimitStore, Quota, RateAnswer, SessionStore, SharedTokens, StoreError};
use crate::Secret;

/// The server's clock in microseconds, for the scripts below.
const NOW_US: &str = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000000 + tonumber(t[2]) ";

/// GCRA with reservation: KEYS[1] holds the theoretical arrival time (µs). ARGV: interval µs,
/// tolerance µs, the longest wait the caller takes (µs). Returns {1, wait} when a place is
/// reserved, {0, wait} when it is too far (nothing reserved).
const TAKE_RATE: &str = "
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - tonumber(ARGV[2]) - now
if wait < 0 then wait = 0 end
if wait > tonumber(ARGV[3]) then return {0, wait} end
local next = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', next), 'PX', math.ceil((next - now) / 1000) + 1000)
return {1, wait}";

/// Leases: KEYS[1] a sorted set of lease ids scored by expiry (µs). ARGV: max, ttl µs, lease id.
/// Returns 1 when leased, 0 when all slots are held. The set lives as long as its longest lease.
const LEASE: &str = "
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], string.format('%.0f', now + tonumber(ARGV[2])), ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], math.ceil((tonumber(last[2]) - now) / 1000) + 1000)
return 1";

/// Server budget: KEYS[1] a hash {left, reset, probe (µs)}. ARGV: remaining, reset in µs, the
/// probe interval in µs.
/// The same folding as the in-memory store's `note`.
const NOTE_BUDGET: &str = "
local left = tonumber(ARGV[1])
local reset = now + tonumber(ARGV[2])
local cur = redis.call('HMGET', KEYS[1], 'left', 'reset')
local l, r = tonumber(cur[1]), tonumber(cur[2])
-- A spent window the server contradicts (requests remain until an earlier reset still ahead)
-- is replaced; otherwise a late answer from a window that has passed says nothing about the
-- current one, and answers within one window keep the smaller count.
local contradicts = l and r and r > now and l == 0 and left > 0 and reset > now and reset + 1000000 < r
if not contradicts then
  if l and r and r > now and (reset <= now or reset + 1000000 < r) then return 0 end
  if l and r and r > now and reset <= r + 1000000 then
    if l < left then left = l end
    if r > reset then reset = r end
  end
end
redis.call('HSET', KEYS[1], 'left', string.format('%.0f', left), 'reset', string.format('%.0f', reset))
-- Spent until a reset further than the probe interval, no probe pending: the first probe goes
-- an interval from now (`arithmetic::hold_first_probe`).
local interval = tonumber(ARGV[3])
if left == 0 and reset > now + interval then
  local p = tonumber(redis.call('HGET', KEYS[1], 'probe') or '0')
  if p <= now then redis.call('HSET', KEYS[1], 'probe', string.format('%.0f', now + interval)) end
end
-- Kept a minute past the reset: a spent window that passed still asks for a probe first.
redis.call('PEXPIRE', KEYS[1], math.ceil((reset - now) / 1000) + 60000)
return 1";

/// Takes one from the budget: -1 when the request may go, else the wait in µs. ARGV: the probe
/// interval (µs), the probe gap after a spent window (µs). The same rules as the in-memory
/// store's `take`.
const TAKE_BUDGET: &str = "
local cur = redis.call('HMGET', KEYS[1], 'left', 'reset', 'probe')
local l, r, p = tonumber(cur[1]), tonumber(cur[2]), tonumber(cur[3] or '0')
if not l or not r then return -1 end
local gap = tonumber(ARGV[1])
if r <= now then
  if l > 0 then return -1 end
  gap = tonumber(ARGV[2])
elseif l > 0 then
  redis.call('HINCRBY', KEYS[1], 'left', -1)
  return -1
elseif r - now <= gap then
  return r - now
end
if p <= now then
  redis.call('HSET', KEYS[1], 'probe', string.format('%.0f', now + gap))
  return -1
end
return p - now";

/// Sessions: KEYS[1] a hash {gen, access, refresh}. ARGV: expected gen, access, refresh ('' for
/// none). Returns 1 when written.
const STORE_IF: &str = "
local gen = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')
if gen ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'gen', gen + 1, 'access', ARGV[2], 'refresh', ARGV[3])
return 1";

/// Unconditional write as the next generation; returns it.
const STORE: &str = "
local gen = redis.call('HINCRBY', KEYS[1], 'gen', 1)
redis.call('HSET', KEYS[1], 'access', ARGV[1], 'refresh', ARGV[2])
return gen";

/// Releases KEYS[1] only if it still holds ARGV[1].
const UNLOCK: &str = "
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1";

struct Scripts {
    take_rate: Script,
    lease: Script,
    note_budget: Script,
    take_budget: Script,
    store_if: Script,
    store: Script,
    unlock: Script,
}

impl Scripts {
    fn new() -> Self {
        let timed = |body: &str| Script::new(&format!("{NOW_US}{body}"));
        Self {
            take_rate: timed(TAKE_RATE),
            lease: timed(LEASE),
            note_budget: timed(NOTE_BUDGET),
            take_budget: timed(TAKE_BUDGET),
            store_if: Script::new(STORE_IF),
            store: Script::new(STORE),
            unlock: Script::new(UNLOCK),
        }
    }
}

/// Limits and sessions in Redis. Connects on first use (so building a client never waits for
/// Redis) and reconnects after a failure; every operation's failure is a [`StoreError`] for the
/// fleet's failure policy.
pub struct RedisStore {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    scripts: Scripts,
    /// Where the store is, for `Debug`, without credentials.
    shown: String,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("server", &self.shown)
            .finish_non_exhaustive()
    }
}

fn store_error(e: &redis::RedisError) -> StoreError {
    // The kind, not the message: a message may quote the URL, and a URL may hold a password.
    let kind = format!("{:?}", e.kind());
    if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_timeout() {
        StoreError::Unreachable(kind)
    } else {
        StoreError::Protocol(kind)
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl RedisStore {
    /// A store on the Redis server at `url` (`redis://host:port/db`, or `rediss://` for TLS
    /// where the `redis` crate was built with it). Only parses the URL; connects on first use.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let client =
            redis::Client::open(url).map_err(|e| StoreError::Protocol(format!("bad Redis URL ({:?})", e.kind())))?;
        let info = client.get_connection_info();
        let shown = format!("{}", info.addr);
        Ok(Self {
            client,
            connection: OnceCell::new(),
            scripts: Scripts::new(),
            shown,
        })
    }

    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        let connection = self
            .connection
            .get_or_try_init(|| async {
                // Every operation is also bounded by the fleet's store timeout; these limits keep
                // the connection itself from waiting for ever on a server that stopped answering.
                let config = ConnectionManagerConfig::new()
                    .set_number_of_retries(2)
                    .set_max_delay(1000)
                    .set_connection_timeout(Duration::from_secs(2))
                    .set_response_timeout(Duration::from_secs(5));
                ConnectionManager::new_with_config(self.client.clone(), config)
                    .await
                    .map_err(|e| store_error(&e))
            })
            .await?;
        Ok(connection.clone())
    }

    async fn run<T: redis::FromRedisValue>(&self, invocation: &redis::ScriptInvocation<'_>) -> Result<T, StoreError> {
        let mut connection = self.connection().await?;
        invocation
            .invoke_async(&mut connection)
            .await
            .map_err(|e| store_error(&e))
    }

    /// A wait in µs from a script, `-1` meaning "none".
    fn wait(us: i64) -> Option<Duration> {
        u64::try_from(us).ok().map(Duration::from_micros)
    }
}

impl LimitStore for RedisStore {
    fn take_rate<'a>(
        &'a self,
        key: &'a str,
        quota: Quota,
        max_wait: Duration,
    ) -> BoxFuture<'a, Result<RateAnswer, StoreError>> {
        Box::pin(async move {
            let mut call = self.scripts.take_rate.key(key);
            call.arg((quota.interval_nanos() / 1000).max(1))
                .arg(quota.tolerance_nanos() / 1000)
                .arg(micros(max_wait));
            let (reserved, wait): (i64, i64) = self.run(&call).await?;
            let wait = Duration::from_micros(u64::try_from(wait).unwrap_or(0));
            Ok(if reserved == 1 {
                RateAnswer::Go(wait)
            } else {
                RateAnswer::TooFar(wait)
            })
        })
    }

    fn lease_slot<'a>(
        &'a self,
        key: &'a str,
        max: u32,
        ttl: Duration,
        lease: u64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            // A lease that never expires is not wanted from a shared store: cap it at a day.
            let ttl = micros(ttl.min(Duration::from_secs(86_400)));
            let mut call = self.scripts.lease.key(key);
            call.arg(max).arg(ttl).arg(lease);
            let leased: i64 = self.run(&call).await?;
            Ok(leased == 1)
        })
    }

    fn release_slot(&self, key: &str, lease: u64) {
        let Some(connection) = self.connection.get().cloned() else {
            return;
        };
        let key = key.to_owned();
        // Not awaited by the caller (a slot is given back in `Drop`); the lease expires if this
        // fails or no runtime is there to run it.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let mut connection = connection;
                let removed: redis::RedisResult<i64> = redis::cmd("ZREM")
                    .arg(&key)
                    .arg(lease)
                    .query_async(&mut connection)
                    .await;
                if let Err(e) = removed {
                    tracing::debug!(problem = %store_error(&e), "fleet: could not give a slot back; it will expire");
                }
            });
        }
    }

    fn note_budget<'a>(
        &'a self,
        key: &'a str,
        remaining: u64,
        reset_in: Duration,
        probe_interval: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut call = self.scripts.note_budget.key(key);
            call.arg(remaining).arg(micros(reset_in)).arg(micros(probe_interval));
            let _: i64 = self.run(&call).await?;
            Ok(())
        })
    }

    fn take_budget<'a>(
        &'a self,
        key: &'a str,
        probe_interval: Duration,
    ) -> BoxFuture<'a, Result<Option<Duration>, StoreError>> {
        Box::pin(async move {
            let mut call = self.scripts.take_budget.key(key);
            call.arg(micros(probe_interval))
                .arg(super::arithmetic::PROBE_GAP / 1000);
            Ok(Self::wait(self.run(&call).await?))
        })
    }
}

impl SessionStore for RedisStore {
    fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<SharedTokens>, StoreError>> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let (generation, access, refresh): (Option<u64>, Option<String>, Option<String>) = redis::cmd("HMGET")
                .arg(key)
                .arg("gen")
                .arg("access")
                .arg("refresh")
                .query_async(&mut connection)
                .await
                .map_err(|e| store_error(&e))?;
            Ok(match (generation, access) {
                (Some(generation), Some(access)) => Some(SharedTokens {
                    generation,
                    access: Secret::new(access),
                    refresh: refresh.filter(|r| !r.is_empty()).map(Secret::new),
                }),
                _ => None,
            })
        })
    }

    fn store_if<'a>(
        &'a self,
        key: &'a str,
        expected: u64,
        access: &'a Secret,
        refresh: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut call = self.scripts.store_if.key(key);
            call.arg(expected)
                .arg(access.expose())
                .arg(refresh.map_or("", Secret::expose));
            let written: i64 = self.run(&call).await?;
            Ok(written == 1)
        })
    }

    fn store<'a>(
        &'a self,
        key: &'a str,
        access: &'a Secret,
        refresh: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let mut call = self.scripts.store.key(key);
            call.arg(access.expose()).arg(refresh.map_or("", Secret::expose));
            self.run(&call).await
        })
    }

    fn lock<'a>(&'a self, key: &'a str, ttl: Duration) -> BoxFuture<'a, Result<Option<u64>, StoreError>> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let id: u64 = rand::random::<u64>() >> 1;
            let taken: Option<String> = redis::cmd("SET")
                .arg(key)
                .arg(id)
                .arg("NX")
                .arg("PX")
                .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1))
                .query_async(&mut connection)
                .await
                .map_err(|e| store_error(&e))?;
            Ok(taken.map(|_| id))
        })
    }

    fn unlock<'a>(&'a self, key: &'a str, lock: u64) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut call = self.scripts.unlock.key(key);
            call.arg(lock);
            let _: i64 = self.run(&call).await?;
            Ok(())
        })
    }
}
