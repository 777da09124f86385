//! The response cache as a step of a request, after authorization and before planning:
//! an aggregate-only caller's answer kept in the shared cache (Redis or in process), keyed
//! by the caller's aggregate scope, roles, the operation as authorised and its variables,
//! so that a caller of another scope never gets it. Person-level answers, answers with
//! errors and answers that named clients are never kept.

use std::sync::Arc;

use kotohub_auth::{AggregateScope, Principal, RowScope};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::authorize::Access;
use crate::project::Data;

/// An answer as the cache keeps it: what the caller and the access log need.
#[derive(Serialize, Deserialize)]
struct Kept {
    /// The data as written.
    data: String,
    rows: i64,
    suppressed_cells: i64,
}

/// A cached answer.
pub struct Cached {
    pub data: Data,
    pub suppressed_cells: i64,
}

/// Where one operation's answer is kept, when it may be.
pub struct Slot<'a> {
    cache: &'a kotohub_cache::Cache,
    key: String,
}

/// The slot of `normalized` with `variables` for `principal`, when the principal's
/// answers may be cached at all. Answers are kept per supergraph (its `fingerprint`): a
/// replica of another release, or this one after a reload, may answer differently.
pub fn slot<'a>(
    cache: Option<&'a kotohub_cache::Cache>,
    access: Option<&Access>,
    principal: Option<&Principal>,
    fingerprint: &str,
    normalized: &str,
    variables: &Map<String, Value>,
) -> Option<Slot<'a>> {
    let (cache, access, principal) = (cache?, access?, principal?);
    if access.policy.row_scope(principal) != RowScope::Nothing {
        return None;
    }
    let scope = match access.policy.aggregate_scope(principal) {
        AggregateScope::Nothing => return None,
        AggregateScope::CityWide => "city".to_owned(),
        AggregateScope::Divisions(divisions) => format!("divisions:{}", divisions.join(",")),
    };
    let mut roles: Vec<&str> = principal.roles.iter().map(|r| r.as_str()).collect();
    roles.sort_unstable();
    let keyed = format!(
        "{fingerprint}\n{scope}\n{}\n{normalized}\n{}",
        roles.join(","),
        Value::Object(variables.clone())
    );
    Some(Slot {
        cache,
        key: crate::audit::sha256_hex(keyed.as_bytes()),
    })
}

impl Slot<'_> {
    /// The answer kept here, if any.
    pub async fn get(&self) -> Option<Cached> {
        let bytes = self.cache.get(&self.key).await?;
        let kept: Kept = serde_json::from_slice(&bytes).ok()?;
        Some(Cached {
            data: Data::from_parts(&kept.data, kept.rows),
            suppressed_cells: kept.suppressed_cells,
        })
    }

    /// Keeps `data` here.
    pub async fn set(&self, data: &Data, suppressed_cells: i64) {
        let kept = Kept {
            data: data.json().to_owned(),
            rows: data.rows(),
            suppressed_cells,
        };
        if let Ok(bytes) = serde_json::to_vec(&kept) {
            self.cache.set(&self.key, Arc::from(bytes)).await;
        }
    }
}
