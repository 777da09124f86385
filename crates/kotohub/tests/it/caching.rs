//! The gateway's shared store end to end: analysts' aggregate answers are kept per
//! aggregate scope (never served to another scope), person-level answers never are, every
//! answer — cached or not — is in the access log, invalidation drops them, and with Redis
//! as the store a Redis server killed under load costs no request. Rate limits refuse
//! with 429 and `Retry-After`, per principal and per address, logged like any refusal,
//! and replicas share their buckets in Redis.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kotohub::services::{GatewaySettings, Shutdown};
use kotohub_auth::{Principal, Role};
use kotohub_cache::{Backend, Cache, Settings, Store};
use serde_json::{Value, json};

use crate::helpers::{Backend as Database, Hub, principal};
use crate::on_both_backends;

on_both_backends!(
    aggregate_answers_are_cached_per_scope_in_memory,
    aggregate_answers_are_cached_per_scope_in_redis,
    killing_redis_under_load_fails_no_request,
    callers_over_their_rate_get_429_and_are_logged,
    replicas_share_plans_through_redis,
);

const TABLE: &str = "query Table($year: Int) { clientStatistics(by: [DISTRICT], year: $year) { suppressedCells cells { district clients suppressed } } }";

fn analyst(division: &str) -> Principal {
    Principal::new(
        format!("test-analyst-{division}"),
        [Role::Analyst],
        [],
        Some(division.to_owned()),
    )
}

/// The Redis server of the tests, if any: required under CI.
fn redis_url() -> Option<String> {
    match std::env::var("KOTOHUB_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but KOTOHUB_TEST_REDIS_URL is not set: the Redis tests must run in CI"
            );
            eprintln!("KOTOHUB_TEST_REDIS_URL is not set: Redis test skipped");
            None
        }
    }
}

/// A gateway on `hub` whose response cache lives in `store`.
async fn cached_gateway(hub: &Hub, cache: &Cache) -> (String, Shutdown) {
    let settings = GatewaySettings {
        response_cache: Some(cache.clone()),
        ..GatewaySettings::default()
    };
    gateway_with(hub, settings).await
}

/// Another gateway on `hub` with `settings`: its `/graphql` URL and its stop handle.
async fn gateway_with(hub: &Hub, settings: GatewaySettings) -> (String, Shutdown) {
    let (base, shutdown) = hub.extra_gateway(&hub.subgraph_urls(), &settings).await;
    (format!("{base}/graphql"), shutdown)
}

