//! The `kotohub` command. `serve` runs the embedded default (every subgraph on loopback
//! over SQLite, migrated and seeded on first start); `subgraph` runs one subgraph alone
//! against SQLite or PostgreSQL; `migrate`, `seed` and `sdl` are the explicit steps that
//! production and the build run on their own; `token` mints development tokens.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use kotohub::databases::{self, ensure_data_dir, sqlite_url};
use kotohub::services::{self, Shutdown};
use kotohub::{access, sdl, seed};
use kotohub_auth::{Principal, Role};
use kotohub_config::{AuthMode, Config, LogFormat};
use kotohub_telemetry::Export;

#[derive(Parser)]
#[command(
    name = "kotohub",
    version,
    about = "Kotohub: the city's federated integration data hub"
)]
struct Cli {
    /// A configuration file layered over the built-in defaults (also KOTOHUB_CONFIG).
    #[arg(long, global = true, env = "KOTOHUB_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the embedded default: all subgraphs on loopback, SQLite under the data
    /// directory, migrated and seeded with synthetic data on first start.
    Serve {
        /// Where the SQLite databases live (default: serve.data_dir, "data").
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The gateway's address (default: serve.listen, 127.0.0.1:4000).
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Run one subgraph alone.
    Subgraph {
        /// programme, employment, education, social or culture.
        name: String,
        /// Address to listen on (default: the subgraph's configured address).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// sqlite://… or postgres://… (default: configured URL, else SQLite in the data directory).
        #[arg(long, env = "KOTOHUB_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
    },
    /// Run pending migrations. With a PostgreSQL URL each subgraph migrates its own
    /// schema; a SQLite URL holds one subgraph, so name it with --subgraph.
    Migrate {
        #[arg(
            long,
            env = "KOTOHUB_DATABASE_URL",
            hide_env_values = true,
            conflicts_with = "data_dir"
        )]
        database_url: Option<String>,
        /// Migrate the SQLite files of every subgraph in this directory.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Only these subgraphs (default: all).
        #[arg(long = "subgraph")]
        subgraphs: Vec<String>,
    },
    /// Fill every subgraph database with synthetic clients and their records.
    Seed {
        /// How many clients.
        #[arg(long, default_value_t = 10_000)]
        clients: u32,
        /// The seed number: the same number gives the same data.
        #[arg(long)]
        seed: Option<u64>,
        /// A PostgreSQL URL whose per-subgraph schemas to fill (default: SQLite files).
        #[arg(
            long,
            env = "KOTOHUB_DATABASE_URL",
            hide_env_values = true,
            conflicts_with = "data_dir"
        )]
        database_url: Option<String>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Seed only databases that hold no clients yet, and succeed without seeding
        /// otherwise (a deployment's first start seeds, later ones do not).
        #[arg(long)]
        if_empty: bool,
    },
    /// Run the gateway alone in front of subgraphs elsewhere.
    Gateway {
        /// The composed supergraph SDL (default: the one built into this binary).
        #[arg(long)]
        supergraph: Option<PathBuf>,
        /// A subgraph URL overriding the supergraph's, as NAME=URL; repeatable.
        #[arg(long = "subgraph", value_parser = parse_override)]
        subgraphs: Vec<(String, String)>,
        /// Address to listen on (default: serve.listen).
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Work on the gateway's shared caches (cache.redis_url, else nothing to do: the
    /// in-process caches of a running hub live and die with it).
    Cache {
        #[command(subcommand)]
        command: CacheCommand,
    },
    /// Import a division's file: every row checked, the good ones written (a changed row
    /// updates what it imported before, an unchanged one changes nothing), the rest
    /// reported by line, column and reason. Identity codes become pseudonymous client ids
    /// and are kept nowhere.
    Import {
        /// The subgraph the kind belongs to: programme for clients, else the division
        /// whose table it is (docs/import.md lists them).
        #[arg(long)]
        subgraph: String,
        /// What the file holds: clients, or a division's table (enrolments,
        /// employment_outcomes, cultural_events …).
        #[arg(long)]
        kind: String,
        /// The file: .csv (a header row, ; or , between fields) or .jsonl.
        file: PathBuf,
        /// Check every row and report, writing nothing.
        #[arg(long)]
        dry_run: bool,
        /// Where the rejected rows go (default: next to FILE, .rejects.csv), when any are.
        #[arg(long)]
        rejects: Option<PathBuf>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
        /// Where the SQLite databases live (default: serve.data_dir, "data").
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// sqlite://… or postgres://… of the subgraph (default: its configured URL, else
        /// SQLite in the data directory).
        #[arg(long, env = "KOTOHUB_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
    },
    /// Mint a development token (auth.mode = "dev", the embedded default).
    Token {
        /// officer, partner, analyst, auditor, admin or importer (with --division); repeatable.
        #[arg(long = "role", required = true, value_parser = parse_role)]
        roles: Vec<Role>,
        /// A responsible body the caller acts for, by slug (e.g. ohjaamo); repeatable.
        #[arg(long = "body")]
        bodies: Vec<String>,
        /// The caller's division.
        #[arg(long)]
        division: Option<String>,
        /// The token's subject (default: dev-<first role>).
        #[arg(long)]
        subject: Option<String>,
        /// How long the token is valid: 90s, 30m, 8h, 2d.
        #[arg(long, default_value = "8h", value_parser = access::parse_ttl)]
        ttl: std::time::Duration,
        /// Where the key files live (default: serve.data_dir).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// The access log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Print the catalog's indicators as Markdown, each with its kind, target and how it
    /// is computed or who records it (`docs/indicators.md`).
    Indicators,
    /// Print the record of processing activities (GDPR art. 30) as Markdown: person-level
    /// types and fields by class, who may read them, purposes and retention
    /// (`docs/record-of-processing.md` for the built-in configuration).
    ProcessingRecord,
    /// Ask a running process whether it is ready (`/ready`, or any URL): exit 0 when it
    /// answers 2xx, 1 otherwise. For health checks in images that have no HTTP client.
    Probe {
        /// e.g. http://127.0.0.1:4000/ready; the image sets KOTOHUB_PROBE_URL to the
        /// gateway's /health, and a subgraph's container to its own.
        #[arg(env = "KOTOHUB_PROBE_URL")]
        url: String,
        /// How long to wait for the answer, in seconds.
        #[arg(long, default_value_t = 3)]
        timeout: u64,
    },
    /// Write each subgraph's SDL to DIR/<name>.graphql, or with --check fail if they differ.
    Sdl {
        #[arg(long, default_value = "schema")]
        out_dir: PathBuf,
        #[arg(long)]
        check: bool,
    },
}

#[derive(Subcommand)]
enum CacheCommand {
    /// Drop every cached answer, on every replica, at once: run it after an import job
    /// changed the data (`kotohub seed` does it itself).
    Invalidate,
}

/// Where the access log is: its database, else SQLite in the data directory.
#[derive(clap::Args)]
struct AuditStore {
    /// The access log's database (default: subgraphs.audit.database_url, else SQLite in
    /// the data directory).
    #[arg(long, env = "KOTOHUB_AUDIT_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Where the embedded default keeps audit.db and its key files (default:
    /// serve.data_dir).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Remove the events older than the retention period (audit.retention_days), leaving
    /// a checkpoint that keeps the rest of the chain verifiable.
    Prune {
        /// Remove events before this time instead (RFC 3339, e.g. 2014-01-01T00:00:00Z).
        #[arg(long)]
        before: Option<chrono::DateTime<chrono::Utc>>,
        #[command(flatten)]
        store: AuditStore,
    },
    /// Walk the hash chain; exit non-zero naming the first event that breaks it. With
    /// --bundle, check an exported bundle instead, away from any database, with the
    /// public key of its seals.
    Verify {
        /// Start at this event (its position in the chain); the one before is the anchor.
        #[arg(long, conflicts_with = "bundle")]
        from: Option<i64>,
        /// A bundle written by `kotohub audit export`.
        #[arg(long, requires = "public_key")]
        bundle: Option<PathBuf>,
        /// The Ed25519 public key the seals must be signed with, hex, or a file holding
        /// it (`kotohub audit public-key` prints it where the key is).
        #[arg(long)]
        public_key: Option<String>,
        #[command(flatten)]
        store: AuditStore,
    },
    /// Sign the chain's head now with the access log's key (the hub also does so every
    /// audit.seal_every_seconds).
    Seal {
        #[command(flatten)]
        store: AuditStore,
    },
    /// Print the public key of the access log's seals: what a verifier of a bundle holds.
    PublicKey {
        /// Where the key file is (default: serve.data_dir), when audit.signing_key is unset.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Write the data-subject report on one client (GDPR art. 15): what every division
    /// holds about them and who accessed it, when and why. The report is itself recorded
    /// in the access log.
    SubjectReport {
        /// The client's pseudonymous id.
        #[arg(long)]
        client: String,
        /// `json`, or `html` for a printable page.
        #[arg(long, default_value = "html")]
        format: ReportFormat,
        /// The file to write (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        store: AuditStore,
    },
    /// Write the events of a stretch of time, with the seals that cover them, as one
    /// self-contained JSON bundle for `kotohub audit verify --bundle`.
    Export {
        /// From this time (RFC 3339; default: the first event).
        #[arg(long)]
        from: Option<chrono::DateTime<chrono::Utc>>,
        /// To before this time (RFC 3339; default: the last event).
        #[arg(long)]
        to: Option<chrono::DateTime<chrono::Utc>>,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        store: AuditStore,
    },
}

/// How a data-subject report is written.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum ReportFormat {
    Json,
    Html,
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref())?;
    let telemetry = init_telemetry(&config, &cli.command)?;
    let result = run(config, cli.command, telemetry.export()).await;
    telemetry.shutdown();
    result
}

