//! Starting and stopping subgraph services. Each subgraph is its own HTTP server on its
//! own port, exactly as it runs alone in production, so the embedded default exercises
//! the same network path as a deployment.

use std::net::SocketAddr;

use kotohub_subgraph::serve::{Guard, Router, serve};
use sea_orm::{DatabaseConnection, DbErr};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The routes of the subgraph called `name` over `db`, checking requests with `guard`,
/// or `None` for an unknown name.
pub async fn router(
    name: &str,
    db: DatabaseConnection,
    guard: Guard,
    settings: &SubgraphSettings,
) -> Result<Option<Router>, DbErr> {
    Ok(Some(match name {
        "programme" => kotohub_programme::router(db, guard).await?,
        "employment" => kotohub_employment::router(db, guard),
        "education" => kotohub_education::router(db, guard),
        "social" => kotohub_social::router(db, guard),
        "culture" => kotohub_culture::router(db, guard),
        "partners" => kotohub_partners::router(db, guard),
        "audit" => kotohub_audit::graphql::router(db, guard, settings.emergency_minutes),
        "queries" => {
            let checks = crate::checks::SaveChecks::new(guard.policy(), &settings.purposes)
                .map_err(|e| DbErr::Custom(format!("saved-query checks: {e}")))?;
            kotohub_queries::graphql::router(db, guard, std::sync::Arc::new(checks))
        }
        _ => return Ok(None),
    }))
}

/// What the subgraphs take from the configuration's `access` section.
#[derive(Clone)]
pub struct SubgraphSettings {
    /// The purposes a saved query may state as its default.
    pub purposes: Vec<String>,
    /// How long an emergency access opened in the audit subgraph lasts.
    pub emergency_minutes: u32,
}

impl From<&kotohub_config::Access> for SubgraphSettings {
    fn from(access: &kotohub_config::Access) -> Self {
        Self {
            purposes: access.purposes.keys().cloned().collect(),
            emergency_minutes: access.emergency_minutes,
        }
    }
}

impl Default for SubgraphSettings {
    /// The built-in defaults (`deploy/config/kotohub.toml`).
    fn default() -> Self {
        Self::from(&built_in_defaults().access)
    }
}

/// The configuration's built-in defaults, without a file or the environment.
fn built_in_defaults() -> kotohub_config::Config {
    kotohub_config::Config::load_from(None, std::iter::empty())
        .expect("the built-in defaults are a valid configuration (tested in kotohub-config)")
}

/// The supergraph composed from the subgraphs of this repository (`schema/`).
pub const SUPERGRAPH: &str = include_str!("../../../schema/supergraph.graphql");

/// Settings of the gateway taken from the configuration.
#[derive(Clone)]
pub struct GatewaySettings {
    pub subgraph_timeout: std::time::Duration,
    /// Timeouts of particular subgraphs, by name.
    pub subgraph_timeouts: std::collections::HashMap<String, std::time::Duration>,
    pub max_body_bytes: usize,
    pub limits: kotohub_gateway::validate::Limits,
    /// Only saved queries and persisted operations run, except for admins.
    pub safelist: bool,
    /// Registered persisted operations: document by SHA-256.
    pub persisted: std::collections::HashMap<String, String>,
    /// Where analysts' answers are kept, if anywhere.
    pub response_cache: Option<kotohub_cache::Cache>,
    /// Where plans are shared with the other replicas, if anywhere.
    pub plan_cache: Option<kotohub_cache::Cache>,
    /// How many requests callers may make, if limited.
    pub rate_limits: Option<kotohub_gateway::pipeline::RateLimits>,
    /// The purposes a person-level read may state.
    pub purposes: Vec<String>,
    /// The proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: kotohub_gateway::forwarded::TrustedProxies,
}

impl Default for GatewaySettings {
    /// The built-in defaults, with no response cache.
    fn default() -> Self {
        Self {
            subgraph_timeout: std::time::Duration::from_secs(10),
            subgraph_timeouts: std::collections::HashMap::new(),
            max_body_bytes: 1024 * 1024,
            limits: kotohub_gateway::validate::Limits::default(),
            safelist: false,
            persisted: std::collections::HashMap::new(),
            response_cache: None,
            plan_cache: None,
            rate_limits: None,
            purposes: SubgraphSettings::default().purposes,
            trusted_proxies: Default::default(),
        }
    }
}

