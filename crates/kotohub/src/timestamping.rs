//! Asking an RFC 3161 time-stamping authority to stamp each new seal of the access log
//! (`audit.timestamp_url`): the request and reply bytes are `kotohub_audit::timestamp`'s,
//! the HTTP exchange is here. A seal never waits on the authority: it is stored first,
//! and an authority that does not answer costs only that seal's time-stamp, which is
//! logged as missing.

use std::time::Duration;

use kotohub_audit::entity::{audit_seal, audit_timestamp};
use kotohub_audit::seal::Sealer;
use kotohub_audit::timestamp::{self, QUERY_TYPE, REPLY_TYPE};
use sea_orm::{DatabaseConnection, DbErr};
use sha2::Digest;

/// Why a seal got no time-stamp.
#[derive(Debug, thiserror::Error)]
pub enum StampError {
    #[error("the time-stamping authority did not answer: {0}")]
    Unreachable(String),
    #[error("the time-stamping authority answered {0}")]
    Status(u16),
    #[error(transparent)]
    Reply(#[from] timestamp::ReplyError),
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// An authority the seals are sent to.
pub struct TimestampAuthority {
    http: reqwest::Client,
    url: String,
}

impl TimestampAuthority {
    pub fn new(url: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            url: url.to_owned(),
        }
    }

    /// Time-stamps `seal` and keeps the token.
    pub async fn stamp(
        &self,
        db: &DatabaseConnection,
        seal: &audit_seal::Model,
    ) -> Result<audit_timestamp::Model, StampError> {
        let digest = timestamp::digest(seal);
        // A nonce no earlier request had: the digest and the clock, hashed.
        let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
        let mixed = sha2::Sha256::digest([&digest[..], &nanos.to_be_bytes()].concat());
        let nonce = u64::from_be_bytes(
            mixed[..8]
                .try_into()
                .expect("a SHA-256 digest is longer than eight bytes"),
        );
        let reply = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, QUERY_TYPE)
            .header(reqwest::header::ACCEPT, REPLY_TYPE)
            .body(timestamp::request(&digest, nonce))
            .send()
            .await
            .map_err(|e| StampError::Unreachable(e.to_string()))?;
        if !reply.status().is_success() {
            return Err(StampError::Status(reply.status().as_u16()));
        }
        let body = reply
            .bytes()
            .await
            .map_err(|e| StampError::Unreachable(e.to_string()))?;
        let token = timestamp::token_of(&body)?;
        if !timestamp::covers(&token, &digest) {
            return Err(timestamp::ReplyError::WrongDigest.into());
        }
        Ok(timestamp::store(db, seal, &self.url, &token).await?)
    }
}

/// Seals the log's head (see [`Sealer::seal`]) and, when an authority is configured,
/// has the new seal time-stamped; a failed time-stamp is logged, the seal stands.
pub async fn seal_and_stamp(
    sealer: &Sealer,
    db: &DatabaseConnection,
    authority: Option<&TimestampAuthority>,
) -> Result<Option<audit_seal::Model>, DbErr> {
    let sealed = sealer.seal(db).await?;
    if let (Some(seal), Some(authority)) = (&sealed, authority)
        && let Err(error) = authority.stamp(db, seal).await
    {
        tracing::warn!(%error, seq = seal.seq, "the seal was not time-stamped");
    }
    Ok(sealed)
}
