//! A running hub for one test: the five subgraphs on ephemeral loopback ports, each on
//! its own database, seeded with synthetic clients, with a counter of the SQL statements
//! each database executed. Requests are sent as a principal: by default an officer of
//! every responsible body (who sees every row), or any principal a test names.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use kotohub::SUBGRAPHS;
use kotohub::import::identity::Pseudonymiser;
use kotohub::seed::{self, Databases};
use kotohub::services::{self, Shutdown};
use kotohub_auth::internal::{self, InternalKey};
use kotohub_auth::{Authenticator, DevIssuer, Principal, Role};
use kotohub_gateway::authorize::Access;
use kotohub_subgraph::db;
use kotohub_subgraph::serve::Guard;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};

/// Which database server the subgraphs use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Synthetic clients seeded for a test: enough for entity batches of 1,000.
pub const CLIENTS: u32 = 1_200;
/// The seed number tests use.
pub const SEED: u64 = 2017;

pub struct Hub {
    pub dbs: Databases,
    /// The access log's database, and the log the gateway writes to it.
    pub audit: DatabaseConnection,
    pub audit_log: kotohub_audit::AuditLog,
    /// The saved-query database, with the embedded default's seeded queries.
    pub queries: DatabaseConnection,
    /// Operations the gateway received (requests to `/graphql`, less the GraphiQL page):
    /// each must leave exactly one event, which [`Hub::stop`] checks.
    pub gateway_requests: Arc<AtomicU64>,
    /// Events a test knows are not there: operations answered `503` while the log refused
    /// writes, events it deleted on purpose.
    pub missing_events: AtomicU64,
    urls: HashMap<&'static str, String>,
    statements: HashMap<&'static str, Arc<AtomicU64>>,
    /// The statements each subgraph's database executes while a test records them.
    recorded: Recorded,
    shutdown: Shutdown,
    /// Each subgraph's own stop handle, to take one down while the rest run.
    subgraph_shutdowns: HashMap<&'static str, Shutdown>,
    http: reqwest::Client,
    cleanup: Cleanup,
    guard: Guard,
    tokens: DevIssuer,
    internal: InternalKey,
    /// Who requests run as unless a test says otherwise.
    pub default_principal: Principal,
}

/// Held by a test that runs `kotohub` on PostgreSQL with `--database-url`: the command
/// writes the schemas named after the subgraphs, which such tests share.
pub static COMMAND_SCHEMAS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The token issuer and audience of test hubs.
pub const ISSUER: &str = "kotohub-test";
pub const AUDIENCE: &str = "kotohub";
/// The secrets of test hubs: fixed, so a test can forge with a different one.
pub const DEV_SECRET: &str = "test-dev-secret-test-dev-secret-0";
pub const INTERNAL_SECRET: &str = "test-internal-secret-test-internal";
/// The key client ids are derived from identity codes with, in uploads to test hubs.
pub const IDENTITY_SECRET: &str = "import-test-key-0123456789abcdef-0123";

/// The gateway's access checks with the test secrets.
/// The header a person-level read states its purpose in.
pub const PURPOSE_HEADER: &str = "kotohub-purpose";
/// The purpose the tests' reads state: one of the built-in defaults.
pub const PURPOSE: &str = "client-work";

pub fn test_access() -> Access {
    Access {
        authenticator: Authenticator::shared_secret(DEV_SECRET, ISSUER, AUDIENCE),
        policy: Arc::new(kotohub::access::CedarPolicy(Arc::new(
            kotohub::access::policy().unwrap(),
        ))),
        internal: InternalKey::new(INTERNAL_SECRET),
    }
}

/// An officer of every City body in the catalog: sees every row but the partner
/// organisations' (an officer acts for the City's bodies only).
pub fn officer_of_all_bodies() -> Principal {
    let catalog = kotohub_programme::catalog::Catalog::embedded().unwrap();
    let partners = catalog.partner_bodies();
    Principal::new(
        "test-officer-all",
        [Role::Officer],
        catalog
            .bodies
            .iter()
            .map(|b| b.id.clone())
            .filter(|id| !partners.contains(id)),
        None,
    )
}

