//! The gateway benchmark: seeds a temporary embedded hub, starts the subgraphs and the
//! gateway in this process, and drives typical operations at several concurrencies,
//! reporting requests per second, p50/p99 latency and peak memory. The single-subgraph
//! operation is also sent straight to its subgraph, which gives the gateway's overhead,
//! and the gateway operations go through a second gateway that writes the access log,
//! which gives the cost of auditing.
//!
//! Run on demand, in release mode: `cargo run --release --bin kotohub-bench`. Load is
//! generated in the same process, so client and servers share the machine's cores; the
//! figures compare operations with each other, not with another machine.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use kotohub::databases::{open_all, sqlite_url};
use kotohub::services::{self, GatewaySettings, Shutdown};
use kotohub::{SUBGRAPHS, seed};
use kotohub_auth::internal::{self, InternalKey};
use kotohub_auth::{Authenticator, DevIssuer, Policy, Principal, Role, keys};
use kotohub_gateway::authorize::Access;
use kotohub_subgraph::serve::Guard;
use serde_json::{Value, json};

#[derive(Parser)]
#[command(about = "Benchmarks the gateway against the embedded subgraphs")]
struct Args {
    /// Synthetic clients to seed.
    #[arg(long, default_value_t = 10_000)]
    clients: u32,
    /// Seconds each operation runs at each concurrency.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Concurrencies to run, comma-separated.
    #[arg(long, default_value = "1,16,64", value_delimiter = ',')]
    concurrency: Vec<usize>,
    /// Instead of the gateway: write this many events to a fresh access log from 64
    /// writers at once, then time `kotohub audit verify` over them.
    #[arg(long)]
    audit_events: Option<u64>,
    /// Also run the analysts' dashboard with its response cache in this Redis
    /// (`redis://127.0.0.1:6379`).
    #[arg(long)]
    redis: Option<String>,
    /// Trace every request as a deployment with a collector would (every span built
    /// and sampled); spans go to the OTLP collector that `OTEL_EXPORTER_OTLP_*` names,
    /// else nowhere.
    #[arg(long)]
    traced: bool,
    /// Instead of the gateway's operations: the city-scale operations of officers and
    /// analysts (`docs/benchmarks.md`), on a hub seeded once with `--clients` and kept,
    /// in `--data-dir` (SQLite) or `--postgres`.
    #[arg(long)]
    scale: bool,
    /// With --scale: where the SQLite databases are kept between runs (seeded when
    /// empty).
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
    /// With --scale: a PostgreSQL database whose subgraph schemas are used instead
    /// (seeded when empty).
    #[arg(long)]
    postgres: Option<String>,
}

