//! Caches that gateway replicas share: values live in Redis (or a Redis Cluster) when one
//! is configured, and in the process otherwise. Redis is an accelerator, never a
//! dependency: every Redis call a request makes is bounded by a timeout of a few
//! milliseconds, and when Redis is unreachable or slow the caches carry on in process
//! memory and a warning is logged once per interval. Requests then leave Redis alone; a
//! background probe reconnects and pings it every second, and once it answers the caches
//! are shared again. A request never fails, or waits for a connection, because of Redis.
//!
//! Each named cache ([`Cache`]) keeps its keys under `kotohub:<name>:<generation>:`.
//! Invalidation ([`Cache::invalidate`]) moves the generation on — one `INCR` that every
//! replica sees within a second — so old entries are never read again and expire by their
//! lifetime; this works the same on a single server and on a cluster.
//!
//! In the request flow the gateway asks its response cache after the field rules and
//! before planning; the cache knows nothing of what it holds.

pub mod rate;

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::cluster_async::ClusterConnection;

/// An outage this long is logged when it ends even if its start was not.
const NOTABLE_OUTAGE: Duration = Duration::from_secs(3);
/// How often a Redis that failed is probed until it answers again.
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// How long connecting (or reconnecting) may take; only probes wait for it, never requests.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// At most one warning about Redis per this interval.
const WARN_EVERY: Duration = Duration::from_secs(30);
/// How long a replica trusts the generation it last read.
const GENERATION_FRESH: Duration = Duration::from_secs(1);

/// Where shared caches live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// Only in this process: the embedded default.
    Memory,
    /// One Redis server (`redis://host:port/db`).
    Redis(String),
    /// A Redis Cluster, by the addresses of some of its nodes.
    Cluster(Vec<String>),
}

/// Settings of the shared store.
#[derive(Debug, Clone)]
pub struct Settings {
    pub backend: Backend,
    /// The longest a request's Redis call may take before the process answers on its own.
    pub timeout: Duration,
}

/// Why Redis could not be set up.
#[derive(Debug)]
pub struct SetupError(String);

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot use Redis: {}", self.0)
    }
}

impl std::error::Error for SetupError {}

#[derive(Clone)]
enum Connection {
    Single(MultiplexedConnection),
    Cluster(ClusterConnection),
}

enum Client {
    Single(redis::Client),
    Cluster(Box<redis::cluster::ClusterClient>),
}

/// Redis and whether requests may use it now.
struct Redis {
    client: Client,
    /// The connection requests use; only probes make (and remake) it, so a request never
    /// waits for a connection to be made.
    connection: Mutex<Option<Connection>>,
    timeout: Duration,
    health: Mutex<Health>,
}

/// Requests use Redis only while it is up; it starts down until a probe connects.
#[derive(Default)]
struct Health {
    up: bool,
    probing: bool,
    last_warning: Option<Instant>,
    /// When the current outage began, and whether it has been warned about.
    down_since: Option<Instant>,
    warned: bool,
}

/// The shared store behind every named cache: Redis when configured, with its health.
#[derive(Clone)]
pub struct Store {
    redis: Option<Arc<Redis>>,
}

impl Store {
    /// A store in process memory only.
    pub fn memory() -> Self {
        Self { redis: None }
    }

    /// The store `settings` describe. Redis is connected in the background: a hub whose
    /// Redis is down at start starts anyway, on its in-process caches.
    pub fn new(settings: &Settings) -> Result<Self, SetupError> {
        let client = match &settings.backend {
            Backend::Memory => return Ok(Self::memory()),
            Backend::Redis(url) => Client::Single(
                redis::Client::open(url.as_str()).map_err(|e| SetupError(e.to_string()))?,
            ),
            Backend::Cluster(nodes) => Client::Cluster(Box::new(
                redis::cluster::ClusterClient::builder(nodes.iter().map(String::as_str))
                    .connection_timeout(CONNECT_TIMEOUT)
                    .response_timeout(CONNECT_TIMEOUT)
                    .build()
                    .map_err(|e| SetupError(e.to_string()))?,
            )),
        };
        Ok(Self {
            redis: Some(Arc::new(Redis {
                client,
                connection: Mutex::new(None),
                timeout: settings.timeout,
                health: Mutex::new(Health::default()),
            })),
        })
    }

