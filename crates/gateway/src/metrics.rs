//! The gateway's metrics, served at `GET /metrics` in Prometheus' text format: requests by
//! operation and outcome with their latency, each subgraph's fetch latency and errors,
//! cache hits and misses, rate-limit refusals and the access log's queue. Counted with
//! atomics and small maps on the request path; rendered only when scraped. Operation
//! names come from clients, so at most [`MAX_OPERATIONS`] of them get series of their own.
//! No label ever holds a person's data: operation names, subgraph and cache names only.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Distinct operation names counted before the rest are counted as `other`.
pub const MAX_OPERATIONS: usize = 200;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// A latency histogram with fixed buckets.
#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(
            out,
            "{name}_sum{braces} {}",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count{braces} {count}");
    }
}

/// What the gateway counts.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<Requests>,
    request_seconds: Histogram,
    fetches: Mutex<BTreeMap<String, std::sync::Arc<Histogram>>>,
    fetch_errors: Mutex<BTreeMap<String, u64>>,
}

/// Request counts by operation and outcome, and the operation names counted so far.
#[derive(Default)]
struct Requests {
    counts: BTreeMap<(String, &'static str), u64>,
    operations: std::collections::BTreeSet<String>,
}

/// Label values are quoted; a name with anything but plain characters is not a label.
fn plain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

impl Metrics {
    /// One request to the gateway: its operation (if it had a name), how it ended, how
    /// long it took.
    pub fn request(&self, operation: Option<&str>, outcome: &'static str, elapsed: Duration) {
        self.request_seconds.observe(elapsed);
        let Ok(mut requests) = self.requests.lock() else {
            return;
        };
        let name = match operation {
            None => "anonymous",
            Some(name) if !plain(name) => "other",
            Some(name) => name,
        };
        let name = if requests.operations.contains(name) {
            name
        } else if requests.operations.len() < MAX_OPERATIONS {
            requests.operations.insert(name.to_owned());
            name
        } else {
            "other"
        };
        *requests
            .counts
            .entry((name.to_owned(), outcome))
            .or_default() += 1;
    }

    /// One fetch from `subgraph`, answered or not.
    pub fn fetch(&self, subgraph: &str, elapsed: Duration, failed: bool) {
        let histogram = {
            let Ok(mut fetches) = self.fetches.lock() else {
                return;
            };
            fetches.entry(subgraph.to_owned()).or_default().clone()
        };
        histogram.observe(elapsed);
        if failed && let Ok(mut errors) = self.fetch_errors.lock() {
            *errors.entry(subgraph.to_owned()).or_default() += 1;
        }
    }

    /// The counters in Prometheus' text format, followed by `extra` lines.
    pub fn render(&self, extra: &[Family]) -> String {
        let mut out = String::new();
        out.push_str("# HELP kotohub_requests_total Requests to the gateway by operation name and outcome.\n# TYPE kotohub_requests_total counter\n");
        if let Ok(requests) = self.requests.lock() {
            for ((operation, outcome), count) in requests.counts.iter() {
                let _ = writeln!(
                    out,
                    "kotohub_requests_total{{operation=\"{operation}\",outcome=\"{outcome}\"}} {count}"
                );
            }
        }
        out.push_str("# HELP kotohub_request_duration_seconds Time from a request's arrival to its answer.\n# TYPE kotohub_request_duration_seconds histogram\n");
        self.request_seconds
            .render(&mut out, "kotohub_request_duration_seconds", "");
        out.push_str("# HELP kotohub_subgraph_fetch_duration_seconds Time of each fetch from a subgraph.\n# TYPE kotohub_subgraph_fetch_duration_seconds histogram\n");
        if let Ok(fetches) = self.fetches.lock() {
            for (subgraph, histogram) in fetches.iter() {
                histogram.render(
                    &mut out,
                    "kotohub_subgraph_fetch_duration_seconds",
                    &format!("subgraph=\"{subgraph}\""),
                );
            }
        }
        out.push_str("# HELP kotohub_subgraph_fetch_errors_total Fetches a subgraph did not answer, or answered with something unreadable.\n# TYPE kotohub_subgraph_fetch_errors_total counter\n");
        if let Ok(errors) = self.fetch_errors.lock() {
            for (subgraph, count) in errors.iter() {
                let _ = writeln!(
                    out,
                    "kotohub_subgraph_fetch_errors_total{{subgraph=\"{subgraph}\"}} {count}"
                );
            }
        }
        for family in extra {
            let _ = writeln!(out, "# HELP {} {}", family.name, family.help);
            let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind);
            for (labels, value) in &family.samples {
                if labels.is_empty() {
                    let _ = writeln!(out, "{} {value}", family.name);
                } else {
                    let _ = writeln!(out, "{}{{{labels}}} {value}", family.name);
                }
            }
        }
        out
    }
}