async fn run(config: Config, command: Command, traces: Export) -> Result<()> {
    match command {
        Command::Serve { data_dir, listen } => serve(config, data_dir, listen, traces).await,
        Command::Subgraph {
            name,
            listen,
            database_url,
        } => subgraph(config, &name, listen, database_url).await,
        Command::Migrate {
            database_url,
            data_dir,
            subgraphs,
        } => migrate(&config, database_url, data_dir, subgraphs).await,
        Command::Seed {
            clients,
            seed,
            database_url,
            data_dir,
            if_empty,
        } => {
            seed_command(
                &config,
                clients,
                seed.unwrap_or(config.serve.seed),
                database_url,
                data_dir,
                if_empty,
            )
            .await
        }
        Command::Sdl { out_dir, check } => sdl_command(&out_dir, check),
        Command::ProcessingRecord => {
            let policy = access::policy()?;
            let settings = kotohub::processing::Settings {
                purposes: &config.access.purposes,
                audit_retention_days: config.audit.retention_days,
                emergency_minutes: config.access.emergency_minutes,
            };
            print!(
                "{}",
                kotohub::processing::record(services::SUPERGRAPH, &policy, &settings)
                    .map_err(anyhow::Error::msg)?
            );
            Ok(())
        }
        Command::Probe { url, timeout } => probe(&url, timeout).await,
        Command::Indicators => {
            let catalog = kotohub_programme::catalog::Catalog::embedded()?;
            print!(
                "{}",
                kotohub_programme::indicator_values::catalog_markdown(&catalog)
            );
            Ok(())
        }
        Command::Import {
            subgraph,
            kind,
            file,
            dry_run,
            rejects,
            json,
            data_dir,
            database_url,
        } => {
            let target = ImportTarget {
                subgraph,
                kind,
                file,
                rejects,
                data_dir,
                database_url,
            };
            import_command(&config, target, dry_run, json).await
        }
        Command::Audit { command } => audit_command(&config, command).await,
        Command::Cache {
            command: CacheCommand::Invalidate,
        } => {
            if config.cache.redis_url.is_none() {
                println!(
                    "No shared cache is configured (cache.redis_url): each hub's in-process cache is its own."
                );
                return Ok(());
            }
            invalidate_answers(&config).await?;
            println!("Cached answers dropped.");
            Ok(())
        }
        Command::Token {
            roles,
            bodies,
            division,
            subject,
            ttl,
            data_dir,
        } => {
            let data_dir = data_dir.unwrap_or_else(|| config.serve.data_dir.clone());
            let issuer = access::dev_issuer(&config.auth, &data_dir)?;
            let subject = subject.unwrap_or_else(|| format!("dev-{}", roles[0]));
            let principal = Principal::new(subject, roles, bodies, division);
            println!("{}", issuer.mint(&principal, ttl));
            Ok(())
        }
        Command::Gateway {
            supergraph,
            subgraphs,
            listen,
        } => gateway_command(&config, supergraph, subgraphs, listen).await,
    }
}

