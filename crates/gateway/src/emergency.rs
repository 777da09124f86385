//! Emergency ("break-the-glass") access, as the gateway checks it before the field
//! rules: an officer who opened one (a mutation of the audit subgraph, with a reason in
//! words) names it in the `Kotohub-Emergency-Access` header or `extensions.emergencyAccess`,
//! and while it lasts the subgraphs also show that officer the one client it opens. The
//! gateway only reads accesses, through [`EmergencyAccesses`]; where they are kept is
//! Kotohub's access log. Every request under one is recorded with its id.

use futures_util::future::BoxFuture;
use kotohub_auth::Principal;

use crate::audit::Unavailable;
use crate::errors::{Code, GraphQLError};

/// An opened emergency access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyAccess {
    pub id: String,
    /// The officer who opened it: nobody else may use it.
    pub subject: String,
    /// The one client it opens.
    pub client_id: String,
    /// Seconds since the Unix epoch after which it no longer opens anything.
    pub expires_at: i64,
}

/// Where the gateway looks opened accesses up.
pub trait EmergencyAccesses: Send + Sync {
    /// The access with id `id`, if one was opened.
    fn find<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<EmergencyAccess>, Unavailable>>;
}

/// The client `id` opens to `principal` now, or the error the request is refused with.
pub async fn client_opened(
    accesses: Option<&dyn EmergencyAccesses>,
    id: &str,
    principal: &Principal,
) -> Result<EmergencyAccess, GraphQLError> {
    let invalid = || {
        GraphQLError::new(
            format!(
                "no emergency access {id:?} of yours is open: open one with openEmergencyAccess (it lasts a short time)"
            ),
            Code::EmergencyAccessInvalid,
        )
    };
    let Some(accesses) = accesses else {
        return Err(invalid());
    };
    let found = accesses.find(id).await.map_err(|_| {
        GraphQLError::new(
            "emergency accesses cannot be checked just now",
            Code::AuditUnavailable,
        )
    })?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
        });
    match found {
        Some(access) if access.subject == principal.subject && now < access.expires_at => {
            Ok(access)
        }
        _ => Err(invalid()),
    }
}