/// `GET /metrics` of the gateway at `url` (its `/graphql`).
async fn metrics_of(url: &str) -> String {
    let response = reqwest::get(url.replace("/graphql", "/metrics"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    response.text().await.unwrap()
}

async fn post(hub: &Hub, url: &str, who: &Principal, query: &str, variables: Value) -> Value {
    let response = reqwest::Client::new()
        .post(url)
        .header("authorization", format!("Bearer {}", hub.token(who)))
        .header(crate::helpers::PURPOSE_HEADER, crate::helpers::PURPOSE)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn scopes_never_share_answers(hub: &Hub, cache: &Cache) {
    let (url, shutdown) = cached_gateway(hub, cache).await;
    let hits = || cache.stats().hits.load(Ordering::Relaxed);
    let employment = analyst("employment");
    let social = analyst("social");
    hub.take_statements("programme");

    let first = post(hub, &url, &employment, TABLE, json!({ "year": 2024 })).await;
    assert!(first.get("errors").is_none(), "{first}");
    assert!(
        hub.take_statements("programme") > 0,
        "a miss reads the register"
    );
    let before = hits();
    let again = post(hub, &url, &employment, TABLE, json!({ "year": 2024 })).await;
    assert_eq!(again, first, "the same answer");
    assert_eq!(hits(), before + 1, "a hit");
    assert_eq!(hub.take_statements("programme"), 0, "a hit reads nothing");

    // Another division's analyst asks the same: computed for its own scope, never served
    // the employment analyst's answer.
    let theirs = post(hub, &url, &social, TABLE, json!({ "year": 2024 })).await;
    assert!(theirs.get("errors").is_none(), "{theirs}");
    assert_eq!(hits(), before + 1, "no hit across scopes");
    assert!(hub.take_statements("programme") > 0);
    assert_ne!(theirs, first, "the social division counts other records");
    // Other variables are another answer.
    post(hub, &url, &employment, TABLE, json!({ "year": 2023 })).await;
    assert_eq!(hits(), before + 1);
    assert!(hub.take_statements("programme") > 0);

    // Person-level answers are never cached.
    let officer = principal(Role::Officer, &["ohjaamo"]);
    let clients = "{ clients(first: 5) { id district } }";
    for _ in 0..2 {
        let body = post(hub, &url, &officer, clients, json!({})).await;
        assert!(body.get("errors").is_none(), "{body}");
        assert!(hub.take_statements("programme") > 0, "read every time");
    }
    assert_eq!(hits(), before + 1);

    // Invalidation (what `kotohub seed` does) drops the answers.
    assert!(cache.invalidate().await);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    post(hub, &url, &employment, TABLE, json!({ "year": 2024 })).await;
    assert_eq!(hits(), before + 1, "a miss after invalidation");
    assert!(hub.take_statements("programme") > 0);

    // The metrics count what happened.
    let metrics = metrics_of(&url).await;
    for expected in [
        format!(
            "kotohub_cache_hits_total{{cache=\"{}\"}} {}",
            cache.name(),
            hits()
        ),
        "kotohub_requests_total{operation=\"Table\",outcome=\"ok\"} 5".to_owned(),
        "kotohub_requests_total{operation=\"anonymous\",outcome=\"ok\"} 2".to_owned(),
        "kotohub_audit_queue_depth 0".to_owned(),
    ] {
        assert!(metrics.contains(&expected), "{expected} in\n{metrics}");
    }
    assert!(
        metrics.contains("kotohub_subgraph_fetch_duration_seconds_count{subgraph=\"programme\"}"),
        "{metrics}"
    );
    shutdown.trigger();
}

async fn aggregate_answers_are_cached_per_scope_in_memory(backend: Database) {
    let Some(hub) = Hub::start_with(backend, 300).await else {
        return;
    };
    let cache = Cache::new("response", &Store::memory(), Duration::from_secs(60), 1000);
    scopes_never_share_answers(&hub, &cache).await;
    hub.stop().await;
}

async fn aggregate_answers_are_cached_per_scope_in_redis(backend: Database) {
    let Some(url) = redis_url() else {
        return;
    };
    let Some(hub) = Hub::start_with(backend, 300).await else {
        return;
    };
    let store = Store::new(&Settings {
        backend: Backend::Redis(url.clone()),
        timeout: Duration::from_millis(50),
    })
    .unwrap();
    assert!(store.connect(Duration::from_secs(5)).await, "Redis answers");
    // A name of its own, so the two backends' runs in one Redis never meet.
    let name: &'static str =
        Box::leak(format!("response-test-{backend:?}-{}", std::process::id()).into_boxed_str());
    let cache = Cache::new(name, &store, Duration::from_secs(60), 1000);
    scopes_never_share_answers(&hub, &cache).await;
    assert_eq!(
        cache.stats().fallbacks.load(Ordering::Relaxed),
        0,
        "all in Redis"
    );
    hub.stop().await;
}

/// A `redis-server` of this test's own, on a free port, that it may kill.
pub(crate) struct OwnRedis {
    child: Child,
    pub(crate) port: u16,
}

impl OwnRedis {
    pub(crate) fn start(port: u16) -> Option<Self> {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        match child {
            Ok(child) => Some(Self { child, port }),
            Err(error) => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "CI=true but redis-server cannot be started: {error}"
                );
                eprintln!("redis-server is not installed: Redis outage test skipped");
                None
            }
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn keys(&self, pattern: &str) -> usize {
        let output = Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "--scan", "--pattern", pattern])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).lines().count()
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn killing_redis_under_load_fails_no_request(backend: Database) {
    let port = free_port();
    let Some(mut redis) = OwnRedis::start(port) else {
        return;
    };
    let Some(hub) = Hub::start_with(backend, 300).await else {
        return;
    };
    let store = Store::new(&Settings {
        backend: Backend::Redis(format!("redis://127.0.0.1:{port}/")),
        // A few milliseconds, with room for the two cores being shared by the other tests.
        timeout: Duration::from_millis(10),
    })
    .unwrap();
    assert!(store.connect(Duration::from_secs(5)).await, "Redis answers");
    let cache = Cache::new("response", &store, Duration::from_secs(60), 1000);
    let (url, shutdown) = cached_gateway(&hub, &cache).await;
    let hub = Arc::new(hub);

    let failures = Arc::new(AtomicU64::new(0));
    let answered = Arc::new(AtomicU64::new(0));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(4);
    let load: Vec<_> = (0..8)
        .map(|worker| {
            let (hub, url) = (hub.clone(), url.clone());
            let (failures, answered) = (failures.clone(), answered.clone());
            let who = analyst(if worker % 2 == 0 {
                "employment"
            } else {
                "city"
            });
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut round = 0;
                while tokio::time::Instant::now() < deadline {
                    // A few years over and over: hits and misses both.
                    let year = 2018 + (round % 4);
                    round += 1;
                    let response = http
                        .post(&url)
                        .header("authorization", format!("Bearer {}", hub.token(&who)))
                        .json(&json!({ "query": TABLE, "variables": { "year": year } }))
                        .send()
                        .await;
                    let ok = match response {
                        Ok(response) if response.status() == 200 => {
                            response.json::<Value>().await.is_ok_and(|body| {
                                body.get("errors").is_none() && body["data"].is_object()
                            })
                        }
                        _ => false,
                    };
                    if ok {
                        answered.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(
        redis.keys("kotohub:response:*") > 0,
        "answers are kept in Redis"
    );
    redis.kill();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(!store.redis_up(), "the outage was noticed");
    let fallbacks = cache.stats().fallbacks.load(Ordering::Relaxed);
    assert!(fallbacks > 0, "answers came from process memory meanwhile");
    let mut redis = OwnRedis::start(port).expect("started once already");
    for task in load {
        task.await.unwrap();
    }
    assert_eq!(failures.load(Ordering::Relaxed), 0, "no request failed");
    assert!(answered.load(Ordering::Relaxed) > 50);

    // Back in use once it answers again: the store looks now and then, and under a full
    // test run on two cores the look and the restarted server may take seconds.
    let mut back = false;
    for _ in 0..150 {
        if store.redis_up() {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(back, "Redis is used again when it returns");
    post(
        &hub,
        &url,
        &analyst("employment"),
        TABLE,
        json!({ "year": 2020 }),
    )
    .await;
    assert!(
        redis.keys("kotohub:response:*") > 0,
        "answers are shared again"
    );
    redis.kill();
    shutdown.trigger();
    match Arc::try_unwrap(hub) {
        Ok(hub) => hub.stop().await,
        Err(_) => panic!("the load tasks are done"),
    }
}

async fn callers_over_their_rate_get_429_and_are_logged(backend: Database) {
    use kotohub_audit::entity::audit_event::{Column, Entity};
    use kotohub_cache::rate::{Limit, RateLimiter, Verdict};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let Some(hub) = Hub::start_with(backend, 50).await else {
        return;
    };
    let limits = kotohub_gateway::pipeline::RateLimits {
        limiter: RateLimiter::new(&Store::memory()),
        address: Some(Limit {
            per_second: 0.5,
            burst: 5,
        }),
        roles: std::collections::HashMap::from([(
            Role::Officer,
            Limit {
                per_second: 0.5,
                burst: 3,
            },
        )]),
    };
    let (url, shutdown) = gateway_with(
        &hub,
        GatewaySettings {
            rate_limits: Some(limits),
            ..GatewaySettings::default()
        },
    )
    .await;
    let http = reqwest::Client::new();
    let send = |who: Option<&Principal>, id: &str| {
        let mut request = http
            .post(&url)
            .header("x-request-id", id.to_owned())
            .json(&json!({ "query": "{ themes { id } }" }));
        if let Some(who) = who {
            request = request.header("authorization", format!("Bearer {}", hub.token(who)));
        }
        request.send()
    };
    let first = principal(Role::Officer, &["ohjaamo"]);
    for n in 0..3 {
        let response = send(Some(&first), &format!("rate-ok-{n}")).await.unwrap();
        assert_eq!(response.status(), 200);
    }
    let refused = send(Some(&first), "rate-refused").await.unwrap();
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "RATE_LIMITED",
        "{body}"
    );
    assert!(body.get("data").is_none(), "{body}");

    // Another principal has a bucket of its own.
    let other = Principal::new(
        "test-officer-2",
        [Role::Officer],
        ["helmi".to_owned()],
        None,
    );
    assert_eq!(
        send(Some(&other), "rate-other").await.unwrap().status(),
        200
    );

    // The refusal is in the access log, against the caller.
    let event = Entity::find()
        .filter(Column::RequestId.eq("rate-refused"))
        .one(&hub.audit)
        .await
        .unwrap()
        .expect("the refusal is logged");
    assert_eq!(event.status, 429);
    assert_eq!(event.decision, "refused");
    assert_eq!(event.subject.as_deref(), Some("test-officer"));
    assert!(event.error_codes.contains("RATE_LIMITED"));

    // The address's bucket (5) is spent by now, signed in or not: even a caller without a
    // token is refused before its token is looked at.
    let anonymous = send(None, "rate-address").await.unwrap();
    assert_eq!(anonymous.status(), 429);
    let metrics = metrics_of(&url).await;
    assert!(
        metrics.contains("kotohub_rate_limited_total 2"),
        "{metrics}"
    );
    assert!(
        metrics
            .contains("kotohub_requests_total{operation=\"anonymous\",outcome=\"rate_limited\"} 2"),
        "{metrics}"
    );
    shutdown.trigger();

    // Replicas share buckets through Redis: two limiters, one bucket.
    if let Some(redis) = redis_url() {
        let store = Store::new(&Settings {
            backend: Backend::Redis(redis),
            timeout: Duration::from_millis(50),
        })
        .unwrap();
        assert!(store.connect(Duration::from_secs(5)).await);
        let (one, two) = (RateLimiter::new(&store), RateLimiter::new(&store));
        let key = format!("test-{backend:?}-{}", std::process::id());
        let limit = Limit {
            per_second: 0.1,
            burst: 3,
        };
        assert_eq!(one.take(&key, limit).await, Verdict::Allowed);
        assert_eq!(two.take(&key, limit).await, Verdict::Allowed);
        assert_eq!(one.take(&key, limit).await, Verdict::Allowed);
        assert!(
            matches!(two.take(&key, limit).await, Verdict::Limited { retry_after } if retry_after > Duration::from_secs(5)),
            "the second replica sees the bucket the first spent"
        );
    }
    hub.stop().await;
}

async fn replicas_share_plans_through_redis(backend: Database) {
    let Some(url) = redis_url() else {
        return;
    };
    let Some(hub) = Hub::start_with(backend, 50).await else {
        return;
    };
    let store = Store::new(&Settings {
        backend: Backend::Redis(url),
        timeout: Duration::from_millis(50),
    })
    .unwrap();
    assert!(store.connect(Duration::from_secs(5)).await);
    let name: &'static str =
        Box::leak(format!("plan-test-{backend:?}-{}", std::process::id()).into_boxed_str());
    // Two replicas: each its own planner and its own handle on the shared plans.
    let replica = |cache: Cache| GatewaySettings {
        plan_cache: Some(cache),
        ..GatewaySettings::default()
    };
    let first_cache = Cache::new(name, &store, Duration::from_secs(60), 100);
    let second_cache = Cache::new(name, &store, Duration::from_secs(60), 100);
    let (first, stop_first) = gateway_with(&hub, replica(first_cache.clone())).await;
    let (second, stop_second) = gateway_with(&hub, replica(second_cache.clone())).await;
    let officer = principal(Role::Officer, &["ohjaamo"]);
    let query =
        "query Shared { measure(id: \"1.3\") { id networkingEvents(first: 3) { heldOn } } }";
    let planned = post(&hub, &first, &officer, query, json!({})).await;
    assert!(planned.get("errors").is_none(), "{planned}");
    assert_eq!(
        first_cache.stats().hits.load(Ordering::Relaxed),
        0,
        "the first replica planned"
    );
    let shared = post(&hub, &second, &officer, query, json!({})).await;
    assert_eq!(shared, planned, "the shared plan answers the same");
    assert_eq!(
        second_cache.stats().hits.load(Ordering::Relaxed),
        1,
        "the second replica took the first one's plan"
    );
    // From then on the second replica has the plan itself.
    post(&hub, &second, &officer, query, json!({})).await;
    assert_eq!(second_cache.stats().hits.load(Ordering::Relaxed), 1);
    stop_first.trigger();
    stop_second.trigger();
    hub.stop().await;
}