/// Logs and traces for this process; spans are named after what it runs.
fn init_telemetry(config: &Config, command: &Command) -> Result<kotohub_telemetry::Telemetry> {
    let service_name = match command {
        Command::Serve { .. } => "kotohub".to_owned(),
        Command::Gateway { .. } => "kotohub-gateway".to_owned(),
        Command::Subgraph { name, .. } => format!("kotohub-{name}"),
        _ => "kotohub-cli".to_owned(),
    };
    let telemetry = kotohub_telemetry::init(&kotohub_telemetry::Settings {
        log_filter: &config.log.filter,
        json: config.log.format == LogFormat::Json,
        trace_filter: &config.log.trace_filter,
        service_name: &service_name,
    })?;
    Ok(telemetry)
}

/// The URL a subgraph uses: the configured one, else SQLite under `data_dir`.
fn url_of(config: &Config, data_dir: &Path, name: &str) -> String {
    config
        .subgraphs
        .all()
        .into_iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, sg)| sg.database_url.as_ref().map(|url| url.expose().to_owned()))
        .unwrap_or_else(|| sqlite_url(data_dir, name))
}

/// The access log's database: `subgraphs.audit.database_url`, else SQLite in the data
/// directory.
fn audit_url(config: &Config, data_dir: &Path) -> String {
    url_of(config, data_dir, kotohub::AUDIT)
}

/// Opens and migrates the access log and starts its writer.
async fn open_audit(
    config: &Config,
    data_dir: &Path,
    connections: Option<u32>,
) -> Result<(sea_orm::DatabaseConnection, kotohub_audit::AuditLog)> {
    let db =
        databases::open_with(kotohub::AUDIT, &audit_url(config, data_dir), connections).await?;
    databases::migrate(kotohub::AUDIT, &db).await?;
    let log = kotohub_audit::AuditLog::start(db.clone())
        .await
        .context("cannot read the access log's last event")?;
    Ok((db, log))
}

/// `kotohub audit …`.
async fn audit_command(config: &Config, command: AuditCommand) -> Result<()> {
    // Verifying reads the database as it is; the rest bring its tables up to date.
    let open = |store: AuditStore, migrate: bool| async move {
        let data_dir = store
            .data_dir
            .unwrap_or_else(|| config.serve.data_dir.clone());
        let url = store
            .database_url
            .unwrap_or_else(|| audit_url(config, &data_dir));
        let db = databases::open(kotohub::AUDIT, &url).await?;
        if migrate {
            databases::migrate(kotohub::AUDIT, &db).await?;
        }
        anyhow::Ok((db, data_dir))
    };
    match command {
        AuditCommand::Verify {
            bundle: Some(bundle),
            public_key,
            ..
        } => audit_verify_bundle(&bundle, public_key.as_deref().unwrap_or_default()),
        AuditCommand::Verify { from, store, .. } => {
            let (db, _) = open(store, false).await?;
            audit_verify(&db, from).await
        }
        AuditCommand::Prune { before, store } => {
            let (db, _) = open(store, true).await?;
            let before = before.unwrap_or_else(|| {
                chrono::Utc::now() - chrono::Duration::days(i64::from(config.audit.retention_days))
            });
            let before = before.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            let pruned = kotohub_audit::chain::prune(&db, &before)
                .await
                .context("cannot prune the access log")?;
            match pruned.through_seq {
                Some(seq) => println!(
                    "Removed {} events from before {before} (through event {seq}); a checkpoint keeps the rest verifiable.",
                    pruned.events
                ),
                None => println!("No event is older than {before}."),
            }
            Ok(())
        }
        AuditCommand::Seal { store } => {
            let (db, data_dir) = open(store, true).await?;
            let sealer = access::audit_sealer(&config.audit, &data_dir)?;
            let authority = config
                .audit
                .timestamp_url
                .as_deref()
                .map(kotohub::timestamping::TimestampAuthority::new);
            match kotohub::timestamping::seal_and_stamp(&sealer, &db, authority.as_ref())
                .await
                .context("cannot seal the access log")?
            {
                Some(seal) => println!(
                    "Sealed the access log through event {} ({}).",
                    seal.seq, seal.hash
                ),
                None => println!("The access log's head is sealed already (or the log is empty)."),
            }
            Ok(())
        }
        AuditCommand::PublicKey { data_dir } => {
            let data_dir = data_dir.unwrap_or_else(|| config.serve.data_dir.clone());
            println!(
                "{}",
                access::audit_sealer(&config.audit, &data_dir)?.public_key()
            );
            Ok(())
        }
        AuditCommand::SubjectReport {
            client,
            format,
            out,
            store,
        } => {
            if !kotohub_audit::emergency::is_client_id(&client) {
                bail!("{client:?} is not a client id (letters, digits, - and _)");
            }
            let (audit, data_dir) = open(store, true).await?;
            let dbs = databases::open_all(|name| url_of(config, &data_dir, name), false).await?;
            let report = kotohub::subject_report::build(&dbs, &audit, &client)
                .await
                .context("cannot read the client's data and accesses")?;
            // On the record before it leaves: a report that cannot be logged is not written.
            kotohub_audit::AuditLog::start(audit.clone())
                .await
                .context("cannot read the access log's last event")?
                .record(kotohub::subject_report::event(&report))
                .await
                .context("cannot record the report in the access log")?;
            let text = match format {
                ReportFormat::Json => serde_json::to_string_pretty(&report)?,
                ReportFormat::Html => kotohub::subject_report::html(&report),
            };
            match out {
                Some(path) => {
                    std::fs::write(&path, text)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    println!(
                        "Wrote the report on {client} to {}: {} tables hold data, {} accesses, {} emergency accesses.",
                        path.display(),
                        report.held.len(),
                        report.accesses.len(),
                        report.emergency_accesses.len()
                    );
                }
                None => println!("{text}"),
            }
            Ok(())
        }
        AuditCommand::Export {
            from,
            to,
            out,
            store,
        } => {
            let (db, _) = open(store, true).await?;
            let at = |t: chrono::DateTime<chrono::Utc>| {
                t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            };
            let bundle =
                kotohub_audit::bundle::export(&db, from.map(at).as_deref(), to.map(at).as_deref())
                    .await
                    .context("cannot read the access log")?;
            let json = serde_json::to_vec_pretty(&bundle)?;
            std::fs::write(&out, json)
                .with_context(|| format!("cannot write {}", out.display()))?;
            let sealed = bundle.seals.last().map(|s| s.seq);
            let last = bundle.events.last().map(|e| e.seq);
            println!(
                "Wrote {} events and {} seal{} to {}.",
                bundle.events.len(),
                bundle.seals.len(),
                if bundle.seals.len() == 1 { "" } else { "s" },
                out.display()
            );
            if last.is_some() && sealed < last {
                println!(
                    "No seal covers the events after {}: run `kotohub audit seal` and export again for a bundle that verifies whole.",
                    sealed.map_or_else(|| "the first".to_owned(), |s| s.to_string())
                );
            }
            Ok(())
        }
    }
}