    /// Whether a Redis is configured (up or not).
    pub fn uses_redis(&self) -> bool {
        self.redis.is_some()
    }

    /// Whether Redis is configured and answered at the last try.
    pub fn redis_up(&self) -> bool {
        self.redis
            .as_ref()
            .is_some_and(|redis| redis.health.lock().map(|health| health.up).unwrap_or(false))
    }

    /// Connects to Redis now, waiting up to `wait` for it to answer: for a start-up or a
    /// command that would rather wait than fall back. `false` when it did not answer.
    pub async fn connect(&self, wait: Duration) -> bool {
        let Some(redis) = &self.redis else {
            return false;
        };
        let deadline = Instant::now() + wait;
        loop {
            if redis.probe().await {
                return true;
            }
            if Instant::now() + PROBE_EVERY > deadline {
                return false;
            }
            tokio::time::sleep(PROBE_EVERY).await;
        }
    }
}

impl Redis {
    /// Whether requests may use Redis now; when not, makes sure a probe is bringing it
    /// back.
    fn available(self: &Arc<Self>) -> bool {
        let Ok(mut health) = self.health.lock() else {
            return false;
        };
        if health.up {
            return true;
        }
        if !health.probing {
            health.probing = true;
            let redis = self.clone();
            tokio::spawn(async move { redis.probe_until_up().await });
        }
        false
    }

    fn failed(&self, error: &str) {
        let Ok(mut health) = self.health.lock() else {
            return;
        };
        let now = Instant::now();
        health.up = false;
        health.down_since.get_or_insert(now);
        if health
            .last_warning
            .is_none_or(|last| now.duration_since(last) >= WARN_EVERY)
        {
            health.last_warning = Some(now);
            health.warned = true;
            tracing::warn!(
                error,
                "Redis is unavailable: caches answer from process memory until it is back"
            );
        }
    }

    async fn probe_until_up(&self) {
        // The first probe goes at once: a Redis that only missed the timeout under load
        // is back in use straight away rather than a second later.
        while !self.probe().await {
            // Requests leave Redis alone while it is away, so the probe is what keeps
            // warning once per interval for as long as the outage lasts.
            self.failed("Redis does not answer");
            tokio::time::sleep(PROBE_EVERY).await;
        }
        if let Ok(mut health) = self.health.lock() {
            health.probing = false;
        }
    }

    /// Pings over the current connection, or over a new one when that fails, with time
    /// for a connection to be made; marks Redis up when it answers.
    async fn probe(&self) -> bool {
        let current = self.established();
        let mut answered = match current {
            Some(connection) => ping(connection).await,
            None => false,
        };
        if !answered && let Some(fresh) = self.new_connection().await {
            answered = ping(fresh.clone()).await;
            if answered && let Ok(mut slot) = self.connection.lock() {
                *slot = Some(fresh);
            }
        }
        if let Ok(mut health) = self.health.lock() {
            if answered && let Some(since) = health.down_since.take() {
                // Each outage the log warned of is closed once; so is a long one that
                // began too soon after another's warning to get its own. The short
                // misses of a loaded Redis pass unlogged after the first warning.
                let away = since.elapsed();
                if std::mem::take(&mut health.warned) || away >= NOTABLE_OUTAGE {
                    tracing::info!(
                        away_seconds = away.as_secs(),
                        "Redis is back: caches are shared again"
                    );
                }
            }
            health.up = answered;
        }
        answered
    }

    async fn new_connection(&self) -> Option<Connection> {
        let made = match &self.client {
            Client::Single(client) => {
                tokio::time::timeout(CONNECT_TIMEOUT, client.get_multiplexed_async_connection())
                    .await
                    .map(|made| made.map(Connection::Single))
            }
            Client::Cluster(client) => {
                tokio::time::timeout(CONNECT_TIMEOUT, client.get_async_connection())
                    .await
                    .map(|made| made.map(Connection::Cluster))
            }
        };
        match made {
            Ok(Ok(connection)) => Some(connection),
            Ok(Err(error)) => {
                self.failed(&error.to_string());
                None
            }
            Err(_) => {
                self.failed("connecting took longer than half a second");
                None
            }
        }
    }

