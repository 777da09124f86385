//! Seals: signed heads of the chain. The hash chain shows a partial edit, but whoever can
//! write the database can rewrite every event and recompute every hash. So at an
//! interval and on demand the hub signs the newest event's position and hash with an
//! Ed25519 key the database does not hold (a key file or the configuration, like the
//! other secrets), and stores the signature beside the chain. A rewritten chain no
//! longer matches the heads that were signed, and nobody without the key can sign new
//! ones; a verifier needs only the public key ([`crate::bundle`]).
//!
//! In the request flow nothing waits for a seal: the hub's sealing task and
//! `kotohub audit seal` call [`Sealer::seal`].

use std::path::Path;

use chrono::{SecondsFormat, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait, QueryOrder};

use crate::entity::{audit_event, audit_seal};

/// What the signature of a seal covers: the event's position and hash and when it was
/// sealed, under a label no other signed text of the hub starts with.
pub fn message(seq: i64, hash: &str, sealed_at: &str) -> Vec<u8> {
    format!("kotohub access log seal\nseq={seq}\nhash={hash}\nsealed_at={sealed_at}\n").into_bytes()
}

/// Why a key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the access log's signing key is not 64 hexadecimal characters (32 bytes)")]
    Signing,
    #[error("the public key is not 64 hexadecimal characters of an Ed25519 key")]
    Public,
    #[error("the access log's signing key file: {0}")]
    File(#[from] std::io::Error),
}

/// The key the chain's heads are signed with.
pub struct Sealer {
    key: SigningKey,
}

impl Sealer {
    /// The key from its 32-byte seed, hex.
    pub fn from_hex(seed: &str) -> Result<Self, KeyError> {
        let bytes: [u8; 32] = hex::decode(seed.trim())
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(KeyError::Signing)?;
        Ok(Self {
            key: SigningKey::from_bytes(&bytes),
        })
    }

    /// The key kept in the file `path`, made with fresh random bytes the first time
    /// (readable by the owner only).
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        Self::from_hex(&kotohub_auth::keys::load_or_create(path)?)
    }

    /// The public key, hex: what a verifier holds.
    pub fn public_key(&self) -> String {
        hex::encode(self.key.verifying_key().as_bytes())
    }

    /// Signs the chain's head, unless it is sealed already; the seal, or `None` when the
    /// log is empty or its head was sealed before. Replicas sealing the same head at
    /// once store one seal.
    pub async fn seal(
        &self,
        db: &impl ConnectionTrait,
    ) -> Result<Option<audit_seal::Model>, DbErr> {
        let Some(head) = audit_event::Entity::find()
            .order_by_desc(audit_event::Column::Seq)
            .one(db)
            .await?
        else {
            return Ok(None);
        };
        if audit_seal::Entity::find_by_id(head.seq)
            .one(db)
            .await?
            .is_some()
        {
            return Ok(None);
        }
        let sealed_at = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
        let signature = self.key.sign(&message(head.seq, &head.hash, &sealed_at));
        let seal = audit_seal::Model {
            seq: head.seq,
            hash: head.hash,
            sealed_at,
            public_key: self.public_key(),
            signature: hex::encode(signature.to_bytes()),
        };
        let inserted = audit_seal::Entity::insert(audit_seal::ActiveModel {
            seq: Set(seal.seq),
            hash: Set(seal.hash.clone()),
            sealed_at: Set(seal.sealed_at.clone()),
            public_key: Set(seal.public_key.clone()),
            signature: Set(seal.signature.clone()),
        })
        .on_conflict(
            OnConflict::column(audit_seal::Column::Seq)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await;
        let inserted = match inserted {
            Ok(rows) => rows,
            Err(DbErr::RecordNotInserted) => 0,
            Err(error) => return Err(error),
        };
        Ok((inserted > 0).then_some(seal))
    }
}

/// A public key a verifier trusts.
pub fn public_key(text: &str) -> Result<VerifyingKey, KeyError> {
    let bytes: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(KeyError::Public)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::Public)
}

/// Whether `seal` was signed by `key` as it stands.
pub fn signed_by(seal: &audit_seal::Model, key: &VerifyingKey) -> bool {
    let Some(signature) = hex::decode(&seal.signature)
        .ok()
        .and_then(|bytes| Signature::from_slice(&bytes).ok())
    else {
        return false;
    };
    key.verify(&message(seal.seq, &seal.hash, &seal.sealed_at), &signature)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal(sealer: &Sealer, seq: i64, hash: &str) -> audit_seal::Model {
        let sealed_at = "2026-12-07T10:00:00.000000Z".to_owned();
        let signature = sealer.key.sign(&message(seq, hash, &sealed_at));
        audit_seal::Model {
            seq,
            hash: hash.to_owned(),
            sealed_at,
            public_key: sealer.public_key(),
            signature: hex::encode(signature.to_bytes()),
        }
    }

    #[test]
    fn a_seal_verifies_with_its_key_only_and_only_as_signed() {
        let sealer = Sealer::from_hex(&"11".repeat(32)).unwrap();
        let other = Sealer::from_hex(&"22".repeat(32)).unwrap();
        let key = public_key(&sealer.public_key()).unwrap();
        let good = seal(&sealer, 7, &"a".repeat(64));
        assert!(signed_by(&good, &key));
        assert!(!signed_by(&good, &public_key(&other.public_key()).unwrap()));
        for changed in [
            audit_seal::Model {
                seq: 8,
                ..good.clone()
            },
            audit_seal::Model {
                hash: "b".repeat(64),
                ..good.clone()
            },
            audit_seal::Model {
                sealed_at: "2026-12-08T10:00:00.000000Z".to_owned(),
                ..good.clone()
            },
            audit_seal::Model {
                signature: "00".repeat(64),
                ..good.clone()
            },
        ] {
            assert!(!signed_by(&changed, &key), "{changed:?}");
        }
    }

    #[test]
    fn keys_that_are_not_32_bytes_of_hex_are_refused() {
        for bad in ["", "zz", &"1".repeat(63), &"1".repeat(66)] {
            assert!(Sealer::from_hex(bad).is_err(), "{bad:?}");
            assert!(public_key(bad).is_err(), "{bad:?}");
        }
    }
}
