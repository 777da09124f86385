//! Planning as a step of a request, between authorization and execution: the plan this
//! process already made for the operation, else one another replica shared through the
//! plan cache (Redis), else a plan made here — off the workers that serve requests, since
//! planning is CPU work — and offered to the other replicas.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tracing::Instrument;

use crate::plan::{PlanError, PlanNode, QueryPlan, QueryPlanner};

/// A plan as replicas share it: with the operation it was made for, compared in full on
/// reading, so that even a hash collision could not run one operation with another's plan.
/// The plan is shared as its root node: the plan type itself only reads from text that
/// lives forever.
#[derive(Serialize, Deserialize)]
struct SharedPlan {
    document: String,
    operation_name: Option<String>,
    node: Option<PlanNode>,
}

/// What the planning step reads.
pub struct Planning<'a> {
    pub planner: &'a Arc<dyn QueryPlanner>,
    /// Plans shared with the other replicas, when there is a shared cache.
    pub shared: Option<&'a kotohub_cache::Cache>,
    /// The supergraph's fingerprint: a plan is shared only between replicas of one.
    pub fingerprint: &'a str,
}

impl Planning<'_> {
    /// The plan for the operation `operation_name` in `document` (as apollo-compiler
    /// prints it).
    pub async fn plan(
        &self,
        document: &str,
        operation_name: Option<&str>,
    ) -> Result<Arc<QueryPlan>, PlanError> {
        let span = tracing::info_span!("plan", cached = tracing::field::Empty);
        if let Some(plan) = span.in_scope(|| self.planner.cached(document, operation_name)) {
            span.record("cached", "process");
            return Ok(plan);
        }
        if let Some(plan) = self
            .shared_plan(document, operation_name)
            .instrument(span.clone())
            .await
        {
            span.record("cached", "shared");
            return Ok(plan);
        }
        let planner = self.planner.clone();
        let (text, name) = (document.to_owned(), operation_name.map(str::to_owned));
        let in_span = span.clone();
        let planned = tokio::task::spawn_blocking(move || {
            in_span.in_scope(|| planner.plan(&text, name.as_deref()))
        })
        .await
        .unwrap_or_else(|_| {
            Err(PlanError::Failed(
                "the planner stopped unexpectedly".to_owned(),
            ))
        });
        if let Ok(plan) = &planned {
            self.share_plan(document, operation_name, plan)
                .instrument(span)
                .await;
        }
        planned
    }

    fn key(&self, document: &str, operation_name: Option<&str>) -> String {
        let keyed = format!(
            "{}\n{}\n{document}",
            self.fingerprint,
            operation_name.unwrap_or("")
        );
        crate::audit::sha256_hex(keyed.as_bytes())
    }

    /// The plan another replica made for this operation, if it shared one.
    async fn shared_plan(
        &self,
        document: &str,
        operation_name: Option<&str>,
    ) -> Option<Arc<QueryPlan>> {
        let cache = self.shared?;
        let bytes = cache.get(&self.key(document, operation_name)).await?;
        let shared: SharedPlan = serde_json::from_slice(&bytes).ok()?;
        if shared.document != document || shared.operation_name.as_deref() != operation_name {
            return None;
        }
        let plan = Arc::new(QueryPlan {
            kind: "QueryPlan",
            node: shared.node,
        });
        self.planner.adopt(document, operation_name, plan.clone());
        Some(plan)
    }

    /// Offers a plan made here to the other replicas.
    async fn share_plan(&self, document: &str, operation_name: Option<&str>, plan: &QueryPlan) {
        let Some(cache) = self.shared else {
            return;
        };
        let shared = SharedPlan {
            document: document.to_owned(),
            operation_name: operation_name.map(str::to_owned),
            node: plan.node.clone(),
        };
        if let Ok(bytes) = serde_json::to_vec(&shared) {
            cache
                .set(&self.key(document, operation_name), Arc::from(bytes))
                .await;
        }
    }
}