    /// The connection requests use, if there is one.
    fn established(&self) -> Option<Connection> {
        self.connection.lock().ok()?.clone()
    }

    /// Runs `command` for a request, bounded by the timeout; `None` when Redis is down
    /// or failed now (and is then marked down).
    async fn run<T: redis::FromRedisValue>(self: &Arc<Self>, command: &redis::Cmd) -> Option<T> {
        if !self.available() {
            return None;
        }
        let result = match self.established()? {
            Connection::Single(mut connection) => {
                tokio::time::timeout(self.timeout, command.query_async::<T>(&mut connection)).await
            }
            Connection::Cluster(mut cluster) => {
                tokio::time::timeout(self.timeout, command.query_async::<T>(&mut cluster)).await
            }
        };
        match result {
            Ok(Ok(value)) => Some(value),
            Ok(Err(error)) => {
                self.failed(&error.to_string());
                None
            }
            Err(_) => {
                self.failed("a call took longer than cache.timeout_ms");
                None
            }
        }
    }
}

/// Whether Redis answers a PING over `connection` in time.
async fn ping(connection: Connection) -> bool {
    let ping = redis::cmd("PING");
    let answer = match connection {
        Connection::Single(mut connection) => {
            tokio::time::timeout(CONNECT_TIMEOUT, ping.query_async::<String>(&mut connection)).await
        }
        Connection::Cluster(mut cluster) => {
            tokio::time::timeout(CONNECT_TIMEOUT, ping.query_async::<String>(&mut cluster)).await
        }
    };
    matches!(answer, Ok(Ok(_)))
}

/// How a named cache has fared, for the metrics.
#[derive(Debug, Default)]
pub struct Stats {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    /// Reads and writes answered in process because Redis was not usable.
    pub fallbacks: AtomicU64,
}

struct Inner {
    name: &'static str,
    store: Store,
    ttl: Duration,
    memory: moka::sync::Cache<String, Arc<[u8]>>,
    /// The generation last read from Redis, and when.
    generation: Mutex<(u64, Option<Instant>)>,
    /// The in-process generation, used while Redis is not.
    memory_generation: AtomicU64,
    stats: Stats,
}

/// One named cache of byte values with a fixed lifetime.
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("name", &self.inner.name)
            .field("ttl", &self.inner.ttl)
            .field("redis", &self.inner.store.uses_redis())
            .finish_non_exhaustive()
    }
}

impl Cache {
    /// A cache called `name` (part of every key) in `store`, keeping values for `ttl` and,
    /// in process memory, at most `capacity` of them.
    pub fn new(name: &'static str, store: &Store, ttl: Duration, capacity: u64) -> Self {
        Self {
            inner: Arc::new(Inner {
                name,
                store: store.clone(),
                ttl,
                memory: moka::sync::Cache::builder()
                    .max_capacity(capacity)
                    .time_to_live(ttl)
                    .build(),
                generation: Mutex::new((0, None)),
                memory_generation: AtomicU64::new(0),
                stats: Stats::default(),
            }),
        }
    }