/// `kotohub audit verify --bundle`: checks a bundle with nothing but the public key.
fn audit_verify_bundle(path: &Path, public_key: &str) -> Result<()> {
    use kotohub_audit::bundle::{Bundle, Report, verify};
    // A path to a file holding the key, or the key itself.
    let key_text = match std::fs::read_to_string(public_key) {
        Ok(text) => text,
        Err(_) => public_key.to_owned(),
    };
    let key = kotohub_audit::seal::public_key(&key_text)?;
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let bundle: Bundle = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not an access-log bundle", path.display()))?;
    match verify(&bundle, &key) {
        Report::Intact {
            events,
            seals,
            timestamped,
            first_seq,
            last_seq,
        } => {
            match (first_seq, last_seq) {
                (Some(first), Some(last)) => println!(
                    "The bundle is intact: events {first} to {last} ({events}) chain together and are covered by {seals} seal{} of the trusted key{}.",
                    if seals == 1 { "" } else { "s" },
                    if timestamped > 0 {
                        format!(
                            ", {timestamped} of them time-stamped (check the tokens' signatures with `openssl ts -verify`)"
                        )
                    } else {
                        String::new()
                    }
                ),
                _ => println!("The bundle holds no events."),
            }
            for stamp in &bundle.timestamps {
                if let Some(seal) = bundle.seals.iter().find(|seal| seal.seq == stamp.seq) {
                    println!(
                        "  the seal of event {} was time-stamped by {} at {}; its digest: {}",
                        seal.seq,
                        stamp.tsa_url,
                        stamp.stamped_at,
                        hex::encode(kotohub_audit::timestamp::digest(seal))
                    );
                }
            }
            Ok(())
        }
        Report::Broken { seq, reason } => bail!("the bundle is broken at event {seq}: {reason}"),
        Report::Unsealed {
            from_seq,
            to_seq,
            sealed_through,
        } => bail!(
            "events {from_seq} to {to_seq} are not covered by any seal{}: they could have been rewritten unseen",
            sealed_through
                .map(|s| format!(" (the chain holds and is sealed through event {s})"))
                .unwrap_or_default()
        ),
    }
}