/// Fills a fresh SQLite access log with `count` events and times writing and verifying.
async fn audit_log_bench(dir: &std::path::Path, count: u64) -> Result<()> {
    let db = kotohub::databases::open(kotohub::AUDIT, &sqlite_url(dir, kotohub::AUDIT)).await?;
    kotohub::databases::migrate(kotohub::AUDIT, &db).await?;
    let log = kotohub_audit::AuditLog::start(db.clone()).await?;
    let written = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let writers: Vec<_> = (0..64)
        .map(|writer| {
            let log = log.clone();
            let written = written.clone();
            tokio::spawn(async move {
                while written.fetch_add(1, Ordering::Relaxed) < count {
                    let event = kotohub_audit::Event {
                        request_id: format!("bench-{writer}"),
                        subject: Some("bench-officer".to_owned()),
                        roles: vec!["officer".to_owned()],
                        bodies: vec!["ohjaamo".to_owned()],
                        fields: vec!["Query.clients".to_owned(), "Client.name".to_owned()],
                        client_ids: vec!["c0000001".to_owned(), "c0000002".to_owned()],
                        status: 200,
                        ..Default::default()
                    };
                    log.record(event).await.map_err(|e| anyhow::anyhow!(e))?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for writer in writers {
        writer.await??;
    }
    let took = started.elapsed();
    println!(
        "wrote {count} events in {:.1} s ({:.0} events/s, 64 writers)",
        took.as_secs_f64(),
        count as f64 / took.as_secs_f64()
    );
    let started = Instant::now();
    let verdict = kotohub_audit::chain::verify(&db, None).await?;
    println!(
        "verified: {verdict:?} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    if let Some(peak) = peak_rss_mib() {
        println!("peak RSS: {peak:.0} MiB");
    }
    Ok(())
}

/// The secrets of one bench run, made fresh: what signs the callers' tokens and the
/// principals the gateway forwards.
struct Keys {
    policy: Arc<Policy>,
    internal_secret: String,
    dev_secret: String,
    issuer: DevIssuer,
}

impl Keys {
    fn new() -> Result<Keys> {
        let dev_secret = keys::random_key()?;
        Ok(Keys {
            policy: Arc::new(kotohub::access::policy()?),
            internal_secret: keys::random_key()?,
            issuer: DevIssuer::new(&dev_secret, "bench", "kotohub"),
            dev_secret,
        })
    }

    /// A bearer token of `principal`, as the header that carries it.
    fn bearer(&self, principal: &Principal) -> (&'static str, String) {
        let token = self.issuer.mint(principal, Duration::from_secs(3600));
        ("authorization", format!("Bearer {token}"))
    }

    /// What the subgraphs check the gateway's forwarded principals with.
    fn guard(&self) -> Guard {
        Guard::new(InternalKey::new(&self.internal_secret), self.policy.clone())
    }

    /// A gateway's access checks.
    fn access(&self) -> Access {
        Access {
            authenticator: Authenticator::shared_secret(&self.dev_secret, "bench", "kotohub"),
            policy: Arc::new(kotohub::access::CedarPolicy(self.policy.clone())),
            internal: InternalKey::new(&self.internal_secret),
        }
    }
}

/// The five subgraphs over `dbs`, each on a free loopback port.
fn hub_services<'a>(
    dbs: &seed::Databases,
    shutdown: &'a Shutdown,
) -> Result<Vec<services::SubgraphService<'a>>> {
    SUBGRAPHS
        .into_iter()
        .map(|name| {
            Ok(services::SubgraphService {
                name,
                db: dbs.get(name).context("a database per subgraph")?.clone(),
                listen: "127.0.0.1:0".parse()?,
                shutdown,
            })
        })
        .collect()
}

/// An operation and where it is sent.
struct Scenario {
    name: &'static str,
    target: &'static str,
    query: &'static str,
}

const DASHBOARD: &str = r#"{ measure(id: "1.3") { id summary networkingEvents(first: 50) { heldOn district languages participantCount } } measures(theme: 1) { id responsibleBodies { name } } }"#;
const OFFICER: &str = r#"{ measure(id: "1.1") { skillAssessments(first: 50) { assessedOn level client { name district employmentOutcomes { kind occurredOn } } } } }"#;
const SINGLE: &str =
    r#"{ skillAssessments(measure: "1.1", first: 50) { assessedOn level skillArea } }"#;

/// A division dashboard's table: the analysts' aggregate query the response cache keeps.
const ANALYST: &str = r#"{ clientStatistics(by: [MEASURE, YEAR]) { suppressedCells cells { measureId year clients suppressed } } }"#;

/// `SINGLE` saved as a query of Helsinki Skill Center, run by name.
const SAVED: &str = r#"{ runSavedQuery(name: "bench-single") }"#;

const SCENARIOS: [Scenario; 10] = [
    Scenario {
        name: "dashboard: programme + employment",
        target: "gateway",
        query: DASHBOARD,
    },
    Scenario {
        name: "officer: measure → assessments → clients → outcomes",
        target: "gateway",
        query: OFFICER,
    },
    Scenario {
        name: "one subgraph, through the gateway",
        target: "gateway",
        query: SINGLE,
    },
    Scenario {
        name: "one subgraph, direct",
        target: "employment",
        query: SINGLE,
    },
    Scenario {
        name: "dashboard, access log on",
        target: "gateway-audited",
        query: DASHBOARD,
    },
    Scenario {
        name: "one subgraph, through the gateway, access log on",
        target: "gateway-audited",
        query: SINGLE,
    },
    Scenario {
        name: "the same, as a saved query (runSavedQuery)",
        target: "gateway",
        query: SAVED,
    },
    Scenario {
        name: "analyst dashboard, computed every time (cold)",
        target: "gateway-cold",
        query: ANALYST,
    },
    Scenario {
        name: "analyst dashboard, response cache warm (in process)",
        target: "gateway-warm",
        query: ANALYST,
    },
    Scenario {
        name: "analyst dashboard, response cache warm (Redis)",
        target: "gateway-redis",
        query: ANALYST,
    },
];

struct Measured {
    requests: u64,
    failures: u64,
    per_second: f64,
    p50: Duration,
    p95: Duration,
    p99: Duration,
}

/// Sends `query` to `url` with the header `credential` (a bearer token for the gateway, a
/// signed principal for a subgraph), from `concurrency` tasks for `seconds`.
async fn drive(
    url: &str,
    credential: &(&'static str, String),
    query: &str,
    concurrency: usize,
    seconds: u64,
) -> Measured {
    let http = reqwest::Client::new();
    let body = Arc::new(json!({ "query": query }).to_string());
    let failures = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, body, failures, url) = (http.clone(), body.clone(), failures.clone(), url.to_owned());
            let credential = credential.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let ok = match http.post(&url).header("content-type", "application/json").header(credential.0, &credential.1).body(body.as_str().to_owned()).send().await {
                        Ok(response) if response.status().is_success() => {
                            matches!(response.json::<Value>().await, Ok(v) if v.get("errors").is_none())
                        }
                        _ => false,
                    };
                    latencies.push(sent.elapsed());
                    if !ok {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap_or_default());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Measured {
        requests: latencies.len() as u64,
        failures: failures.load(Ordering::Relaxed),
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p95: at(0.95),
        p99: at(0.99),
    }
}

fn peak_rss_mib() -> Option<f64> {
    status_mib("VmHWM:")
}

/// A size `/proc/self/status` reports, in MiB.
fn status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    // Without --traced nothing subscribes, as in the embedded default, where text logs
    // leave every span unbuilt.
    let telemetry = if args.traced {
        Some(kotohub_telemetry::init(&kotohub_telemetry::Settings {
            log_filter: "warn",
            // JSON logs are what turn spans on without a collector.
            json: true,
            trace_filter: "info",
            service_name: "kotohub-bench",
        })?)
    } else {
        None
    };
    let result = bench(args).await;
    if let Some(telemetry) = telemetry {
        telemetry.shutdown();
    }
    result
}

async fn bench(args: Args) -> Result<()> {
    if args.scale {
        return scale_bench(&args).await;
    }
    let dir = std::env::temp_dir().join(format!("kotohub-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    if let Some(count) = args.audit_events {
        let result = audit_log_bench(&dir, count).await;
        std::fs::remove_dir_all(&dir).ok();
        return result;
    }
    let dbs = open_all(|name| sqlite_url(&dir, name), true).await?;
    let summary = seed::seed(&dbs, args.clients, 2017).await?;
    eprintln!("seeded {} clients ({} rows)", summary.clients, summary.rows);

    // The officer of the bodies whose measures the operations read, so that the row
    // rules are exercised and the answers are not empty.
    let officer = Principal::new(
        "bench-officer",
        [Role::Officer],
        [
            "helsinki-skill-center".to_owned(),
            "immigration-employment-services".to_owned(),
        ],
        None,
    );
    let keys = Keys::new()?;
    let policy = keys.policy.clone();
    let officer_bearer = keys.bearer(&officer);
    let analyst = Principal::new(
        "bench-analyst",
        [Role::Analyst],
        [],
        Some("employment".to_owned()),
    );
    let analyst_bearer = keys.bearer(&analyst);
    let internal_key = InternalKey::new(&keys.internal_secret);
    let guard = keys.guard();
    let access = || keys.access();

    let shutdown = Shutdown::new();
    let settings = GatewaySettings::default();
    // The saved-query subgraph, with the one-subgraph operation saved for the officer.
    let queries_db =
        kotohub::databases::open(kotohub::QUERIES, &sqlite_url(&dir, kotohub::QUERIES)).await?;
    kotohub::databases::migrate(kotohub::QUERIES, &queries_db).await?;
    let checks = kotohub::checks::SaveChecks::new(
        policy.clone(),
        &kotohub::services::SubgraphSettings::default().purposes,
    )
    .map_err(anyhow::Error::msg)?;
    let all = kotohub_auth::SavedQueryScope::All;
    kotohub_queries::store::save(
        &queries_db,
        &checks,
        &kotohub_queries::store::Actor {
            subject: "bench",
            bodies: &[],
            read: &all,
            manage: &all,
        },
        kotohub_queries::store::SaveInput {
            name: "bench-single".to_owned(),
            title: "Assessments".to_owned(),
            owner_body: Some("helsinki-skill-center".to_owned()),
            document: SINGLE.to_owned(),
            ..Default::default()
        },
    )
    .await?;
    let mut services = hub_services(&dbs, &shutdown)?;
    services.push(services::SubgraphService {
        name: kotohub::QUERIES,
        db: queries_db,
        listen: "127.0.0.1:0".parse()?,
        shutdown: &shutdown,
    });
    let running =
        services::start_subgraphs(services, &guard, &services::SubgraphSettings::default()).await?;
    let mut urls = services::urls_of(&running);
    let subgraph_urls = urls.clone();
    let gateway = services::gateway_router(
        services::SUPERGRAPH,
        &subgraph_urls,
        &settings,
        Some(access()),
        None,
    )?;
    let running = services::start("gateway", "127.0.0.1:0".parse()?, gateway, &shutdown).await?;
    urls.insert(
        "gateway".to_owned(),
        format!("http://{}/graphql", running.addr),
    );
    let audit_db =
        kotohub::databases::open(kotohub::AUDIT, &sqlite_url(&dir, kotohub::AUDIT)).await?;
    kotohub::databases::migrate(kotohub::AUDIT, &audit_db).await?;
    let audit = kotohub_audit::AuditLog::start(audit_db.clone()).await?;
    let audited = services::gateway_router(
        services::SUPERGRAPH,
        &subgraph_urls,
        &settings,
        Some(access()),
        Some(audit),
    )?;
    let running = services::start(
        "gateway-audited",
        "127.0.0.1:0".parse()?,
        audited,
        &shutdown,
    )
    .await?;
    urls.insert(
        "gateway-audited".to_owned(),
        format!("http://{}/graphql", running.addr),
    );

    // The analysts' gateways: one that computes every table (what every request costs
    // while the cache is cold), one keeping answers in process, and one in Redis.
    let cached = |cache: kotohub_cache::Cache| GatewaySettings {
        response_cache: Some(cache),
        ..GatewaySettings::default()
    };
    let memory = kotohub_cache::Store::memory();
    let mut analyst_gateways = vec![
        ("gateway-cold", GatewaySettings::default()),
        (
            "gateway-warm",
            cached(kotohub_cache::Cache::new(
                "response",
                &memory,
                Duration::from_secs(300),
                10_000,
            )),
        ),
    ];
    if let Some(url) = &args.redis {
        let store = kotohub_cache::Store::new(&kotohub_cache::Settings {
            backend: kotohub_cache::Backend::Redis(url.clone()),
            timeout: Duration::from_millis(5),
        })?;
        anyhow::ensure!(
            store.connect(Duration::from_secs(5)).await,
            "Redis at {url} does not answer"
        );
        let cache = kotohub_cache::Cache::new("response", &store, Duration::from_secs(300), 10_000);
        cache.invalidate().await;
        analyst_gateways.push(("gateway-redis", cached(cache)));
    }
    for (name, settings) in analyst_gateways {
        let router = services::gateway_router(
            services::SUPERGRAPH,
            &subgraph_urls,
            &settings,
            Some(access()),
            None,
        )?;
        let running = services::start(name, "127.0.0.1:0".parse()?, router, &shutdown).await?;
        urls.insert(name.to_owned(), format!("http://{}/graphql", running.addr));
    }

    println!("| operation | concurrency | requests/s | p50 | p99 | failed |");
    println!("|---|---|---|---|---|---|");
    let mut per_second: HashMap<(&str, usize), f64> = HashMap::new();
    for scenario in &SCENARIOS {
        let Some(url) = urls.get(scenario.target) else {
            // The Redis scenario without --redis.
            continue;
        };
        let credential = if scenario.query == ANALYST {
            analyst_bearer.clone()
        } else if scenario.target.starts_with("gateway") {
            officer_bearer.clone()
        } else {
            // Signed per scenario (a signed principal lives a minute) for the subgraph
            // the scenario calls directly.
            (
                internal::HEADER,
                internal_key.sign(&officer, scenario.target, "kotohub-bench"),
            )
        };
        // Warm the connection pools and the plan cache.
        drive(url, &credential, scenario.query, 4, 1).await;
        for &concurrency in &args.concurrency {
            let m = drive(url, &credential, scenario.query, concurrency, args.seconds).await;
            per_second.insert((scenario.name, concurrency), m.per_second);
            println!(
                "| {} | {concurrency} | {:.0} | {:.2} ms | {:.2} ms | {} of {} |",
                scenario.name,
                m.per_second,
                m.p50.as_secs_f64() * 1e3,
                m.p99.as_secs_f64() * 1e3,
                m.failures,
                m.requests
            );
        }
    }
    println!();
    for &concurrency in &args.concurrency {
        let through = per_second[&(SCENARIOS[2].name, concurrency)];
        let direct = per_second[&(SCENARIOS[3].name, concurrency)];
        println!(
            "overhead at concurrency {concurrency}: direct/gateway throughput = {:.2}",
            direct / through
        );
    }
    for &concurrency in &args.concurrency {
        let (plain, audited) = (
            per_second[&(SCENARIOS[0].name, concurrency)],
            per_second[&(SCENARIOS[4].name, concurrency)],
        );
        let (single, single_audited) = (
            per_second[&(SCENARIOS[2].name, concurrency)],
            per_second[&(SCENARIOS[5].name, concurrency)],
        );
        println!(
            "access log at concurrency {concurrency}: dashboard {:+.1} %, one subgraph {:+.1} % throughput",
            (audited / plain - 1.0) * 100.0,
            (single_audited / single - 1.0) * 100.0
        );
    }
    for &concurrency in &args.concurrency {
        let (ad_hoc, saved) = (
            per_second[&(SCENARIOS[2].name, concurrency)],
            per_second[&(SCENARIOS[6].name, concurrency)],
        );
        println!(
            "saved query at concurrency {concurrency}: {:+.1} % throughput against the same operation sent whole",
            (saved / ad_hoc - 1.0) * 100.0
        );
    }
    for &concurrency in &args.concurrency {
        let cold = per_second[&(SCENARIOS[7].name, concurrency)];
        let warm = per_second[&(SCENARIOS[8].name, concurrency)];
        let redis = per_second
            .get(&(SCENARIOS[9].name, concurrency))
            .map_or_else(String::new, |redis| {
                format!(", in Redis {:.1}×", redis / cold)
            });
        println!(
            "response cache at concurrency {concurrency}: warm in process {:.1}× the cold throughput{redis}",
            warm / cold
        );
    }
    let started = Instant::now();
    let verdict = kotohub_audit::chain::verify(&audit_db, None).await?;
    println!(
        "kotohub audit verify over the run's log: {verdict:?} in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    if let Some(peak) = peak_rss_mib() {
        println!(
            "peak RSS of the whole process (gateway, five subgraphs and load generator): {peak:.0} MiB"
        );
    }
    shutdown.trigger();
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// The officers' and analysts' operations at city scale: a point lookup of a client the
/// officer's body does not serve and of one it serves, a page of its clients, lists of 50
/// records with their clients, and the analysts' breakdowns computed (cold) and kept
/// (warm) — each at every `--concurrency`, reported with p50, p95 and p99.
async fn scale_bench(args: &Args) -> Result<()> {
    let (dbs, place) = match (&args.postgres, &args.data_dir) {
        (Some(url), _) => (
            open_all(|_| url.clone(), true).await?,
            "PostgreSQL".to_owned(),
        ),
        (None, dir) => {
            let dir = dir.clone().unwrap_or_else(|| {
                std::env::temp_dir().join(format!("kotohub-scale-{}", args.clients))
            });
            std::fs::create_dir_all(&dir)?;
            let place = format!("SQLite in {}", dir.display());
            (open_all(|name| sqlite_url(&dir, name), true).await?, place)
        }
    };
    if seed::has_clients(&dbs.programme).await? {
        eprintln!("{place}: seeded before, used as it is");
    } else {
        let summary = seed::seed(&dbs, args.clients, 2017).await?;
        eprintln!(
            "{place}: seeded {} clients ({} rows) in {:.0} s",
            summary.clients,
            summary.rows,
            summary.took.as_secs_f64()
        );
    }
    let (served, not_served) = ohjaamo_clients(&dbs.programme).await?;

    // What the analysts' breakdowns wait for once after a start or a change of the
    // register: reading its client facts into memory, and the memory they then take.
    let before = status_mib("VmRSS:");
    let started = Instant::now();
    let register = kotohub_programme::register::Register::new(dbs.programme.clone());
    let facts = register.facts().await?;
    let took = started.elapsed();
    let grown = status_mib("VmRSS:")
        .zip(before)
        .map(|(after, before)| after - before);
    println!(
        "read the register's {} client facts into memory in {:.1} s: {:.0} MiB of columns; \
         resident memory grew {} while reading",
        facts.len(),
        took.as_secs_f64(),
        facts.bytes() as f64 / f64::from(1 << 20),
        grown.map_or_else(
            || "by an unknown amount".to_owned(),
            |mib| format!("by {mib:.0} MiB")
        )
    );
    let refresh = refresh_after_import(&dbs.programme, &register).await?;
    println!("{refresh}");
    drop((facts, register));

    let keys = Keys::new()?;
    let ohjaamo = keys.bearer(&Principal::new(
        "bench-ohjaamo",
        [Role::Officer],
        ["ohjaamo".to_owned()],
        None,
    ));
    let skill_center = keys.bearer(&Principal::new(
        "bench-skill-center",
        [Role::Officer],
        ["helsinki-skill-center".to_owned()],
        None,
    ));
    let analyst = keys.bearer(&Principal::new(
        "bench-analyst",
        [Role::Analyst],
        [],
        Some("employment".to_owned()),
    ));
    let guard = keys.guard();
    let shutdown = Shutdown::new();
    let services = hub_services(&dbs, &shutdown)?;
    let running =
        services::start_subgraphs(services, &guard, &services::SubgraphSettings::default()).await?;
    let subgraph_urls = services::urls_of(&running);
    let memory = kotohub_cache::Store::memory();
    let mut gateways = HashMap::new();
    for (name, cache) in [
        ("cold", None),
        (
            "warm",
            Some(kotohub_cache::Cache::new(
                "response",
                &memory,
                Duration::from_secs(3600),
                10_000,
            )),
        ),
    ] {
        let settings = GatewaySettings {
            response_cache: cache,
            ..GatewaySettings::default()
        };
        let router = services::gateway_router(
            services::SUPERGRAPH,
            &subgraph_urls,
            &settings,
            Some(keys.access()),
            None,
        )?;
        let running = services::start("gateway", "127.0.0.1:0".parse()?, router, &shutdown).await?;
        gateways.insert(name, format!("http://{}/graphql", running.addr));
    }

    let by_measure_and_year = r#"{ clientStatistics(by: [MEASURE, YEAR]) { suppressedCells cells { measureId year clients suppressed } } }"#;
    let by_three = r#"{ clientStatistics(by: [DISTRICT, MOTHER_TONGUE_GROUP, AGE_GROUP]) { suppressedCells cells { district motherTongueGroup ageGroup clients suppressed } } }"#;
    let operations: Vec<(String, &str, &(&str, String), String)> = vec![
        (
            "officer: client(id:), not served (null)".to_owned(),
            "cold",
            &ohjaamo,
            format!(r#"{{ client(id: "{not_served}") {{ name }} }}"#),
        ),
        (
            "officer: client(id:), served, with guidance sessions".to_owned(),
            "cold",
            &ohjaamo,
            format!(r#"{{ client(id: "{served}") {{ name guidanceSessions {{ heldOn }} }} }}"#),
        ),
        (
            "officer: clients(first: 100)".to_owned(),
            "cold",
            &ohjaamo,
            "{ clients(first: 100) { id district } }".to_owned(),
        ),
        (
            "officer: 50 guidance sessions of 1.3 with clients".to_owned(),
            "cold",
            &ohjaamo,
            r#"{ measure(id: "1.3") { guidanceSessions(first: 50) { heldOn client { id district motherTongue } } } }"#.to_owned(),
        ),
        (
            "officer: 50 assessments of 1.1, names and outcomes".to_owned(),
            "cold",
            &skill_center,
            OFFICER.to_owned(),
        ),
        (
            "analyst: by MEASURE, YEAR, cold".to_owned(),
            "cold",
            &analyst,
            by_measure_and_year.to_owned(),
        ),
        (
            "analyst: by DISTRICT, MOTHER_TONGUE_GROUP, AGE_GROUP, cold".to_owned(),
            "cold",
            &analyst,
            by_three.to_owned(),
        ),
        (
            "analyst: by MEASURE, YEAR, warm".to_owned(),
            "warm",
            &analyst,
            by_measure_and_year.to_owned(),
        ),
        (
            "analyst: by DISTRICT, MOTHER_TONGUE_GROUP, AGE_GROUP, warm".to_owned(),
            "warm",
            &analyst,
            by_three.to_owned(),
        ),
    ];
    // The subgraph reads the register on start: wait for that before measuring anything.
    drive(&gateways["cold"], &analyst, by_measure_and_year, 1, 1).await;
    println!("{place}, {} clients", args.clients);
    println!("| operation | concurrency | requests/s | p50 | p95 | p99 | failed |");
    println!("|---|---|---|---|---|---|---|");
    for (name, gateway, credential, query) in &operations {
        let url = &gateways[gateway];
        // One request first: the connection pools, and the warm gateway's kept answer.
        drive(url, credential, query, 1, 1).await;
        for &concurrency in &args.concurrency {
            let m = drive(url, credential, query, concurrency, args.seconds).await;
            println!(
                "| {name} | {concurrency} | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms | {} of {} |",
                m.per_second,
                m.p50.as_secs_f64() * 1e3,
                m.p95.as_secs_f64() * 1e3,
                m.p99.as_secs_f64() * 1e3,
                m.failures,
                m.requests
            );
        }
    }
    if let Some(peak) = peak_rss_mib() {
        println!("peak RSS of the whole process: {peak:.0} MiB");
    }
    shutdown.trigger();
    Ok(())
}

/// How long the first breakdown after an import waits for the register in memory to
/// catch up: 1,000 facts are added for the clients of the first 1,000 (as an import of
/// 1,000 records adds them), then taken away again, and each time the copy is brought
/// up to date.
async fn refresh_after_import(
    programme: &sea_orm::DatabaseConnection,
    register: &kotohub_programme::register::Register,
) -> Result<String> {
    use sea_orm::ConnectionTrait;
    let columns = "client_id, measure_id, body_id, division_id, year, quarter, district, \
                   mother_tongue_group, age_group, gender, background, outcome, record_key";
    let txn = seed::unrestricted(programme).await?;
    let ids = txn
        .query_one_raw(sea_orm::Statement::from_string(
            txn.get_database_backend(),
            "SELECT min(id) AS first, max(id) AS last FROM client_facts".to_owned(),
        ))
        .await?
        .context("the register has facts")?;
    let (first, last): (i64, i64) = (ids.try_get("", "first")?, ids.try_get("", "last")?);
    txn.execute_unprepared(&format!(
        "INSERT INTO client_facts ({columns}) SELECT {columns} FROM client_facts \
         WHERE id < {} ORDER BY id",
        first + 1_000
    ))
    .await?;
    txn.commit().await?;
    let started = Instant::now();
    let added = register.facts().await?;
    let after_adding = started.elapsed();

    let txn = seed::unrestricted(programme).await?;
    txn.execute_unprepared(&format!("DELETE FROM client_facts WHERE id > {last}"))
        .await?;
    txn.commit().await?;
    let started = Instant::now();
    let removed = register.facts().await?;
    let after_removing = started.elapsed();
    Ok(format!(
        "brought up to date after 1,000 facts were added ({} facts now) in {:.0} ms, \
         and after they were removed ({} facts) in {:.0} ms",
        added.len(),
        after_adding.as_secs_f64() * 1e3,
        removed.len(),
        after_removing.as_secs_f64() * 1e3
    ))
}

/// A client Ohjaamo serves and one it does not: the last of each by id.
async fn ohjaamo_clients(programme: &sea_orm::DatabaseConnection) -> Result<(String, String)> {
    use sea_orm::ConnectionTrait;
    let txn = seed::unrestricted(programme).await?;
    let backend = txn.get_database_backend();
    let one = |sql: &str| sea_orm::Statement::from_string(backend, sql.to_owned());
    let served: String = txn
        .query_one_raw(one(
            "SELECT max(client_id) AS id FROM client_bodies WHERE body_id = 'ohjaamo'",
        ))
        .await?
        .context("Ohjaamo serves a client")?
        .try_get("", "id")?;
    let not_served: String = txn
        .query_one_raw(one(
            "SELECT max(id) AS id FROM clients c WHERE NOT EXISTS (SELECT 1 FROM client_bodies b \
             WHERE b.client_id = c.id AND b.body_id = 'ohjaamo')",
        ))
        .await?
        .context("a client Ohjaamo does not serve")?
        .try_get("", "id")?;
    txn.commit().await?;
    Ok((served, not_served))
}
