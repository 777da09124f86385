//! The federation benchmark: Kotohub's gateway against Hive Router on the classic
//! four-subgraph workload (accounts, products, reviews, inventory), in one run on one
//! machine. The subgraphs serve static data from this process; the gateway under test runs
//! as its own process, pinned alone to one core with `taskset`, while this process — the
//! subgraphs and the load — is pinned to the other. Each gateway gets the same
//! nested-fragment query from the same number of connections for the same time, and their
//! answers must be byte-for-byte the same JSON.
//!
//! Run on demand, from the workspace root, in release mode:
//! `cargo build --release && target/release/kotohub-federation-bench`. Hive Router is
//! measured when `hive_router` is on the PATH (see `docs/benchmarks.md` for how to build
//! it). `kotohub-federation-bench sdl` rewrites the subgraphs' SDL files in `schema/bench`,
//! from which `npm run compose-bench` in `schema/compose` composes the supergraph.

mod subgraphs;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

/// The composed supergraph of the four subgraphs, with their URLs on ports 4201–4204.
const SUPERGRAPH: &str = include_str!("../../../../../schema/bench/supergraph.graphql");
const FIRST_SUBGRAPH_PORT: u16 = 4201;

/// The workload's query: every user's reviews' products' reviews' authors' reviews'
/// products, and the same from the top products, through fragments.
const QUERY: &str = "fragment User on User { id username name } \
    fragment Review on Review { id body } \
    fragment Product on Product { inStock name price shippingEstimate upc weight } \
    query TestQuery { \
      users { ...User reviews { ...Review product { ...Product reviews { ...Review author { ...User reviews { ...Review product { ...Product } } } } } } } \
      topProducts { ...Product reviews { ...Review author { ...User reviews { ...Review product { ...Product } } } } } \
    }";

/// A one-subgraph query, sent straight to `products` and through each gateway: the
/// gateway's own overhead.
const DIRECT_QUERY: &str = "{ topProducts(first: 5) { upc name price weight } }";

#[derive(Parser)]
#[command(about = "Benchmarks Kotohub's gateway against Hive Router on four subgraphs")]
struct Args {
    #[command(subcommand)]
    command: Option<Mode>,
    /// Seconds each measurement runs.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Concurrent connections of the load.
    #[arg(long, default_value_t = 50)]
    connections: usize,
    /// The core the gateway under test runs on.
    #[arg(long, default_value = "0")]
    gateway_cpu: String,
    /// The core the subgraphs and the load run on.
    #[arg(long, default_value = "1")]
    load_cpu: String,
    /// The `kotohub` binary (default: the one beside this benchmark).
    #[arg(long)]
    kotohub: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Mode {
    /// Write the four subgraphs' SDL files.
    Sdl {
        #[arg(long, default_value = "schema/bench")]
        out_dir: PathBuf,
    },
}

/// What one measurement gave.
struct Measured {
    requests: u64,
    failures: u64,
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(Mode::Sdl { out_dir }) = &args.command {
        for name in subgraphs::NAMES {
            let path = out_dir.join(format!("{name}.graphql"));
            let sdl = subgraphs::sdl(name).context("every subgraph has an SDL")?;
            std::fs::write(&path, sdl)
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!("wrote {}", path.display());
        }
        return Ok(());
    }
    // The load and the subgraphs stay on their core: run again under taskset, once.
    if std::env::var_os("KOTOHUB_BENCH_PINNED").is_none() {
        let status = Command::new("taskset")
            .arg("-c")
            .arg(&args.load_cpu)
            .arg(std::env::current_exe()?)
            .args(std::env::args_os().skip(1))
            .env("KOTOHUB_BENCH_PINNED", "1")
            .status()
            .context("cannot run taskset (util-linux)")?;
        std::process::exit(status.code().unwrap_or(1));
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

async fn run(args: Args) -> Result<()> {
    let work =
        std::env::temp_dir().join(format!("kotohub-federation-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let supergraph = work.join("supergraph.graphql");
    std::fs::write(&supergraph, SUPERGRAPH)?;
    subgraphs::serve(FIRST_SUBGRAPH_PORT).await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .build()?;
    let products = format!("http://127.0.0.1:{}/graphql", FIRST_SUBGRAPH_PORT + 1);
    wait_for(&http, &products, DIRECT_QUERY).await?;

    println!(
        "{} s per measurement, {} connections; gateways on core {}, subgraphs and load on core {}",
        args.seconds, args.connections, args.gateway_cpu, args.load_cpu
    );
    println!();
    println!("| target | query | requests/s | p50 | p99 | gateway peak RSS | failed |");
    println!("|---|---|---|---|---|---|---|");
    let direct = drive(&http, &products, DIRECT_QUERY, &args).await;
    row("products subgraph, directly", "one subgraph", &direct, None);

    let kotohub = args.kotohub.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join("kotohub")))
            .unwrap_or_else(|| PathBuf::from("kotohub"))
    });
    let mut gateways: Vec<(&str, Gateway)> = Vec::new();
    let mut command = Command::new("taskset");
    command
        .arg("-c")
        .arg(&args.gateway_cpu)
        .arg(&kotohub)
        .arg("gateway")
        .arg("--supergraph")
        .arg(&supergraph)
        .arg("--listen")
        .arg("127.0.0.1:4300")
        .env("KOTOHUB__AUTH__MODE", "off")
        .env("KOTOHUB__RATE_LIMITS__ENABLED", "false")
        .env("KOTOHUB__SERVE__DATA_DIR", work.join("kotohub"))
        .env("KOTOHUB__LOG__FILTER", "warn");
    gateways.push((
        "Kotohub gateway (access log on)",
        Gateway::start(command, "http://127.0.0.1:4300/graphql", &http).await?,
    ));
    if let Some(hive) = on_path("hive_router") {
        let dir = work.join("hive");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join("router.config.yaml"),
            format!(
                "supergraph:\n  source: file\n  path: {}\nhttp:\n  host: 127.0.0.1\n  port: 4400\nlog:\n  level: error\n",
                supergraph.display()
            ),
        )?;
        let mut command = Command::new("taskset");
        command
            .arg("-c")
            .arg(&args.gateway_cpu)
            .arg(hive)
            .current_dir(&dir);
        gateways.push((
            "Hive Router",
            Gateway::start(command, "http://127.0.0.1:4400/graphql", &http).await?,
        ));
    } else {
        println!("(hive_router is not on the PATH: Kotohub alone)");
    }