/// `kotohub audit verify`: reads the chain without writing anything.
async fn audit_verify(db: &sea_orm::DatabaseConnection, from: Option<i64>) -> Result<()> {
    use kotohub_audit::chain::{Verdict, verify};
    let started = std::time::Instant::now();
    match verify(db, from)
        .await
        .context("cannot read the access log")?
    {
        Verdict::Intact { events, last_seq } => {
            println!(
                "The access log is intact: {events} events checked{} in {:.1} s.",
                last_seq
                    .map(|seq| format!(" up to event {seq}"))
                    .unwrap_or_default(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Verdict::Broken {
            seq,
            event_id,
            reason,
        } => {
            bail!("the access log is broken at event {seq} (id {event_id:?}): {reason}")
        }
    }
}

async fn serve(
    config: Config,
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
    traces: Export,
) -> Result<()> {
    let data_dir = data_dir.unwrap_or_else(|| config.serve.data_dir.clone());
    let gateway = listen.unwrap_or(config.serve.listen);
    if config.auth.mode == AuthMode::Off {
        bail!(
            "auth.mode = \"off\" is only for `kotohub gateway`; the hub never serves person-level data unauthenticated"
        );
    }
    ensure_data_dir(&data_dir)?;
    let policy = std::sync::Arc::new(access::policy()?);
    let guard = access::guard(&config.auth, &data_dir, policy.clone())?;
    // One shared store (and Redis connection) for every cache of this gateway.
    let store = services::cache_store(&config.cache).map_err(anyhow::Error::msg)?;
    let gateway_access = access::gateway_access(
        &config.auth,
        &data_dir,
        policy.clone(),
        services::jwks_cache(&store),
    )?;
    let upload_authenticator =
        access::authenticator(&config.auth, &data_dir, services::jwks_cache(&store))?
            .context("the hub always authenticates")?;
    let dbs = databases::open_all(|name| url_of(&config, &data_dir, name), true).await?;
    let (audit_db, audit) = open_audit(&config, &data_dir, None).await?;
    // The chain's head signed now and then, and once more on the way down.
    let sealer = access::audit_sealer(&config.audit, &data_dir)?;
    if config.audit.seal_every_seconds > 0 {
        tokio::spawn(seal_now_and_then(
            audit_db.clone(),
            access::audit_sealer(&config.audit, &data_dir)?,
            std::time::Duration::from_secs(config.audit.seal_every_seconds),
            config
                .audit
                .timestamp_url
                .as_deref()
                .map(kotohub::timestamping::TimestampAuthority::new),
        ));
    }
    let queries_db = example_queries(
        &url_of(&config, &data_dir, kotohub::QUERIES),
        &config.access,
    )
    .await?;
    if !seed::has_clients(&dbs.programme).await? {
        let clients = config.serve.seed_clients;
        println!(
            "Seeding {clients} synthetic clients into {} (first start)…",
            data_dir.display()
        );
        let summary = seed::seed(&dbs, clients, config.serve.seed).await?;
        println!(
            "Seeded {} rows in {:.1} s.",
            summary.rows,
            summary.took.as_secs_f64()
        );
    }
    if kotohub_programme::catalog::Catalog::embedded()?
        .sync(&dbs.programme)
        .await?
    {
        println!(
            "Stored the programme catalog shipped with this build (the database held another)."
        );
    }
    let shutdown = Shutdown::new();
    let mut services = Vec::new();
    for (name, settings) in config.subgraphs.iter() {
        let db = dbs
            .get(name)
            .context("every subgraph has a database")?
            .clone();
        services.push(services::SubgraphService {
            name,
            db,
            listen: settings.listen,
            shutdown: &shutdown,
        });
    }
    services.push(services::SubgraphService {
        name: kotohub::AUDIT,
        db: audit_db.clone(),
        listen: config.subgraphs.audit.listen,
        shutdown: &shutdown,
    });
    services.push(services::SubgraphService {
        name: kotohub::QUERIES,
        db: queries_db,
        listen: config.subgraphs.queries.listen,
        shutdown: &shutdown,
    });
    let mut running = services::start_subgraphs(
        services,
        &guard,
        &services::SubgraphSettings::from(&config.access),
    )
    .await?;
    let overrides = services::urls_of(&running);
    let settings = services::GatewaySettings::load(&config, &store).map_err(anyhow::Error::msg)?;
    let caches = match settings.response_cache.as_ref().map(|cache| cache.store()) {
        Some(store) if store.uses_redis() => {
            if store.connect(std::time::Duration::from_secs(2)).await {
                "in Redis, shared by every gateway replica"
            } else {
                "in process: Redis does not answer yet, and is used once it does"
            }
        }
        _ => "in process (set cache.redis_url to share them in Redis)",
    };
    let mut uploads = kotohub::upload::Uploads::new(
        upload_authenticator,
        policy,
        dbs.clone(),
        access::pseudonymiser(&config.auth, &data_dir)?,
        std::sync::Arc::new(audit.clone()),
    );
    uploads.answers = settings.response_cache.clone();
    let router = services::gateway_router(
        services::SUPERGRAPH,
        &overrides,
        &settings,
        gateway_access,
        Some(audit),
    )?
    .merge(kotohub::upload::router(std::sync::Arc::new(uploads)))
    .merge(kotohub_console::router(access::console_sign_in(
        &config.auth,
        &config.console,
        &data_dir,
    )?));
    let gateway = services::start("gateway", gateway, router, &shutdown)
        .await
        .with_context(|| format!("cannot listen on {gateway} for the gateway"))?;
    println!();
    println!("Kotohub is running.");
    println!("  Console     http://{}/", gateway.addr);
    println!(
        "  GraphQL     http://{}/graphql  (GraphiQL in a browser)",
        gateway.addr
    );
    println!(
        "  Imports     http://{}/import/{{subgraph}}/{{kind}}  (POST a file; importer role)",
        gateway.addr
    );
    println!("  Caches      {caches}");
    match traces {
        Export::Off => {
            println!("  Traces      not exported (set OTEL_EXPORTER_OTLP_ENDPOINT to send them)")
        }
        Export::Otlp(protocol) => println!("  Traces      exported by OTLP ({protocol})"),
    }
    println!("Subgraphs (GraphQL over POST, health at /health):");
    for service in &running {
        println!("  {:<11} http://{}/graphql", service.name, service.addr);
    }
    if config.auth.mode == AuthMode::Dev {
        let issuer = access::dev_issuer(&config.auth, &data_dir)?;
        println!();
        println!(
            "Development tokens (8 h; send as `Authorization: Bearer <token>`; more with `kotohub token`):"
        );
        for (role, principal) in access::demo_principals() {
            let scope = match (principal.bodies.first(), &principal.division) {
                (Some(body), _) => format!(" of {body}"),
                (None, Some(division)) => format!(" ({division})"),
                (None, None) => String::new(),
            };
            println!("  {role}{scope}:");
            println!(
                "    {}",
                issuer.mint(&principal, std::time::Duration::from_secs(8 * 3600))
            );
        }
        println!();
    }
    println!(
        "Saved queries run by name as the caller, e.g. the officer's (Ohjaamo's) events as CSV:"
    );
    println!(
        "  curl -H \"Authorization: Bearer $TOKEN\" 'http://{}/q/ohjaamo-events-in-other-languages?format=csv'",
        gateway.addr
    );
    let purposes: Vec<&str> = config.access.purposes.keys().map(String::as_str).collect();
    println!(
        "Officers state why they read person-level data: the Kotohub-Purpose header, one of {}.",
        purposes.join(", ")
    );
    println!();
    running.push(gateway);
    let stop = stop_signal()?;
    println!("Press Ctrl-C to stop.");
    stop.await;
    println!("Stopping…");
    shutdown.trigger();
    for service in running {
        service.task.await??;
    }
    let authority = config
        .audit
        .timestamp_url
        .as_deref()
        .map(kotohub::timestamping::TimestampAuthority::new);
    if let Err(error) =
        kotohub::timestamping::seal_and_stamp(&sealer, &audit_db, authority.as_ref()).await
    {
        tracing::error!(%error, "could not seal the access log's head on stopping");
    }
    Ok(())
}

/// Signs the access log's head every `every`; a failure is logged and tried again at the
/// next turn, since nothing waits on a seal.
async fn seal_now_and_then(
    db: sea_orm::DatabaseConnection,
    sealer: kotohub_audit::seal::Sealer,
    every: std::time::Duration,
    authority: Option<kotohub::timestamping::TimestampAuthority>,
) {
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        match kotohub::timestamping::seal_and_stamp(&sealer, &db, authority.as_ref()).await {
            Ok(Some(seal)) => tracing::info!(seq = seal.seq, "sealed the access log's head"),
            Ok(None) => {}
            Err(error) => tracing::error!(%error, "could not seal the access log's head"),
        }
    }
}

async fn subgraph(
    config: Config,
    name: &str,
    listen: Option<SocketAddr>,
    database_url: Option<String>,
) -> Result<()> {
    let Some((name, settings)) = config.subgraphs.all().into_iter().find(|(n, _)| *n == name)
    else {
        bail!(
            "there is no subgraph called {name:?}; the subgraphs are {}",
            kotohub::ALL_SUBGRAPHS.join(", ")
        );
    };
    let url = match database_url {
        Some(url) => url,
        None => {
            ensure_data_dir(&config.serve.data_dir)?;
            url_of(&config, &config.serve.data_dir, name)
        }
    };
    let db = databases::open(name, &url).await?;
    let policy = std::sync::Arc::new(access::policy()?);
    let guard = access::guard(&config.auth, &config.serve.data_dir, policy)?;
    let shutdown = Shutdown::new();
    let service = services::SubgraphService {
        name,
        db,
        listen: listen.unwrap_or(settings.listen),
        shutdown: &shutdown,
    };
    let service = services::start_subgraph(
        service,
        &guard,
        &services::SubgraphSettings::from(&config.access),
    )
    .await?;
    let stop = stop_signal()?;
    println!(
        "The {name} subgraph is serving http://{}/graphql",
        service.addr
    );
    stop.await;
    shutdown.trigger();
    service.task.await??;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM (how orchestrators stop a process). The handlers are
/// installed when this is called, so call it before telling anyone the service is up.
fn stop_signal() -> Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for Ctrl-C")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

fn chosen(subgraphs: Vec<String>) -> Result<Vec<&'static str>> {
    if subgraphs.is_empty() {
        return Ok(kotohub::ALL_SUBGRAPHS.to_vec());
    }
    subgraphs
        .iter()
        .map(|wanted| {
            kotohub::ALL_SUBGRAPHS
                .iter()
                .copied()
                .find(|name| name == wanted)
                .with_context(|| format!("there is no subgraph called {wanted:?}"))
        })
        .collect()
}

async fn migrate(
    config: &Config,
    database_url: Option<String>,
    data_dir: Option<PathBuf>,
    subgraphs: Vec<String>,
) -> Result<()> {
    let names = chosen(subgraphs)?;
    if let Some(url) = &database_url
        && url.starts_with("sqlite:")
        && names.len() != 1
    {
        bail!("a SQLite database holds one subgraph: name it with --subgraph, or use --data-dir");
    }
    let data_dir = data_dir.unwrap_or_else(|| config.serve.data_dir.clone());
    for name in names {
        let url = match &database_url {
            Some(url) => url.clone(),
            None => {
                ensure_data_dir(&data_dir)?;
                url_of(config, &data_dir, name)
            }
        };
        let db = databases::open(name, &url).await?;
        databases::migrate(name, &db).await?;
        println!("{name}: migrated");
    }
    Ok(())
}

/// Where `kotohub import` reads from and writes to.
struct ImportTarget {
    subgraph: String,
    kind: String,
    file: PathBuf,
    rejects: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
}

async fn import_command(
    config: &Config,
    target: ImportTarget,
    dry_run: bool,
    json: bool,
) -> Result<()> {
    use kotohub::import::{Importer, Target, rejects_csv, table::Format};
    use std::io::IsTerminal;
    let what = Target::of(&target.subgraph, &target.kind)?;
    let name = target.file.display().to_string();
    let format =
        Format::of_name(&name).with_context(|| format!("{name}: name a .csv or a .jsonl file"))?;
    let bytes = std::fs::read(&target.file).with_context(|| format!("cannot read {name}"))?;
    let data_dir = target
        .data_dir
        .unwrap_or_else(|| config.serve.data_dir.clone());
    if target.database_url.is_none() {
        ensure_data_dir(&data_dir)?;
    }
    // A PostgreSQL URL holds every subgraph's schema; a SQLite file holds one.
    let url_for = |subgraph: &str| -> Result<String> {
        match &target.database_url {
            None => Ok(url_of(config, &data_dir, subgraph)),
            Some(url) if url.starts_with("postgres") => Ok(url.clone()),
            Some(_) if what.division().is_some() => bail!(
                "{} are written into two databases: give a PostgreSQL URL, or --data-dir for \
                 SQLite files",
                what.kind()
            ),
            Some(url) => Ok(url.clone()),
        }
    };
    let db = databases::open("programme", &url_for("programme")?).await?;
    databases::migrate("programme", &db).await?;
    // Records are checked against the programme's catalog: the shipped one, stored now
    // if the database holds another or none, as `serve` does on start.
    kotohub_programme::catalog::Catalog::embedded()?
        .sync(&db)
        .await?;
    let division = match what.division() {
        Some(name) => {
            let division = databases::open(name, &url_for(name)?).await?;
            databases::migrate(name, &division).await?;
            Some(division)
        }
        None => None,
    };
    let pseudonymiser = access::pseudonymiser(&config.auth, &data_dir)?;
    let subject = format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".to_owned())
    );
    let importer = Importer {
        pseudonymiser: &pseudonymiser,
        subject: &subject,
        dry_run,
        today: chrono::Utc::now().date_naive(),
    };
    let started = std::time::Instant::now();
    let terminal = std::io::stderr().is_terminal();
    let imported = importer
        .import(
            what,
            &db,
            division.as_ref(),
            &bytes,
            format,
            |rows, read| {
                if terminal {
                    let rate = rows as f64 / started.elapsed().as_secs_f64().max(0.001);
                    let percent = 100.0 * read;
                    eprint!("\r{rows} rows done, {percent:.0} % of the file ({rate:.0} rows/s)");
                }
            },
        )
        .await;
    let imported = match imported {
        Ok(imported) => imported,
        Err(error) => {
            let event = error.access_log_event(&subject, what.kind(), &bytes, started.elapsed());
            if let Err(unlogged) = record_import(config, &data_dir, event).await {
                eprintln!("{unlogged:#}");
            }
            return Err(error.into());
        }
    };
    if terminal && !dry_run {
        eprintln!();
    }
    let event = imported.access_log_event(&subject, what.kind(), dry_run, started.elapsed());
    record_import(config, &data_dir, event).await?;
    let counts = imported.counts;
    if counts.inserted + counts.updated > 0 && config.cache.redis_url.is_some() {
        // Answers kept in the replicas' shared cache may count the old rows; a hub's
        // in-process cache lets them expire with its time to live.
        if let Err(error) = invalidate_answers(config).await {
            eprintln!("{error:#}");
        }
    }
    let rejects = (!imported.rejected.is_empty()).then(|| {
        target
            .rejects
            .unwrap_or_else(|| target.file.with_extension("rejects.csv"))
    });
    if let Some(path) = &rejects {
        std::fs::write(path, rejects_csv(&imported.rejected))
            .with_context(|| format!("cannot write the rejects to {}", path.display()))?;
    }
    if json {
        let mut summary = imported.summary(what.kind(), dry_run, started.elapsed());
        summary.insert("file".to_owned(), name.clone().into());
        summary.insert(
            "rejects".to_owned(),
            rejects.as_ref().map(|p| p.display().to_string()).into(),
        );
        let summary = serde_json::Value::Object(summary);
        println!("{summary}");
    } else {
        let verb = if dry_run { "Checked" } else { "Imported" };
        let noun = if imported.rows == 1 { "row" } else { "rows" };
        println!(
            "{verb} {name}: {} {noun}, {} rejected; {} new, {} updated, {} unchanged ({:.1} s).",
            imported.rows,
            imported.rejected_rows,
            counts.inserted,
            counts.updated,
            counts.unchanged,
            started.elapsed().as_secs_f64()
        );
        if let Some(path) = &rejects {
            println!("The rejected rows and why: {}", path.display());
        }
    }
    Ok(())
}

/// Stores an import's event in the access log. A running hub appends to the same chain;
/// when it took the next position first, the event is chained again onto the new head.
async fn record_import(
    config: &Config,
    data_dir: &Path,
    event: kotohub_gateway::audit::Event,
) -> Result<()> {
    let mut attempts = 0;
    loop {
        let (_, log) = open_audit(config, data_dir, Some(1)).await?;
        match log.record(event.clone()).await {
            Ok(()) => return Ok(()),
            Err(unavailable) if attempts >= 3 => {
                return Err(anyhow::Error::new(unavailable)
                    .context("the import is done, but its access-log event could not be stored"));
            }
            Err(_) => attempts += 1,
        }
    }
}

async fn seed_command(
    config: &Config,
    clients: u32,
    seed_number: u64,
    database_url: Option<String>,
    data_dir: Option<PathBuf>,
    if_empty: bool,
) -> Result<()> {
    let data_dir = data_dir.unwrap_or_else(|| config.serve.data_dir.clone());
    if database_url
        .as_deref()
        .is_some_and(|url| url.starts_with("sqlite:"))
    {
        bail!(
            "seeding fills five databases: give a PostgreSQL URL, or --data-dir for SQLite files"
        );
    }
    if database_url.is_none() {
        ensure_data_dir(&data_dir)?;
    }
    let dbs = databases::open_all(
        |name| {
            database_url
                .clone()
                .unwrap_or_else(|| url_of(config, &data_dir, name))
        },
        true,
    )
    .await?;
    if seed::has_clients(&dbs.programme).await? {
        if if_empty {
            println!("The databases already hold clients: nothing seeded.");
            return Ok(());
        }
        bail!(
            "the databases already hold clients; seed into empty databases (remove the data directory or use a fresh schema)"
        );
    }
    let summary = seed::seed(&dbs, clients, seed_number).await?;
    println!(
        "Seeded {} clients ({} rows) in {:.1} s.",
        summary.clients,
        summary.rows,
        summary.took.as_secs_f64()
    );
    let queries = database_url.unwrap_or_else(|| url_of(config, &data_dir, kotohub::QUERIES));
    example_queries(&queries, &config.access).await?;
    // Answers computed from the data before it changed must not be served any more.
    invalidate_answers(config).await?;
    Ok(())
}

/// Drops every cached answer in the configured shared store.
async fn invalidate_answers(config: &Config) -> Result<()> {
    let store = services::cache_store(&config.cache).map_err(anyhow::Error::msg)?;
    // A command has no requests to wait for: it connects first, rather than fall back.
    if store.uses_redis() && !store.connect(std::time::Duration::from_secs(5)).await {
        bail!(
            "Redis did not answer: the cached answers were not dropped; run `kotohub cache invalidate` when it is back"
        );
    }
    if !services::response_cache(&config.cache, &store)
        .invalidate()
        .await
    {
        bail!(
            "Redis did not answer: the cached answers were not dropped; run `kotohub cache invalidate` when it is back"
        );
    }
    Ok(())
}

/// Opens and migrates the saved-query database at `url`, and saves the example queries
/// into it when it holds none.
async fn example_queries(
    url: &str,
    access: &kotohub_config::Access,
) -> Result<sea_orm::DatabaseConnection> {
    let db = databases::open(kotohub::QUERIES, url).await?;
    databases::migrate(kotohub::QUERIES, &db).await?;
    let policy = std::sync::Arc::new(access::policy()?);
    let purposes: Vec<String> = access.purposes.keys().cloned().collect();
    let checks = kotohub::checks::SaveChecks::new(policy, &purposes).map_err(anyhow::Error::msg)?;
    let saved = seed::saved_queries::seed_saved_queries(&db, &checks)
        .await
        .context("cannot save the example queries")?;
    if saved > 0 {
        println!("Saved {saved} example queries for the responsible bodies.");
    }
    Ok(db)
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| {
        let known: Vec<&str> = Role::ALL.iter().map(|role| role.as_str()).collect();
        format!("expected one of: {}", known.join(", "))
    })
}

