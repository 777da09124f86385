//! Emergency ("break-the-glass") accesses, kept in the access log's database beside the
//! events that use them. An officer opens one for one client outside its own bodies with
//! a reason in words ([`open`], the audit subgraph's `openEmergencyAccess`); the gateway
//! looks it up when a request names it ([`EmergencyAccessBook`]) and signs the client into
//! that request's principal; every event under it carries its id, and the review rules
//! queue each for an auditor. Nothing here widens what a role may read: the policy's
//! read rules still apply to every field.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use futures_util::future::BoxFuture;
use kotohub_auth::Principal;
use kotohub_gateway::audit::Unavailable;
use kotohub_gateway::emergency::{EmergencyAccess, EmergencyAccesses};
use sea_orm::{ActiveValue::Set, DatabaseConnection, DbErr, EntityTrait};

use crate::entity::emergency_access::{self, Model};

/// The shortest reason accepted: a few words, not a token.
pub const MIN_REASON_CHARS: usize = 20;
/// The longest reason accepted.
pub const MAX_REASON_CHARS: usize = 2_000;

/// Why an access could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// Client ids are the hub's pseudonyms: short, and nothing but letters, digits and `-_`.
pub fn is_client_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

/// Opens an access to `client_id` for `principal` (whom the caller checked may open
/// one) lasting `minutes`, for `reason`.
pub async fn open(
    db: &DatabaseConnection,
    principal: &Principal,
    client_id: &str,
    reason: &str,
    minutes: u32,
) -> Result<Model, OpenError> {
    if !is_client_id(client_id) {
        return Err(OpenError::Invalid(format!(
            "{client_id:?} is not a client id"
        )));
    }
    let reason = reason.trim();
    let chars = reason.chars().count();
    if !(MIN_REASON_CHARS..=MAX_REASON_CHARS).contains(&chars) {
        return Err(OpenError::Invalid(format!(
            "say in words why you must read this client's data: {MIN_REASON_CHARS} to {MAX_REASON_CHARS} characters, not {chars}"
        )));
    }
    let opened = Utc::now();
    let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Micros, true);
    let row = Model {
        id: crate::log::random_id(),
        subject: principal.subject.clone(),
        bodies: serde_json::Value::from(principal.bodies.clone()).to_string(),
        client_id: client_id.to_owned(),
        reason: reason.to_owned(),
        opened_at: stamp(opened),
        expires_at: stamp(opened + Duration::minutes(i64::from(minutes))),
    };
    emergency_access::Entity::insert(emergency_access::ActiveModel {
        id: Set(row.id.clone()),
        subject: Set(row.subject.clone()),
        bodies: Set(row.bodies.clone()),
        client_id: Set(row.client_id.clone()),
        reason: Set(row.reason.clone()),
        opened_at: Set(row.opened_at.clone()),
        expires_at: Set(row.expires_at.clone()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(row)
}

/// The opened accesses, as the gateway looks them up.
pub struct EmergencyAccessBook {
    db: DatabaseConnection,
}

impl EmergencyAccessBook {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    async fn find_access(&self, id: &str) -> Result<Option<EmergencyAccess>, Unavailable> {
        // Ids are 32 hexadecimal characters: anything else is no access, without a query.
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let found = emergency_access::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await
            .map_err(|error| {
                tracing::error!(%error, "reading an emergency access failed");
                Unavailable
            })?;
        Ok(found.and_then(|row| {
            let expires_at = DateTime::parse_from_rfc3339(&row.expires_at)
                .ok()?
                .timestamp();
            Some(EmergencyAccess {
                id: row.id,
                subject: row.subject,
                client_id: row.client_id,
                expires_at,
            })
        }))
    }
}

impl EmergencyAccesses for EmergencyAccessBook {
    fn find<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<EmergencyAccess>, Unavailable>> {
        Box::pin(self.find_access(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_pseudonyms_only() {
        assert!(is_client_id("c-1b2f_9"));
        for bad in ["", "c 1", "c';--", &"x".repeat(65), "ä"] {
            assert!(!is_client_id(bad), "{bad:?}");
        }
    }
}