/// The rate limits of `config`, drawing from buckets in `store`; `None` when disabled.
pub fn rate_limits(
    config: &kotohub_config::RateLimits,
    store: &kotohub_cache::Store,
) -> Result<Option<kotohub_gateway::pipeline::RateLimits>, String> {
    use kotohub_cache::rate::{Limit, RateLimiter};
    if !config.enabled {
        return Ok(None);
    }
    let limit = |l: &kotohub_config::RateLimit| Limit {
        per_second: l.per_second,
        burst: l.burst,
    };
    let mut roles = std::collections::HashMap::new();
    for (name, l) in &config.roles {
        let role = kotohub_auth::Role::parse(name).ok_or_else(|| {
            let known: Vec<&str> = kotohub_auth::Role::ALL.iter().map(|r| r.as_str()).collect();
            format!(
                "rate_limits.roles.{name}: no such role ({})",
                known.join(", ")
            )
        })?;
        roles.insert(role, limit(l));
    }
    Ok(Some(kotohub_gateway::pipeline::RateLimits {
        limiter: RateLimiter::new(store),
        address: config.address.as_ref().map(limit),
        roles,
    }))
}

/// The name of the shared JWKS cache: part of its keys in Redis.
pub const JWKS_CACHE: &str = "jwks";

/// The identity provider's key set as replicas share it, when they share a Redis.
pub fn jwks_cache(store: &kotohub_cache::Store) -> Option<kotohub_cache::Cache> {
    // Keys rotate seldom; a replica meeting an unknown key id asks the provider anyway.
    store.uses_redis().then(|| {
        kotohub_cache::Cache::new(JWKS_CACHE, store, std::time::Duration::from_secs(3600), 10)
    })
}

/// The name of the shared plan cache: part of its keys in Redis.
pub const PLAN_CACHE: &str = "plan";

/// The name of the response cache: part of its keys in Redis.
pub const RESPONSE_CACHE: &str = "response";

/// The shared store `config` describes: Redis (or a cluster) when a URL is given, else
/// process memory.
pub fn cache_store(config: &kotohub_config::Cache) -> Result<kotohub_cache::Store, String> {
    use kotohub_cache::{Backend, Settings, Store};
    let backend = match (&config.redis_url, config.cluster) {
        (None, _) => Backend::Memory,
        (Some(url), false) => Backend::Redis(url.expose().to_owned()),
        (Some(urls), true) => Backend::Cluster(
            urls.expose()
                .split(',')
                .map(|url| url.trim().to_owned())
                .filter(|url| !url.is_empty())
                .collect(),
        ),
    };
    Store::new(&Settings {
        backend,
        timeout: std::time::Duration::from_millis(config.timeout_ms),
    })
    .map_err(|e| e.to_string())
}

/// The response cache of `config` in `store`.
pub fn response_cache(
    config: &kotohub_config::Cache,
    store: &kotohub_cache::Store,
) -> kotohub_cache::Cache {
    kotohub_cache::Cache::new(
        RESPONSE_CACHE,
        store,
        std::time::Duration::from_secs(config.response_ttl_seconds),
        config.memory_entries,
    )
}

impl GatewaySettings {
    /// The gateway's settings in `config`, with its persisted-operation manifest read and
    /// its response cache in the configured store.
    pub fn load(
        config: &kotohub_config::Config,
        store: &kotohub_cache::Store,
    ) -> Result<Self, String> {
        let mut settings = Self::from(&config.gateway);
        settings.purposes = config.access.purposes.keys().cloned().collect();
        settings.response_cache = Some(response_cache(&config.cache, store));
        // Each gateway keeps its own plans in process; Redis lets a new replica start warm.
        if store.uses_redis() {
            settings.plan_cache = Some(kotohub_cache::Cache::new(
                PLAN_CACHE,
                store,
                std::time::Duration::from_secs(24 * 3600),
                1_000,
            ));
        }
        settings.rate_limits = rate_limits(&config.rate_limits, store)?;
        settings.trusted_proxies =
            kotohub_gateway::forwarded::TrustedProxies::parse(&config.gateway.trusted_proxies)
                .map_err(|e| format!("gateway.trusted_proxies: {e}"))?;
        if let Some(path) = &config.gateway.persisted_operations {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            settings.persisted = kotohub_gateway::persisted::from_manifest(&text)?;
        }
        Ok(settings)
    }
}

