//! Planning, the step after validation: turns a valid operation into a query plan over
//! the subgraphs. Planning sits behind [`QueryPlanner`], our own trait, so the planner can
//! be replaced without touching the executor's callers; today it is
//! `hive-router-query-planner`. Plans are cached by operation text and name (the same
//! operation always plans the same way against one supergraph), and planning is bounded
//! in time so a pathological operation cannot hold a core.

use std::sync::Arc;
use std::time::Duration;

use hive_router_query_planner::ast::normalization::normalize_operation;
use hive_router_query_planner::graph::PlannerOverrideContext;
use hive_router_query_planner::utils::cancellation::CancellationToken;
use hive_router_query_planner::utils::parsing::safe_parse_operation;

use crate::supergraph::Supergraph;

/// The plan the executor runs.
pub use hive_router_query_planner::planner::plan_nodes::{PlanNode, QueryPlan};

/// Why an operation could not be planned.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("planning the operation took longer than {0:?}")]
    TimedOut(Duration),
    #[error("the operation cannot be planned: {0}")]
    Failed(String),
}

/// Turns a validated operation into a plan.
pub trait QueryPlanner: Send + Sync {
    /// The plan already made for this operation, if any: cheap, so callers may ask first and
    /// move only real planning off the async workers.
    fn cached(&self, document: &str, operation_name: Option<&str>) -> Option<Arc<QueryPlan>>;

    /// Plans the operation (CPU-bound, bounded by the planner's deadline).
    fn plan(
        &self,
        document: &str,
        operation_name: Option<&str>,
    ) -> Result<Arc<QueryPlan>, PlanError>;

    /// Keeps `plan`, made elsewhere (by another replica) for this operation, as if it had
    /// been made here.
    fn adopt(&self, document: &str, operation_name: Option<&str>, plan: Arc<QueryPlan>);
}

/// Settings of the planning step.
#[derive(Debug, Clone, Copy)]
pub struct PlannerSettings {
    /// Plans kept in memory.
    pub cache_capacity: u64,
    /// The longest one operation may take to plan.
    pub timeout: Duration,
}

impl Default for PlannerSettings {
    fn default() -> Self {
        Self {
            cache_capacity: 1_000,
            timeout: Duration::from_secs(2),
        }
    }
}

/// The cache key: the exact operation text and name. Exact, not a hash of them, because
/// a collision would run one client's operation with another's plan.
type PlanKey = (Arc<str>, Option<Arc<str>>);

/// [`QueryPlanner`] on `hive-router-query-planner`.
pub struct HivePlanner {
    supergraph: Arc<Supergraph>,
    cache: moka::sync::Cache<PlanKey, Arc<QueryPlan>>,
    timeout: Duration,
}

impl HivePlanner {
    pub fn new(supergraph: Arc<Supergraph>, settings: PlannerSettings) -> Self {
        Self {
            supergraph,
            cache: moka::sync::Cache::new(settings.cache_capacity),
            timeout: settings.timeout,
        }
    }

    fn plan_uncached(
        &self,
        document: &str,
        operation_name: Option<&str>,
    ) -> Result<QueryPlan, PlanError> {
        let failed = |e: &dyn std::fmt::Display| PlanError::Failed(e.to_string());
        let parsed = safe_parse_operation(document).map_err(|e| failed(&e))?;
        let planner = &self.supergraph.planner;
        let normalized = normalize_operation(&planner.supergraph, &parsed, operation_name)
            .map_err(|e| failed(&e))?;
        let token = CancellationToken::with_timeout(self.timeout);
        planner
            .plan_from_normalized_operation(
                normalized.executable_operation(),
                PlannerOverrideContext::default(),
                &token,
            )
            .map_err(|e| {
                // The planner reports a timeout from whichever stage hit it, wrapped in that
                // stage's error; the token knows whether the deadline passed.
                if token.bail_if_cancelled().is_err() {
                    PlanError::TimedOut(self.timeout)
                } else {
                    failed(&e)
                }
            })
    }
}

impl QueryPlanner for HivePlanner {
    fn cached(&self, document: &str, operation_name: Option<&str>) -> Option<Arc<QueryPlan>> {
        let key: PlanKey = (Arc::from(document), operation_name.map(Arc::from));
        self.cache.get(&key)
    }

    fn plan(
        &self,
        document: &str,
        operation_name: Option<&str>,
    ) -> Result<Arc<QueryPlan>, PlanError> {
        let key: PlanKey = (Arc::from(document), operation_name.map(Arc::from));
        if let Some(plan) = self.cache.get(&key) {
            return Ok(plan);
        }
        let plan = Arc::new(self.plan_uncached(document, operation_name)?);
        self.cache.insert(key, plan.clone());
        Ok(plan)
    }

    fn adopt(&self, document: &str, operation_name: Option<&str>, plan: Arc<QueryPlan>) {
        let key: PlanKey = (Arc::from(document), operation_name.map(Arc::from));
        self.cache.insert(key, plan);
    }
}