fn parse_override(text: &str) -> Result<(String, String), String> {
    let (name, url) = text.split_once('=').ok_or("expected NAME=URL")?;
    if name.is_empty() || !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err("expected NAME=URL with an http:// or https:// URL".to_owned());
    }
    Ok((name.to_owned(), url.to_owned()))
}

async fn gateway_command(
    config: &Config,
    supergraph: Option<PathBuf>,
    subgraphs: Vec<(String, String)>,
    listen: Option<SocketAddr>,
) -> Result<()> {
    let sdl = match &supergraph {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        None => services::SUPERGRAPH.to_owned(),
    };
    let overrides = subgraphs.into_iter().collect();
    let listen = listen.unwrap_or(config.serve.listen);
    let policy = std::sync::Arc::new(access::policy()?);
    let store = services::cache_store(&config.cache).map_err(anyhow::Error::msg)?;
    let gateway_access = access::gateway_access(
        &config.auth,
        &config.serve.data_dir,
        policy,
        services::jwks_cache(&store),
    )?;
    ensure_data_dir(&config.serve.data_dir)?;
    // The gateway only appends to the log, from one task: two connections are its
    // writer and a spare for reading the chain's head back after a failed commit.
    let (_, audit) = open_audit(config, &config.serve.data_dir, Some(2)).await?;
    if gateway_access.is_none() {
        if !listen.ip().is_loopback() {
            bail!(
                "auth.mode = \"off\" serves anyone, so it binds loopback addresses only, not {listen}"
            );
        }
        tracing::warn!(
            "AUTHENTICATION IS OFF: every request is served without a caller or an access check"
        );
        eprintln!(
            "WARNING: authentication is off (auth.mode = \"off\"). Use this only for development and conformance testing."
        );
    }
    let (router, reloader) = services::gateway_service(
        &sdl,
        &overrides,
        &services::GatewaySettings::load(config, &store).map_err(anyhow::Error::msg)?,
        gateway_access,
        Some(audit),
    )?;
    let reloader = std::sync::Arc::new(reloader);
    if let Some(path) = &supergraph {
        let every = std::time::Duration::from_secs(config.gateway.reload_seconds);
        tokio::spawn(reload_on_change(path.clone(), reloader.clone(), every)?);
    }
    // The console speaks Kotohub's schema: in front of another supergraph (the
    // conformance suite's, the benchmark's) it has nothing to show.
    let router = if reloader.has_subgraph(kotohub::AUDIT) {
        router.merge(kotohub_console::router(access::console_sign_in(
            &config.auth,
            &config.console,
            &config.serve.data_dir,
        )?))
    } else {
        router
    };
    let shutdown = Shutdown::new();
    let service = services::start("gateway", listen, router, &shutdown).await?;
    let stop = stop_signal()?;
    println!("The gateway is serving http://{}/graphql", service.addr);
    stop.await;
    // Out of rotation first: the balancer sees `/ready` fail and sends the next
    // requests elsewhere while this replica still answers whatever reaches it.
    let drain = std::time::Duration::from_secs(config.gateway.drain_seconds);
    if !drain.is_zero() {
        reloader.drain();
        tracing::info!(seconds = drain.as_secs(), "draining before shutting down");
        tokio::time::sleep(drain).await;
    }
    shutdown.trigger();
    service.task.await??;
    Ok(())
}