    pub fn name(&self) -> &'static str {
        self.inner.name
    }

    /// Where the cache keeps its values.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    fn generation_key(&self) -> String {
        format!("kotohub:{}:generation", self.inner.name)
    }

    /// The current generation in Redis, read at most once a second.
    async fn generation(&self, redis: &Arc<Redis>) -> Option<u64> {
        if let Ok(cached) = self.inner.generation.lock()
            && let (generation, Some(read)) = *cached
            && read.elapsed() < GENERATION_FRESH
        {
            return Some(generation);
        }
        let generation: Option<u64> = redis
            .run(redis::cmd("GET").arg(self.generation_key()))
            .await?;
        let generation = generation.unwrap_or(0);
        if let Ok(mut cached) = self.inner.generation.lock() {
            *cached = (generation, Some(Instant::now()));
        }
        Some(generation)
    }

    fn redis_key(&self, generation: u64, key: &str) -> String {
        format!("kotohub:{}:{generation}:{key}", self.inner.name)
    }

    fn memory_key(&self, key: &str) -> String {
        format!(
            "{}:{key}",
            self.inner.memory_generation.load(Ordering::Relaxed)
        )
    }

    /// The value under `key`, if any.
    pub async fn get(&self, key: &str) -> Option<Arc<[u8]>> {
        let found = match self.shared().await {
            Some((redis, generation)) => {
                let command = redis::cmd("GET")
                    .arg(self.redis_key(generation, key))
                    .to_owned();
                match redis.run::<Option<Vec<u8>>>(&command).await {
                    Some(value) => value.map(Arc::from),
                    None => self.fallback_get(key),
                }
            }
            None => self.fallback_get(key),
        };
        let counter = if found.is_some() {
            &self.inner.stats.hits
        } else {
            &self.inner.stats.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Keeps `value` under `key` for the cache's lifetime.
    pub async fn set(&self, key: &str, value: Arc<[u8]>) {
        if let Some((redis, generation)) = self.shared().await {
            let command = redis::cmd("SET")
                .arg(self.redis_key(generation, key))
                .arg(value.as_ref())
                .arg("PX")
                .arg(self.inner.ttl.as_millis() as u64)
                .to_owned();
            if redis.run::<()>(&command).await.is_some() {
                return;
            }
        }
        if self.inner.store.uses_redis() {
            self.inner.stats.fallbacks.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.memory.insert(self.memory_key(key), value);
    }

    /// Makes every value stored so far unreachable, on every replica sharing the store.
    /// `false` when the shared store could not be reached: its values still stand.
    pub async fn invalidate(&self) -> bool {
        self.inner.memory_generation.fetch_add(1, Ordering::Relaxed);
        self.inner.memory.invalidate_all();
        let Some(redis) = &self.inner.store.redis else {
            return true;
        };
        let generation: Option<u64> = redis
            .run(redis::cmd("INCR").arg(self.generation_key()))
            .await;
        match generation {
            Some(generation) => {
                if let Ok(mut cached) = self.inner.generation.lock() {
                    *cached = (generation, Some(Instant::now()));
                }
                true
            }
            None => false,
        }
    }

    /// Redis and the current generation, when Redis is configured and usable.
    async fn shared(&self) -> Option<(&Arc<Redis>, u64)> {
        let redis = self.inner.store.redis.as_ref()?;
        let generation = self.generation(redis).await?;
        Some((redis, generation))
    }

    fn fallback_get(&self, key: &str) -> Option<Arc<[u8]>> {
        if self.inner.store.uses_redis() {
            self.inner.stats.fallbacks.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.memory.get(&self.memory_key(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_cache_hits_misses_and_invalidates() {
        let cache = Cache::new("test", &Store::memory(), Duration::from_secs(60), 100);
        assert!(cache.get("a").await.is_none());
        cache.set("a", Arc::from(&b"one"[..])).await;
        assert_eq!(cache.get("a").await.as_deref(), Some(&b"one"[..]));
        assert!(cache.invalidate().await);
        assert!(cache.get("a").await.is_none());
        assert_eq!(cache.stats().hits.load(Ordering::Relaxed), 1);
        assert_eq!(cache.stats().misses.load(Ordering::Relaxed), 2);
        assert_eq!(cache.stats().fallbacks.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn values_expire_after_their_lifetime() {
        let cache = Cache::new("test", &Store::memory(), Duration::from_millis(50), 100);
        cache.set("a", Arc::from(&b"one"[..])).await;
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert!(cache.get("a").await.is_none());
    }

    #[tokio::test]
    async fn an_unreachable_redis_falls_back_to_memory_without_failing() {
        // Nothing listens on port 1: every call fails at once, and the cache still works.
        let store = Store::new(&Settings {
            backend: Backend::Redis("redis://127.0.0.1:1/".to_owned()),
            timeout: Duration::from_millis(5),
        })
        .expect("a well-formed URL");
        let cache = Cache::new("test", &store, Duration::from_secs(60), 100);
        let started = Instant::now();
        cache.set("a", Arc::from(&b"one"[..])).await;
        assert_eq!(cache.get("a").await.as_deref(), Some(&b"one"[..]));
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(!store.redis_up());
        assert!(cache.stats().fallbacks.load(Ordering::Relaxed) >= 2);
    }
}
