//! Rate limits: a token bucket per key (a principal, a client address), refilled at a
//! steady rate up to a burst. Buckets live in Redis when the store has one, so that every
//! gateway replica draws from the same bucket — the refill uses Redis's clock, not the
//! replicas' — and in process otherwise, or while Redis is away (each replica then limits
//! on its own, which is the price of not failing).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::Store;

/// A steady rate and the burst a bucket holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    pub per_second: f64,
    pub burst: u32,
}

/// What a bucket said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Over the limit: a token is there again after this long.
    Limited {
        retry_after: Duration,
    },
}

/// Takes a token, or says how long until there is one; with Redis's clock, atomically.
const TAKE: &str = r"
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or burst
local at = tonumber(bucket[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate / 1000)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return wait
";

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by key, shared through the store.
#[derive(Clone)]
pub struct RateLimiter {
    store: Store,
    local: moka::sync::Cache<String, Arc<Mutex<Bucket>>>,
    refusals: Arc<AtomicU64>,
}

impl RateLimiter {
    pub fn new(store: &Store) -> Self {
        Self {
            store: store.clone(),
            // A bucket untouched for ten minutes is full again anyway.
            local: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(Duration::from_secs(600))
                .build(),
            refusals: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Requests refused so far, for the metrics.
    pub fn refusals(&self) -> u64 {
        self.refusals.load(Ordering::Relaxed)
    }

    /// Takes a token from the bucket of `key` under `limit`.
    pub async fn take(&self, key: &str, limit: Limit) -> Verdict {
        if limit.per_second <= 0.0 || limit.burst == 0 {
            return self.refused(Duration::from_secs(1));
        }
        let shared = match &self.store.redis {
            Some(redis) => {
                let command = redis::cmd("EVAL")
                    .arg(TAKE)
                    .arg(1)
                    .arg(format!("kotohub:ratelimit:{key}"))
                    .arg(limit.per_second)
                    .arg(limit.burst)
                    .to_owned();
                redis.run::<u64>(&command).await
            }
            None => None,
        };
        let wait = match shared {
            Some(wait_ms) => Duration::from_millis(wait_ms),
            None => self.take_locally(key, limit),
        };
        if wait.is_zero() {
            Verdict::Allowed
        } else {
            self.refused(wait)
        }
    }

    fn refused(&self, retry_after: Duration) -> Verdict {
        self.refusals.fetch_add(1, Ordering::Relaxed);
        Verdict::Limited { retry_after }
    }

    /// The in-process bucket: what to wait, zero when a token was taken.
    fn take_locally(&self, key: &str, limit: Limit) -> Duration {
        let bucket = self.local.get_with(key.to_owned(), || {
            Arc::new(Mutex::new(Bucket {
                tokens: f64::from(limit.burst),
                at: Instant::now(),
            }))
        });
        let Ok(mut bucket) = bucket.lock() else {
            return Duration::ZERO;
        };
        let now = Instant::now();
        let refilled = now.duration_since(bucket.at).as_secs_f64() * limit.per_second;
        bucket.tokens = (bucket.tokens + refilled).min(f64::from(limit.burst));
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - bucket.tokens) / limit.per_second)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_bucket_allows_its_burst_then_refuses_until_it_refills() {
        let limiter = RateLimiter::new(&Store::memory());
        let limit = Limit {
            per_second: 20.0,
            burst: 3,
        };
        for _ in 0..3 {
            assert_eq!(limiter.take("a", limit).await, Verdict::Allowed);
        }
        let Verdict::Limited { retry_after } = limiter.take("a", limit).await else {
            panic!("the fourth request is over the burst");
        };
        assert!(retry_after <= Duration::from_millis(50), "{retry_after:?}");
        assert_eq!(
            limiter.take("b", limit).await,
            Verdict::Allowed,
            "buckets are per key"
        );
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(limiter.take("a", limit).await, Verdict::Allowed, "refilled");
        assert_eq!(limiter.refusals(), 1);
    }
}