/// A metric family counted elsewhere (caches, rate limits, the access log).
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    /// `counter` or `gauge`.
    pub kind: &'static str,
    /// Rendered labels (`cache="response"`) and values.
    pub samples: Vec<(String, u64)>,
}

/// The gateway's whole `/metrics` text.
impl crate::pipeline::Gateway {
    /// What the gateway counts, as `GET /metrics` serves it: its own counters, its
    /// caches', its rate limits' and the access log's queue.
    pub fn metrics_text(&self) -> String {
        let mut extra = Vec::new();
        if let Some(cache) = self.response_cache() {
            let label = format!("cache=\"{}\"", cache.name());
            let stats = cache.stats();
            for (name, help, value) in [
                (
                    "kotohub_cache_hits_total",
                    "Answers found in a cache.",
                    &stats.hits,
                ),
                (
                    "kotohub_cache_misses_total",
                    "Answers not found in a cache.",
                    &stats.misses,
                ),
                (
                    "kotohub_cache_fallbacks_total",
                    "Cache reads and writes served in process because Redis was unavailable.",
                    &stats.fallbacks,
                ),
            ] {
                extra.push(Family {
                    name,
                    help,
                    kind: "counter",
                    samples: vec![(label.clone(), value.load(Ordering::Relaxed))],
                });
            }
            extra.push(Family {
                name: "kotohub_cache_redis_up",
                help: "Whether the caches' Redis answers (1) or they run in process (0).",
                kind: "gauge",
                samples: vec![(String::new(), u64::from(cache.store().redis_up()))],
            });
        }
        if let Some(limits) = self.rate_limits() {
            extra.push(Family {
                name: "kotohub_rate_limited_total",
                help: "Requests refused with 429 by a rate limit.",
                kind: "counter",
                samples: vec![(String::new(), limits.limiter.refusals())],
            });
        }
        if let Some(log) = self.audit() {
            extra.push(Family {
                name: "kotohub_audit_queue_depth",
                help: "Access-log events waiting to be written.",
                kind: "gauge",
                samples: vec![(String::new(), log.queue_depth() as u64)],
            });
        }
        self.metrics().render(&extra)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms_in_prometheus_text() {
        let metrics = Metrics::default();
        metrics.request(Some("Dashboard"), "ok", Duration::from_millis(3));
        metrics.request(Some("Dashboard"), "ok", Duration::from_millis(30));
        metrics.request(Some("bad\"name"), "refused", Duration::from_millis(1));
        metrics.fetch("programme", Duration::from_millis(2), false);
        metrics.fetch("programme", Duration::from_millis(2), true);
        let text = metrics.render(&[Family {
            name: "kotohub_cache_hits_total",
            help: "Hits.",
            kind: "counter",
            samples: vec![("cache=\"response\"".to_owned(), 7)],
        }]);
        assert!(text.contains("kotohub_requests_total{operation=\"Dashboard\",outcome=\"ok\"} 2"));
        assert!(text.contains("kotohub_requests_total{operation=\"other\",outcome=\"refused\"} 1"));
        assert!(text.contains("kotohub_request_duration_seconds_bucket{le=\"0.005\"} 2"));
        assert!(text.contains("kotohub_request_duration_seconds_count 3"));
        assert!(text.contains(
            "kotohub_subgraph_fetch_duration_seconds_bucket{subgraph=\"programme\",le=\"+Inf\"} 2"
        ));
        assert!(text.contains("kotohub_subgraph_fetch_errors_total{subgraph=\"programme\"} 1"));
        assert!(text.contains("kotohub_cache_hits_total{cache=\"response\"} 7"));
    }

    #[test]
    fn operation_names_beyond_the_cap_are_counted_as_other() {
        let metrics = Metrics::default();
        for n in 0..MAX_OPERATIONS + 5 {
            metrics.request(Some(&format!("Op{n}")), "ok", Duration::from_millis(1));
        }
        let text = metrics.render(&[]);
        assert!(text.contains("operation=\"other\",outcome=\"ok\"} 5"));
    }
}