/// A principal with one role and the given bodies.
pub fn principal(role: Role, bodies: &[&str]) -> Principal {
    Principal::new(
        format!("test-{role}"),
        [role],
        bodies.iter().map(|b| b.to_string()),
        None,
    )
}

enum Cleanup {
    Directory(PathBuf),
    Schemas(Vec<String>),
}

/// Statements recorded by subgraph, while a test records them.
type Recorded = Arc<std::sync::Mutex<Option<Vec<(&'static str, sea_orm::Statement)>>>>;

/// Counts the statements `db` executes, and records them while `recorded` is on.
fn watch_statements(
    db: &mut DatabaseConnection,
    subgraph: &'static str,
    recorded: &Recorded,
) -> Arc<AtomicU64> {
    let counter = Arc::new(AtomicU64::new(0));
    let (seen, recorded) = (counter.clone(), recorded.clone());
    db.set_metric_callback(move |info| {
        seen.fetch_add(1, Ordering::Relaxed);
        if let Some(statements) = recorded.lock().unwrap().as_mut() {
            statements.push((subgraph, info.statement.clone()));
        }
    });
    counter
}

/// A fresh, unique name for this test's databases.
fn unique_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "t{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

/// The PostgreSQL server for tests, if any. Under CI it is required, so that a missing
/// server fails the run instead of silently skipping the PostgreSQL half.
pub fn postgres_url() -> Option<String> {
    match std::env::var("KOTOHUB_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but KOTOHUB_TEST_POSTGRES_URL is not set: the PostgreSQL tests must run in CI"
            );
            eprintln!("KOTOHUB_TEST_POSTGRES_URL is not set: PostgreSQL half skipped");
            None
        }
    }
}

impl Hub {
    /// Starts a seeded hub on `backend`, or `None` when that backend is not available
    /// outside CI.
    pub async fn start(backend: Backend) -> Option<Hub> {
        Self::start_with(backend, CLIENTS).await
    }