impl From<&kotohub_config::Gateway> for GatewaySettings {
    fn from(config: &kotohub_config::Gateway) -> Self {
        Self {
            subgraph_timeout: std::time::Duration::from_millis(config.subgraph_timeout_ms),
            subgraph_timeouts: config
                .subgraph_timeouts_ms
                .iter()
                .map(|(name, ms)| (name.clone(), std::time::Duration::from_millis(*ms)))
                .collect(),
            max_body_bytes: config.max_body_bytes,
            limits: kotohub_gateway::validate::Limits {
                max_tokens: config.max_tokens,
                max_recursion: config.max_recursion,
                max_depth: config.max_depth,
                max_aliases: config.max_aliases,
                max_root_fields: config.max_root_fields,
            },
            safelist: config.safelist,
            persisted: std::collections::HashMap::new(),
            response_cache: None,
            plan_cache: None,
            rate_limits: None,
            purposes: SubgraphSettings::default().purposes,
            trusted_proxies: Default::default(),
        }
    }
}

/// What Kotohub's subgraphs report of each answer for the access log, in the response
/// extensions the subgraph crate writes: the clients whose person-level data it holds
/// and the aggregate cells it suppressed.
pub struct SubgraphReports;

impl kotohub_gateway::execute::PersonDataCollector for SubgraphReports {
    fn collect(
        &self,
        extensions: &serde_json::Map<String, serde_json::Value>,
    ) -> kotohub_gateway::execute::Reported {
        use kotohub_auth::internal::{CLIENTS_EXTENSION, SUPPRESSED_EXTENSION};
        kotohub_gateway::execute::Reported {
            clients: extensions
                .get(CLIENTS_EXTENSION)
                .and_then(serde_json::Value::as_array)
                .map(|ids| {
                    ids.iter()
                        .filter_map(serde_json::Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            suppressed: extensions
                .get(SUPPRESSED_EXTENSION)
                .and_then(serde_json::Value::as_i64)
                .unwrap_or(0),
        }
    }
}

/// The gateway's routes over `supergraph_sdl`. Each subgraph's URL is the supergraph's
/// (`@join__graph(url:)`) unless `overrides` names another. Without `access` the gateway
/// serves anyone (authentication off); with `audit` every operation is recorded before
/// it is answered.
pub fn gateway_router(
    supergraph_sdl: &str,
    overrides: &std::collections::HashMap<String, String>,
    settings: &GatewaySettings,
    access: Option<kotohub_gateway::authorize::Access>,
    audit: Option<kotohub_audit::AuditLog>,
) -> Result<Router, kotohub_gateway::SupergraphError> {
    gateway_service(supergraph_sdl, overrides, settings, access, audit).map(|(router, _)| router)
}

/// The gateway's routes, as [`gateway_router`], and the handle that reloads its
/// supergraph while it serves.
pub fn gateway_service(
    supergraph_sdl: &str,
    overrides: &std::collections::HashMap<String, String>,
    settings: &GatewaySettings,
    access: Option<kotohub_gateway::authorize::Access>,
    audit: Option<kotohub_audit::AuditLog>,
) -> Result<(Router, SupergraphReloader), kotohub_gateway::SupergraphError> {
    let reloader = SupergraphReloader {
        live: None,
        overrides: overrides.clone(),
        settings: settings.clone(),
    };
    let (supergraph, planner, subgraphs) = reloader.parts(supergraph_sdl)?;
    let mut gateway =
        kotohub_gateway::Gateway::new(supergraph, planner, subgraphs, settings.limits);
    if let Some(access) = access {
        gateway = gateway.with_access(access);
    }
    if let Some(audit) = audit {
        gateway = gateway
            .with_emergency_accesses(std::sync::Arc::new(audit.emergency_accesses()))
            .with_audit(std::sync::Arc::new(audit));
    }
    gateway = gateway
        .with_purposes(settings.purposes.iter().cloned())
        .with_safelist(settings.safelist)
        .with_persisted_operations(settings.persisted.clone());
    if let Some(cache) = &settings.response_cache {
        gateway = gateway.with_response_cache(cache.clone());
    }
    if let Some(cache) = &settings.plan_cache {
        gateway = gateway.with_plan_cache(cache.clone());
    }
    if let Some(limits) = &settings.rate_limits {
        gateway = gateway.with_rate_limits(limits.clone());
    }
    let live = kotohub_gateway::live::LiveGateway::new(gateway);
    let router = kotohub_gateway::http::router(
        live.clone(),
        kotohub_gateway::http::HttpSettings {
            max_body_bytes: settings.max_body_bytes,
            trusted_proxies: settings.trusted_proxies.clone(),
        },
    );
    Ok((
        router,
        SupergraphReloader {
            live: Some(live),
            ..reloader
        },
    ))
}

/// A supergraph, its planner and its subgraphs: what a gateway is built on.
type GatewayParts = (
    std::sync::Arc<kotohub_gateway::Supergraph>,
    std::sync::Arc<kotohub_gateway::plan::HivePlanner>,
    kotohub_gateway::execute::Subgraphs,
);

/// Puts a new supergraph under a serving gateway: requests under way finish on the old
/// one, the next ones are planned and validated against the new one, and everything
/// else the gateway holds (callers' checks, access log, caches, rate limits, metrics)
/// goes on.
pub struct SupergraphReloader {
    live: Option<std::sync::Arc<kotohub_gateway::live::LiveGateway>>,
    overrides: std::collections::HashMap<String, String>,
    settings: GatewaySettings,
}

impl SupergraphReloader {
    /// Serves `supergraph_sdl` from now on; `Ok(false)` when it is the one served
    /// already. A supergraph that does not parse leaves the served one in place.
    pub fn reload(&self, supergraph_sdl: &str) -> Result<bool, kotohub_gateway::SupergraphError> {
        let Some(live) = &self.live else {
            return Ok(false);
        };
        let current = live.current();
        if current.supergraph().fingerprint()
            == kotohub_gateway::audit::sha256_hex(supergraph_sdl.as_bytes())
        {
            return Ok(false);
        }
        let (supergraph, planner, subgraphs) = self.parts(supergraph_sdl)?;
        live.replace(current.reloaded(supergraph, planner, subgraphs));
        Ok(true)
    }

    /// Answers `/ready` with 503 from now on: the process is shutting down.
    pub fn drain(&self) {
        if let Some(live) = &self.live {
            live.drain();
        }
    }

    /// Whether the supergraph served now has a subgraph called `name`.
    pub fn has_subgraph(&self, name: &str) -> bool {
        self.live.as_ref().is_some_and(|live| {
            live.current()
                .supergraph()
                .subgraph_urls()
                .contains_key(name)
        })
    }

    /// The fingerprint of the supergraph served now.
    pub fn fingerprint(&self) -> Option<String> {
        self.live
            .as_ref()
            .map(|live| live.current().supergraph().fingerprint().to_owned())
    }

    /// What a gateway on `supergraph_sdl` is built of: the supergraph, its planner, and
    /// its subgraphs at their URLs (or the overrides').
    fn parts(
        &self,
        supergraph_sdl: &str,
    ) -> Result<GatewayParts, kotohub_gateway::SupergraphError> {
        use kotohub_gateway::execute::{Endpoint, Subgraphs};
        use kotohub_gateway::plan::{HivePlanner, PlannerSettings};
        let supergraph = std::sync::Arc::new(kotohub_gateway::Supergraph::parse(supergraph_sdl)?);
        let endpoints = supergraph
            .subgraph_urls()
            .iter()
            .map(|(name, url)| {
                let url = self.overrides.get(name).unwrap_or(url).clone();
                let timeout = self
                    .settings
                    .subgraph_timeouts
                    .get(name)
                    .copied()
                    .unwrap_or(self.settings.subgraph_timeout);
                (name.clone(), Endpoint { url, timeout })
            })
            .collect();
        let planner = std::sync::Arc::new(HivePlanner::new(
            supergraph.clone(),
            PlannerSettings::default(),
        ));
        let subgraphs =
            Subgraphs::new(endpoints).with_collector(std::sync::Arc::new(SubgraphReports));
        Ok((supergraph, planner, subgraphs))
    }
}

/// A running service: where it listens and the task serving it.
pub struct Running {
    pub name: &'static str,
    pub addr: SocketAddr,
    pub task: JoinHandle<std::io::Result<()>>,
}

/// Tells running services to stop, and lets them finish in-flight requests.
#[derive(Clone)]
pub struct Shutdown {
    sender: watch::Sender<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    pub fn new() -> Self {
        Self {
            sender: watch::channel(false).0,
        }
    }

    /// Signals every service started with this handle to stop.
    pub fn trigger(&self) {
        self.sender.send_replace(true);
    }

    /// Resolves once [`Shutdown::trigger`] has been called.
    pub fn wait(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut receiver = self.sender.subscribe();
        async move {
            // An error means the sender is gone, which also means stop.
            let _ = receiver.wait_for(|stop| *stop).await;
        }
    }
}

/// One subgraph service of the hub to start: the divisions' subgraphs, the access log's
/// and the saved queries'.
pub struct SubgraphService<'a> {
    pub name: &'static str,
    pub db: DatabaseConnection,
    /// Port 0 picks a free one.
    pub listen: SocketAddr,
    /// Stops this service; several may share one.
    pub shutdown: &'a Shutdown,
}

/// Starts the hub's subgraph services, each its own HTTP server on its own port, checking
/// requests with `guard`: the one way `serve`, `kotohub subgraph`, the tests and the bench
/// start them.
pub async fn start_subgraphs(
    services: Vec<SubgraphService<'_>>,
    guard: &Guard,
    settings: &SubgraphSettings,
) -> anyhow::Result<Vec<Running>> {
    let mut running = Vec::with_capacity(services.len());
    for service in services {
        running.push(start_subgraph(service, guard, settings).await?);
    }
    Ok(running)
}

/// Starts one subgraph service (see [`start_subgraphs`]).
pub async fn start_subgraph(
    service: SubgraphService<'_>,
    guard: &Guard,
    settings: &SubgraphSettings,
) -> anyhow::Result<Running> {
    use anyhow::Context;
    let name = service.name;
    let router = router(name, service.db, guard.clone(), settings)
        .await
        .with_context(|| format!("cannot build the {name} subgraph"))?
        .with_context(|| format!("no subgraph is called {name}"))?;
    let listen = service.listen;
    start(name, listen, router, service.shutdown)
        .await
        .with_context(|| format!("cannot listen on {listen} for the {name} subgraph"))
}

/// Where the gateway reaches each of `running`, by subgraph name: the overrides of the
/// supergraph's URLs for [`gateway_router`].
pub fn urls_of(running: &[Running]) -> std::collections::HashMap<String, String> {
    running
        .iter()
        .map(|service| {
            (
                service.name.to_owned(),
                format!("http://{}/graphql", service.addr),
            )
        })
        .collect()
}

/// Binds `addr` (port 0 picks a free one) and serves `router` until `shutdown`.
pub async fn start(
    name: &'static str,
    addr: SocketAddr,
    router: Router,
    shutdown: &Shutdown,
) -> std::io::Result<Running> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(serve(listener, router, shutdown.wait()));
    Ok(Running { name, addr, task })
}

#[cfg(test)]
mod tests {
    use kotohub_gateway::execute::PersonDataCollector;
    use serde_json::json;

    use super::*;

    fn extensions(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        value.as_object().cloned().expect("an object")
    }

    #[test]
    fn a_subgraphs_report_names_the_clients_and_the_suppressed_cells() {
        let reported = SubgraphReports.collect(&extensions(json!({
            kotohub_auth::internal::CLIENTS_EXTENSION: ["c-1", "c-2"],
            kotohub_auth::internal::SUPPRESSED_EXTENSION: 3,
        })));
        assert_eq!(reported.clients, ["c-1", "c-2"]);
        assert_eq!(reported.suppressed, 3);
    }

    #[test]
    fn extensions_of_other_shapes_report_nothing() {
        let reported = SubgraphReports.collect(&extensions(json!({
            kotohub_auth::internal::CLIENTS_EXTENSION: "c-1",
            kotohub_auth::internal::SUPPRESSED_EXTENSION: "3",
            "tracing": {},
        })));
        assert_eq!(reported, kotohub_gateway::execute::Reported::default());
    }
}