    let mut answers = Vec::new();
    let mut throughput = Vec::new();
    for (name, gateway) in &mut gateways {
        let answer = answer(&http, &gateway.url, QUERY).await?;
        let direct_through = drive(&http, &gateway.url, DIRECT_QUERY, &args).await;
        let measured = drive(&http, &gateway.url, QUERY, &args).await;
        let rss = gateway.peak_rss_mib();
        row(name, "one subgraph", &direct_through, rss);
        row(name, "nested fragments", &measured, rss);
        throughput.push((*name, measured.per_second, direct_through.per_second));
        answers.push((*name, answer));
    }
    println!();
    if let Some((_, first)) = answers.first() {
        println!("answer: {} bytes", first.len());
        for (name, other) in &answers[1..] {
            if other == first {
                println!("{name}'s answer is byte-for-byte the same");
            } else {
                let at = first
                    .iter()
                    .zip(other.iter())
                    .position(|(a, b)| a != b)
                    .unwrap_or(first.len().min(other.len()));
                bail!(
                    "{name}'s answer differs at byte {at}: {:?} … vs {:?} …",
                    String::from_utf8_lossy(
                        &first[at.saturating_sub(40)..(at + 40).min(first.len())]
                    ),
                    String::from_utf8_lossy(
                        &other[at.saturating_sub(40)..(at + 40).min(other.len())]
                    ),
                );
            }
        }
    }
    for (name, _, through) in &throughput {
        println!(
            "{name}: the products subgraph directly answers {:.2}× as many requests as through it",
            direct.per_second / through
        );
    }
    if let [(ours, kotohub, _), (theirs, hive, _), ..] = throughput[..] {
        println!(
            "{ours} ÷ {theirs} on the nested query: {:.2}",
            kotohub / hive
        );
    }
    for (_, mut gateway) in gateways {
        gateway.stop();
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

fn row(target: &str, query: &str, measured: &Measured, rss: Option<f64>) {
    println!(
        "| {target} | {query} | {:.0} | {:.2} ms | {:.2} ms | {} | {} of {} |",
        measured.per_second,
        measured.p50.as_secs_f64() * 1e3,
        measured.p99.as_secs_f64() * 1e3,
        rss.map_or_else(|| "—".to_owned(), |mib| format!("{mib:.0} MiB")),
        measured.failures,
        measured.requests,
    );
}

/// A gateway process under test.
struct Gateway {
    child: Child,
    url: String,
}

impl Gateway {
    async fn start(mut command: Command, url: &str, http: &reqwest::Client) -> Result<Self> {
        let child = command
            .stdout(Stdio::null())
            .spawn()
            .context("cannot start the gateway under taskset")?;
        let mut gateway = Gateway {
            child,
            url: url.to_owned(),
        };
        let ready = wait_for(http, url, QUERY).await;
        // An answer from a process that is not ours (a port taken by another run) would
        // measure that process: the one started must still be running.
        let exited = gateway.child.try_wait().ok().flatten();
        match (ready, exited) {
            (Ok(()), None) => Ok(gateway),
            (_, Some(status)) => {
                bail!("the gateway for {url} exited ({status}): is its port taken?")
            }
            (Err(error), None) => {
                gateway.stop();
                Err(error)
            }
        }
    }

    /// The process's peak resident memory (taskset execs the gateway in its place).
    fn peak_rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(name))
        .find(|path| path.is_file())
}

fn body(query: &str) -> String {
    serde_json::json!({ "query": query }).to_string()
}

/// The answer's bytes, which must hold data and no errors.
async fn answer(http: &reqwest::Client, url: &str, query: &str) -> Result<Vec<u8>> {
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .body(body(query))
        .send()
        .await?;
    let status = response.status();
    let bytes = response.bytes().await?.to_vec();
    if !status.is_success() || !answered(&bytes) {
        bail!(
            "{url} answered {status}: {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(400)])
        );
    }
    Ok(bytes)
}

/// Data and no errors, told without parsing 90 KB on the load's core.
fn answered(bytes: &[u8]) -> bool {
    bytes.starts_with(b"{\"data\":{") && !bytes.windows(9).any(|w| w == b"\"errors\":")
}

/// Waits until `url` answers `query` without errors, for up to 20 s.
async fn wait_for(http: &reqwest::Client, url: &str, query: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match answer(http, url, query).await {
            Ok(_) => return Ok(()),
            Err(error) if Instant::now() > deadline => return Err(error),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Sends `query` to `url` from `args.connections` connections, each as fast as its
/// answers come back, for `args.seconds` after a one-second warm-up.
async fn drive(http: &reqwest::Client, url: &str, query: &str, args: &Args) -> Measured {
    let body = Arc::new(body(query));
    let warm_up = Instant::now() + Duration::from_secs(1);
    let deadline = warm_up + Duration::from_secs(args.seconds);
    let tasks: Vec<_> = (0..args.connections)
        .map(|_| {
            let (http, body, url) = (http.clone(), body.clone(), url.to_owned());
            tokio::spawn(async move {
                let (mut latencies, mut failures) = (Vec::new(), 0u64);
                loop {
                    let sent = Instant::now();
                    if sent >= deadline {
                        break;
                    }
                    let ok = match http
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body.as_str().to_owned())
                        .send()
                        .await
                    {
                        Ok(response) if response.status().is_success() => {
                            response.bytes().await.is_ok_and(|b| answered(&b))
                        }
                        _ => false,
                    };
                    if sent >= warm_up {
                        latencies.push(sent.elapsed());
                        failures += u64::from(!ok);
                    }
                }
                (latencies, failures)
            })
        })
        .collect();
    let (mut latencies, mut failures) = (Vec::new(), 0);
    for task in tasks {
        if let Ok((some, failed)) = task.await {
            latencies.extend(some);
            failures += failed;
        }
    }
    latencies.sort();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Measured {
        requests: latencies.len() as u64,
        failures,
        per_second: latencies.len() as f64 / args.seconds as f64,
        p50: at(0.50),
        p99: at(0.99),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_sdl_files_are_the_subgraphs() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/bench");
        for name in subgraphs::NAMES {
            let committed = std::fs::read_to_string(dir.join(format!("{name}.graphql")))
                .expect("the bench SDL files are committed");
            assert_eq!(
                committed,
                subgraphs::sdl(name).expect("a known subgraph"),
                "schema/bench/{name}.graphql is stale: run kotohub-federation-bench sdl"
            );
        }
    }

    #[test]
    fn answers_with_errors_do_not_count() {
        assert!(answered(br#"{"data":{"a":1}}"#));
        assert!(!answered(
            br#"{"data":{"a":null},"errors":[{"message":"x"}]}"#
        ));
        assert!(!answered(br#"{"data":null}"#));
    }
}