    pub async fn start_with(backend: Backend, clients: u32) -> Option<Hub> {
        let name = unique_name();
        let (mut connections, cleanup) = match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("kotohub-it-{name}"));
                std::fs::create_dir_all(&dir).unwrap();
                let mut connections = Vec::new();
                for subgraph in SUBGRAPHS.iter().chain([&kotohub::AUDIT, &kotohub::QUERIES]) {
                    let url = db::sqlite_url(&dir.join(format!("{subgraph}.db")));
                    connections.push(db::connect(&url, subgraph).await.unwrap());
                }
                (connections, Cleanup::Directory(dir))
            }
            Backend::Postgres => {
                let url = postgres_url()?;
                let mut connections = Vec::new();
                let mut schemas = Vec::new();
                for subgraph in SUBGRAPHS.iter().chain([&kotohub::AUDIT, &kotohub::QUERIES]) {
                    let schema = format!("{name}_{subgraph}");
                    connections.push(db::connect(&url, &schema).await.unwrap());
                    schemas.push(schema);
                }
                (connections, Cleanup::Schemas(schemas))
            }
        };
        let queries = connections.pop().unwrap();
        kotohub_migrations::up(kotohub::QUERIES, &queries)
            .await
            .unwrap();
        let audit = connections.pop().unwrap();
        kotohub_migrations::up(kotohub::AUDIT, &audit)
            .await
            .unwrap();
        let audit_log = kotohub_audit::AuditLog::start(audit.clone()).await.unwrap();
        let mut statements = HashMap::new();
        let recorded: Recorded = Arc::default();
        for (subgraph, connection) in SUBGRAPHS.iter().zip(connections.iter_mut()) {
            kotohub_migrations::up(subgraph, connection).await.unwrap();
            statements.insert(*subgraph, watch_statements(connection, subgraph, &recorded));
        }
        let [programme, employment, education, social, culture, partners]: [DatabaseConnection; 6] =
            connections.try_into().unwrap();
        let dbs = Databases {
            programme,
            employment,
            education,
            social,
            culture,
            partners,
        };
        seed::seed(&dbs, clients, SEED).await.unwrap();

        let policy = Arc::new(kotohub::access::policy().unwrap());
        let checks = kotohub::checks::SaveChecks::new(
            policy.clone(),
            &kotohub::services::SubgraphSettings::default().purposes,
        )
        .unwrap();
        seed::saved_queries::seed_saved_queries(&queries, &checks)
            .await
            .unwrap();
        let guard = Guard::new(InternalKey::new(INTERNAL_SECRET), policy);
        let access = test_access();
        let shutdown = Shutdown::new();
        let subgraph_shutdowns: HashMap<&'static str, Shutdown> = SUBGRAPHS
            .iter()
            .chain([&kotohub::AUDIT, &kotohub::QUERIES])
            .map(|subgraph| (*subgraph, Shutdown::new()))
            .collect();
        let mut services = Vec::new();
        for subgraph in SUBGRAPHS.iter().chain([&kotohub::AUDIT, &kotohub::QUERIES]) {
            let db = match *subgraph {
                kotohub::AUDIT => audit.clone(),
                kotohub::QUERIES => queries.clone(),
                _ => dbs.get(subgraph).unwrap().clone(),
            };
            services.push(services::SubgraphService {
                name: subgraph,
                db,
                listen: "127.0.0.1:0".parse().unwrap(),
                // Each its own, so that a test can stop one subgraph alone.
                shutdown: &subgraph_shutdowns[subgraph],
            });
        }
        let running =
            services::start_subgraphs(services, &guard, &services::SubgraphSettings::default())
                .await
                .unwrap();
        let overrides = services::urls_of(&running);
        let mut urls: HashMap<&'static str, String> = running
            .iter()
            .map(|service| (service.name, format!("http://{}", service.addr)))
            .collect();
        let settings = services::GatewaySettings {
            subgraph_timeout: std::time::Duration::from_secs(5),
            ..services::GatewaySettings::default()
        };
        let gateway_requests = Arc::new(AtomicU64::new(0));
        let uploads = kotohub::upload::Uploads::new(
            Authenticator::shared_secret(DEV_SECRET, ISSUER, AUDIENCE),
            Arc::new(kotohub::access::policy().unwrap()),
            dbs.clone(),
            Pseudonymiser::new(IDENTITY_SECRET),
            Arc::new(audit_log.clone()),
        );
        let gateway = services::gateway_router(
            services::SUPERGRAPH,
            &overrides,
            &settings,
            Some(access),
            Some(audit_log.clone()),
        )
        .unwrap()
        .merge(kotohub::upload::router(Arc::new(uploads)))
        .merge(kotohub_console::router(kotohub_console::SignIn::Dev {
            issuer: DevIssuer::new(DEV_SECRET, ISSUER, AUDIENCE),
            principals: kotohub::access::demo_principals()
                .into_iter()
                .map(|(_, principal)| principal)
                .collect(),
        }));
        let gateway = counting(gateway, gateway_requests.clone());
        let running = services::start(
            "gateway",
            "127.0.0.1:0".parse().unwrap(),
            gateway,
            &shutdown,
        )
        .await
        .unwrap();
        urls.insert("gateway", format!("http://{}", running.addr));
        let hub = Hub {
            dbs,
            audit,
            audit_log,
            queries,
            gateway_requests,
            missing_events: AtomicU64::new(0),
            urls,
            statements,
            recorded,
            shutdown,
            subgraph_shutdowns,
            http: reqwest::Client::new(),
            cleanup,
            guard,
            tokens: DevIssuer::new(DEV_SECRET, ISSUER, AUDIENCE),
            internal: InternalKey::new(INTERNAL_SECRET),
            default_principal: officer_of_all_bodies(),
        };
        // The programme subgraph reads the statistics register when it starts; a
        // breakdown waits for that, so that no test counts those statements as its own.
        let analyst = Principal::new(
            "test-start",
            [Role::Analyst],
            [],
            Some("employment".to_owned()),
        );
        let body = hub
            .query_as(
                "programme",
                &analyst,
                "{ clientStatistics(by: []) { suppressedCells } }",
                json!({}),
            )
            .await;
        assert!(body.get("errors").is_none(), "{body}");
        for counter in hub.statements.values() {
            counter.store(0, Ordering::Relaxed);
        }
        Some(hub)
    }

    /// A valid bearer token for `principal`.
    pub fn token(&self, principal: &Principal) -> String {
        self.tokens
            .mint(principal, std::time::Duration::from_secs(600))
    }

    /// The `Authorization` value of the default principal.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.token(&self.default_principal))
    }

    /// The header that makes a request to `target` run as `principal`: a bearer token for
    /// the gateway, the gateway's signed principal for a subgraph.
    pub fn credential(&self, target: &str, principal: &Principal) -> (&'static str, String) {
        if target == "gateway" {
            ("authorization", format!("Bearer {}", self.token(principal)))
        } else {
            (
                internal::HEADER,
                self.internal.sign(principal, target, "test-request"),
            )
        }
    }

    /// The headers of a request to `target` as `principal`: its credential and, at the
    /// gateway, the purpose every test read states ([`PURPOSE`]).
    pub fn headers(&self, target: &str, principal: &Principal) -> Vec<(&'static str, String)> {
        let mut headers = vec![self.credential(target, principal)];
        if target == "gateway" {
            headers.push((PURPOSE_HEADER, PURPOSE.to_owned()));
        }
        headers
    }

    /// Posts a GraphQL operation as `principal`, stating [`PURPOSE`] at the gateway, and
    /// returns the response body.
    pub async fn query_as(
        &self,
        target: &str,
        principal: &Principal,
        query: &str,
        variables: Value,
    ) -> Value {
        let (status, body) = self
            .post_with(
                target,
                &json!({ "query": query, "variables": variables }).to_string(),
                &self.headers(target, principal),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Each subgraph's GraphQL URL, by name, as a gateway needs them.
    pub fn subgraph_urls(&self) -> HashMap<String, String> {
        SUBGRAPHS
            .iter()
            .chain([&kotohub::AUDIT, &kotohub::QUERIES])
            .map(|name| (name.to_string(), self.url(name, "/graphql")))
            .collect()
    }

    pub fn url(&self, subgraph: &str, path: &str) -> String {
        format!("{}{path}", self.urls[subgraph])
    }

    /// Posts a GraphQL operation and returns the response body.
    pub async fn query(&self, subgraph: &str, query: &str, variables: Value) -> Value {
        self.query_as(subgraph, &self.default_principal, query, variables)
            .await
    }

    /// Posts a query that must succeed, and returns its `data`.
    pub async fn data(&self, subgraph: &str, query: &str, variables: Value) -> Value {
        let body = self.query(subgraph, query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// Posts any body as the default principal and returns the status and the JSON answer.
    pub async fn post_raw(&self, subgraph: &str, body: &str) -> (u16, Value) {
        let headers = self.headers(subgraph, &self.default_principal);
        self.post_with(subgraph, body, &headers).await
    }

    /// Posts any body with exactly the given extra headers.
    pub async fn post_with(
        &self,
        target: &str,
        body: &str,
        headers: &[(&'static str, String)],
    ) -> (u16, Value) {
        let mut request = self
            .http
            .post(self.url(target, "/graphql"))
            .header("content-type", "application/json")
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// Ids of the clients some responsible body serves, in id order: the only clients
    /// whose core data anyone can see.
    pub async fn served_clients(&self) -> Vec<String> {
        use kotohub_programme::entity::client_body;
        use sea_orm::{EntityTrait, QueryOrder, QuerySelect};
        let txn = seed::unrestricted(&self.dbs.programme).await.unwrap();
        let mut ids: Vec<String> = client_body::Entity::find()
            .select_only()
            .column(client_body::Column::ClientId)
            .order_by_asc(client_body::Column::ClientId)
            .into_tuple()
            .all(&txn)
            .await
            .unwrap();
        ids.dedup();
        ids
    }

    /// Starts recording the statements the subgraphs' databases execute.
    pub fn record_statements(&self) {
        *self.recorded.lock().unwrap() = Some(Vec::new());
    }

    /// The statements recorded since [`Hub::record_statements`], by subgraph; recording
    /// stops.
    pub fn recorded_statements(&self) -> Vec<(&'static str, sea_orm::Statement)> {
        self.recorded.lock().unwrap().take().unwrap_or_default()
    }

    /// SQL statements the subgraph's database has executed since the last call.
    pub fn take_statements(&self, subgraph: &str) -> u64 {
        self.statements[subgraph].swap(0, Ordering::Relaxed)
    }

    /// Stops one subgraph's server while everything else runs.
    pub fn stop_subgraph(&mut self, subgraph: &'static str) {
        let own = self.subgraph_shutdowns.remove(subgraph).unwrap();
        own.trigger();
    }

    /// Starts a stopped subgraph again on its old address.
    pub async fn restart_subgraph(&mut self, subgraph: &'static str) {
        let addr = self.urls[subgraph]
            .trim_start_matches("http://")
            .parse()
            .unwrap();
        let own = Shutdown::new();
        let service = services::SubgraphService {
            name: subgraph,
            db: self.dbs.get(subgraph).unwrap().clone(),
            listen: addr,
            shutdown: &own,
        };
        services::start_subgraph(service, &self.guard, &services::SubgraphSettings::default())
            .await
            .unwrap();
        self.subgraph_shutdowns.insert(subgraph, own);
    }

    /// Starts another gateway with `settings` in front of the subgraphs at `urls` (by
    /// name; usually [`Hub::subgraph_urls`]), writing to this hub's access log and counted
    /// like the hub's own gateway. Returns its base URL (`http://addr`) and its stop handle.
    pub async fn extra_gateway(
        &self,
        urls: &HashMap<String, String>,
        settings: &services::GatewaySettings,
    ) -> (String, Shutdown) {
        self.extra_gateway_with(urls, settings, test_access(), axum::Router::new())
            .await
    }

    /// As [`Hub::extra_gateway`], checking tokens with `access` and serving `routes`
    /// beside the gateway's own (the console, say).
    pub async fn extra_gateway_with(
        &self,
        urls: &HashMap<String, String>,
        settings: &services::GatewaySettings,
        access: Access,
        routes: axum::Router,
    ) -> (String, Shutdown) {
        let router = services::gateway_router(
            services::SUPERGRAPH,
            urls,
            settings,
            Some(access),
            Some(self.audit_log.clone()),
        )
        .unwrap()
        .merge(routes);
        let router = counting(router, self.gateway_requests.clone());
        let shutdown = Shutdown::new();
        let gateway = services::start("gateway", "127.0.0.1:0".parse().unwrap(), router, &shutdown)
            .await
            .unwrap();
        (format!("http://{}", gateway.addr), shutdown)
    }

    /// Counts an event the test records in the log itself, not through the gateway (as
    /// `kotohub audit subject-report` does), so that [`Hub::stop`]'s tally still holds.
    pub fn expect_events_from_outside_the_gateway(&self, events: u64) {
        self.gateway_requests.fetch_add(events, Ordering::SeqCst);
    }

    pub async fn stop(self) {
        // Whatever the test did, the gateway left one event per operation it received
        // (pruned events are counted in their checkpoints).
        let count = |sql: &'static str| {
            let audit = &self.audit;
            async move {
                audit
                    .query_one_raw(sea_orm::Statement::from_string(
                        audit.get_database_backend(),
                        sql,
                    ))
                    .await
                    .unwrap()
                    .unwrap()
                    .try_get::<i64>("", "n")
                    .unwrap()
            }
        };
        let logged = count("SELECT COUNT(*) AS n FROM audit_events").await
            + count("SELECT CAST(COALESCE(SUM(pruned_events), 0) AS BIGINT) AS n FROM audit_checkpoints").await;
        let received = self.gateway_requests.load(Ordering::SeqCst)
            - self.missing_events.load(Ordering::SeqCst);
        assert_eq!(
            logged as u64, received,
            "every operation through the gateway leaves exactly one event"
        );
        self.shutdown.trigger();
        for own in self.subgraph_shutdowns.values() {
            own.trigger();
        }
        match self.cleanup {
            Cleanup::Directory(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Schemas(schemas) => {
                for schema in schemas {
                    self.dbs
                        .programme
                        .execute_unprepared(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                        .await
                        .unwrap();
                }
            }
        }
    }
}

/// Counts the operations `router` receives: requests to `/graphql` and saved-query runs
/// at `/q/{name}`, less the GraphiQL page a browser gets, which reads no data and is not
/// logged.
fn counting(
    router: kotohub_subgraph::serve::Router,
    counter: Arc<AtomicU64>,
) -> kotohub_subgraph::serve::Router {
    router.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let counter = counter.clone();
            async move {
                let page = request.method() == axum::http::Method::GET
                    && request
                        .headers()
                        .get("accept")
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|a| a.contains("text/html"))
                    && !request.uri().query().unwrap_or("").contains("query=");
                let path = request.uri().path();
                let operation =
                    path == "/graphql" || path.starts_with("/q/") || path.starts_with("/import/");
                if operation && !page {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
                next.run(request).await
            }
        },
    ))
}

/// Declares each listed `async fn name(backend: Backend)` as two tests, one per backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            )*
        }
    };
}

/// The ids in a list of objects.
pub fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The stored event of the request `id`, as column → text.
pub async fn event_of(hub: &Hub, id: &str) -> Value {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let backend = hub.audit.get_database_backend();
    // The columns read, named: a `SELECT *` once came back from SQLite with fewer values
    // than its statement's columns (the sqlx worker panicked), which a named list avoids.
    let columns = "subject, decision, operation_type, document_hash, variables_hash, fields, \
                   subgraphs, policies, error_codes, denied_fields, status, suppressed_cells, \
                   client_address, client_ids, purpose, emergency_access";
    let sql = match backend {
        DbBackend::Postgres => {
            format!("SELECT {columns} FROM audit_events WHERE request_id = $1")
        }
        _ => format!("SELECT {columns} FROM audit_events WHERE request_id = ?"),
    };
    let rows = hub
        .audit
        .query_all_raw(Statement::from_sql_and_values(backend, sql, [id.into()]))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "request {id} has {} events", rows.len());
    let row = &rows[0];
    let text = |column: &str| row.try_get::<Option<String>>("", column).unwrap();
    json!({
        "subject": text("subject"),
        "decision": text("decision"),
        "operation_type": text("operation_type"),
        "document_hash": text("document_hash"),
        "variables_hash": text("variables_hash"),
        "fields": serde_json::from_str::<Value>(&text("fields").unwrap()).unwrap(),
        "subgraphs": serde_json::from_str::<Value>(&text("subgraphs").unwrap()).unwrap(),
        "policies": serde_json::from_str::<Value>(&text("policies").unwrap()).unwrap(),
        "error_codes": serde_json::from_str::<Value>(&text("error_codes").unwrap()).unwrap(),
        "denied_fields": serde_json::from_str::<Value>(&text("denied_fields").unwrap()).unwrap(),
        "status": row.try_get::<i32>("", "status").unwrap(),
        "suppressed_cells": row.try_get::<i64>("", "suppressed_cells").unwrap(),
        "client_address": text("client_address"),
        "client_ids": serde_json::from_str::<Value>(&text("client_ids").unwrap()).unwrap(),
        "purpose": text("purpose"),
        "emergency_access": text("emergency_access"),
    })
}

/// A directory of one test's own, removed at the end unless the test failed (its
/// processes' logs stay for whoever looks into it); other users (postgres) may enter it.
pub struct WorkDir(pub PathBuf);

impl WorkDir {
    pub fn new(label: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "kotohub-{label}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&path).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self(path)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("the failed test's files are in {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Runs `command` to its end and returns what it printed, failing the test with what it
/// said on stderr when it did not succeed.
pub fn succeed(command: &mut std::process::Command) -> String {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The codes of an answer's errors, in order.
pub fn error_codes(answer: &Value) -> Vec<String> {
    answer["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["extensions"]["code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Paths of an answer's FORBIDDEN errors, list indexes left out, sorted, each once.
pub fn forbidden_paths(answer: &Value) -> Vec<String> {
    let mut paths: Vec<String> = answer["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["extensions"]["code"] == "FORBIDDEN")
        .map(|e| {
            e["path"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(".")
        })
        .collect();
    paths.sort();
    paths.dedup();
    paths
}