/// Reloads the supergraph in `path` on SIGHUP and, unless `every` is zero, whenever the
/// file's text has changed when looked at again (a Kubernetes ConfigMap is replaced
/// under a mounted file without a signal). A file that cannot be read or does not parse
/// leaves the served supergraph in place and says why in the log.
fn reload_on_change(
    path: PathBuf,
    reloader: std::sync::Arc<services::SupergraphReloader>,
    every: std::time::Duration,
) -> Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangup = signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?;
    Ok(async move {
        // The text last refused: looked at again unchanged, it is not reported again
        // every few seconds (a SIGHUP still tries it).
        let mut refused: Option<String> = None;
        loop {
            let looked_again = async {
                if every.is_zero() {
                    std::future::pending::<()>().await;
                }
                tokio::time::sleep(every).await;
            };
            let asked = tokio::select! {
                _ = hangup.recv() => true,
                () = looked_again => false,
            };
            let sdl = match tokio::fs::read_to_string(&path).await {
                Ok(sdl) => sdl,
                Err(error) => {
                    tracing::error!(path = %path.display(), %error, "cannot read the supergraph; serving the one loaded");
                    continue;
                }
            };
            let fingerprint = kotohub_gateway::audit::sha256_hex(sdl.as_bytes());
            if !asked && refused.as_deref() == Some(fingerprint.as_str()) {
                continue;
            }
            refused = None;
            let reloader = reloader.clone();
            // Parsing and building the planner take a while: not on a request's thread.
            match tokio::task::spawn_blocking(move || {
                reloader
                    .reload(&sdl)
                    .map(|changed| (changed, reloader.fingerprint()))
            })
            .await
            {
                Ok(Ok((true, fingerprint))) => {
                    tracing::info!(path = %path.display(), fingerprint, "supergraph reloaded");
                }
                Ok(Ok((false, _))) => {}
                Ok(Err(error)) => {
                    tracing::error!(path = %path.display(), %error, "the new supergraph is not valid; serving the one loaded");
                    refused = Some(fingerprint);
                }
                Err(error) => tracing::error!(%error, "reloading the supergraph failed"),
            }
        }
    })
}

/// `kotohub probe URL`.
async fn probe(url: &str, timeout: u64) -> Result<()> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(timeout))
        .build()
        .context("cannot make an HTTP client")?;
    let response = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("{url} does not answer"))?;
    let status = response.status();
    if !status.is_success() {
        bail!("{url} answered {status}");
    }
    Ok(())
}

fn sdl_command(out_dir: &Path, check: bool) -> Result<()> {
    let mut stale = Vec::new();
    for name in kotohub::ALL_SUBGRAPHS {
        let text = sdl::sdl(name).context("every subgraph exports its SDL")?;
        let path = out_dir.join(sdl::file_name(name));
        if check {
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            if committed != text {
                stale.push(path.display().to_string());
            }
        } else {
            std::fs::create_dir_all(out_dir)?;
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!("wrote {}", path.display());
        }
    }
    if !stale.is_empty() {
        bail!(
            "these SDL files differ from the code; run `kotohub sdl`: {}",
            stale.join(", ")
        );
    }
    Ok(())
}
