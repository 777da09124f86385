//! Bundles: a stretch of the access log written out whole, to be checked away from the
//! hub by someone who holds only the public key of its seals. A bundle holds the events
//! of the stretch with every stored column, the seals of the heads within it, and the
//! hash the first event chains to; it runs on to the first seal at or after the
//! stretch's end, so that every event in it can be covered by a seal.
//!
//! [`verify`] recomputes every hash from the first event's anchor, checks each seal's
//! signature with the trusted key and that the chain as recomputed passes through the
//! sealed hash, and names the first event that breaks the chain or the events no seal
//! covers. A chain rewritten whole, every hash recomputed, fails at the first seal.
//!
//! In the request flow nothing reads this: `kotohub audit export` writes a bundle and
//! `kotohub audit verify --bundle` checks one.

use ed25519_dalek::VerifyingKey;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};

use crate::chain::{self, GENESIS};
use crate::entity::{audit_checkpoint, audit_event, audit_seal, audit_timestamp};
use crate::seal::signed_by;

/// What a bundle says it is.
pub const FORMAT: &str = "kotohub-access-log-bundle/1";

/// A stretch of the access log with its seals.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bundle {
    pub format: String,
    /// When it was written, RFC 3339.
    pub exported_at: String,
    /// The hash the first event chains to: the one before it, a checkpoint's, or the
    /// genesis hash when the first event is the chain's first.
    pub anchor: String,
    pub events: Vec<audit_event::Model>,
    pub seals: Vec<audit_seal::Model>,
    /// RFC 3161 time-stamps of the seals, where an authority gave one.
    #[serde(default)]
    pub timestamps: Vec<audit_timestamp::Model>,
}

/// The events that happened from `from` to before `to` (RFC 3339, UTC; either end
/// open), run on to the first seal at or after the last of them, with their seals.
pub async fn export(
    db: &impl ConnectionTrait,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Bundle, DbErr> {
    let mut first = audit_event::Entity::find().order_by_asc(audit_event::Column::Seq);
    if let Some(from) = from {
        first = first.filter(audit_event::Column::OccurredAt.gte(from));
    }
    let first = first.one(db).await?;
    let mut last = audit_event::Entity::find().order_by_desc(audit_event::Column::Seq);
    if let Some(to) = to {
        last = last.filter(audit_event::Column::OccurredAt.lt(to));
    }
    let last = last.one(db).await?;
    let exported_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(Bundle {
            format: FORMAT.to_owned(),
            exported_at,
            anchor: GENESIS.to_owned(),
            events: Vec::new(),
            seals: Vec::new(),
            timestamps: Vec::new(),
        });
    };
    // On to the seal that covers the last event, if one does yet.
    let through = audit_seal::Entity::find()
        .filter(audit_seal::Column::Seq.gte(last.seq))
        .order_by_asc(audit_seal::Column::Seq)
        .one(db)
        .await?
        .map_or(last.seq, |seal| seal.seq);
    let events = audit_event::Entity::find()
        .filter(audit_event::Column::Seq.between(first.seq, through))
        .order_by_asc(audit_event::Column::Seq)
        .all(db)
        .await?;
    let seals = audit_seal::Entity::find()
        .filter(audit_seal::Column::Seq.between(first.seq, through))
        .order_by_asc(audit_seal::Column::Seq)
        .all(db)
        .await?;
    let timestamps = audit_timestamp::Entity::find()
        .filter(audit_timestamp::Column::Seq.between(first.seq, through))
        .order_by_asc(audit_timestamp::Column::Seq)
        .all(db)
        .await?;
    let anchor = anchor_of(db, first.seq).await?;
    Ok(Bundle {
        format: FORMAT.to_owned(),
        exported_at,
        anchor,
        events,
        seals,
        timestamps,
    })
}

/// The hash the event `seq` chains to, as the database holds it.
async fn anchor_of(db: &impl ConnectionTrait, seq: i64) -> Result<String, DbErr> {
    if seq == 1 {
        return Ok(GENESIS.to_owned());
    }
    if let Some(before) = audit_event::Entity::find_by_id(seq - 1).one(db).await? {
        return Ok(before.hash);
    }
    Ok(audit_checkpoint::Entity::find()
        .filter(audit_checkpoint::Column::PrunedThroughSeq.eq(seq - 1))
        .one(db)
        .await?
        .map_or_else(|| GENESIS.to_owned(), |c| c.pruned_through_hash))
}

/// What checking a bundle found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// Every event chains to the one before, and the last is covered by a seal.
    Intact {
        events: usize,
        seals: usize,
        /// Seals an outside authority time-stamped.
        timestamped: usize,
        first_seq: Option<i64>,
        last_seq: Option<i64>,
    },
    /// The first event or seal that does not hold.
    Broken { seq: i64, reason: String },
    /// The chain holds, but no seal covers the events from `from_seq` to `to_seq`: they
    /// could have been rewritten without a trace.
    Unsealed {
        from_seq: i64,
        to_seq: i64,
        sealed_through: Option<i64>,
    },
}

/// Checks `bundle` with the public key `key`.
pub fn verify(bundle: &Bundle, key: &VerifyingKey) -> Report {
    if bundle.format != FORMAT {
        return Report::Broken {
            seq: 0,
            reason: format!("not a bundle of this kind ({:?})", bundle.format),
        };
    }
    let Some(first) = bundle.events.first() else {
        return Report::Intact {
            events: 0,
            seals: 0,
            timestamped: 0,
            first_seq: None,
            last_seq: None,
        };
    };
    if first.seq == 1 && bundle.anchor != GENESIS {
        return Report::Broken {
            seq: 1,
            reason: "the chain's first event must chain to the genesis hash".to_owned(),
        };
    }
    // The hash each event was recomputed to, by position.
    let mut recomputed: Vec<(i64, String)> = Vec::with_capacity(bundle.events.len());
    let mut prev = bundle.anchor.clone();
    for (index, event) in bundle.events.iter().enumerate() {
        let expected = first.seq + index as i64;
        if event.seq != expected {
            return Report::Broken {
                seq: expected,
                reason: format!(
                    "event {expected} is missing: the bundle goes on at {}",
                    event.seq
                ),
            };
        }
        if event.prev_hash != prev {
            return Report::Broken {
                seq: event.seq,
                reason: "its previous hash is not the hash of the event before it".to_owned(),
            };
        }
        let hash = chain::hash(&prev, event);
        if hash != event.hash {
            return Report::Broken {
                seq: event.seq,
                reason: "its content does not match its hash".to_owned(),
            };
        }
        recomputed.push((event.seq, hash.clone()));
        prev = hash;
    }
    let mut sealed_through = None;
    for seal in &bundle.seals {
        if !signed_by(seal, key) {
            return Report::Broken {
                seq: seal.seq,
                reason: format!(
                    "the seal of {} is not signed by the trusted key",
                    seal.sealed_at
                ),
            };
        }
        let Some((_, hash)) = recomputed.iter().find(|(seq, _)| *seq == seal.seq) else {
            return Report::Broken {
                seq: seal.seq,
                reason: "a seal names an event the bundle does not hold".to_owned(),
            };
        };
        if *hash != seal.hash {
            return Report::Broken {
                seq: seal.seq,
                reason: format!(
                    "the chain does not pass through the hash sealed on {}: the events up to \
                     it were rewritten",
                    seal.sealed_at
                ),
            };
        }
        sealed_through = sealed_through.max(Some(seal.seq));
    }
    for timestamp in &bundle.timestamps {
        let Some(seal) = bundle.seals.iter().find(|seal| seal.seq == timestamp.seq) else {
            return Report::Broken {
                seq: timestamp.seq,
                reason: "a time-stamp names a seal the bundle does not hold".to_owned(),
            };
        };
        let token = hex::decode(&timestamp.token).unwrap_or_default();
        if !crate::timestamp::covers(&token, &crate::timestamp::digest(seal)) {
            return Report::Broken {
                seq: seal.seq,
                reason: format!(
                    "the time-stamp of the seal of {} does not cover that seal",
                    seal.sealed_at
                ),
            };
        }
    }
    let last_seq = recomputed.last().map(|(seq, _)| *seq);
    match (sealed_through, last_seq) {
        (Some(sealed), Some(last)) if sealed >= last => Report::Intact {
            events: bundle.events.len(),
            seals: bundle.seals.len(),
            timestamped: bundle.timestamps.len(),
            first_seq: Some(first.seq),
            last_seq,
        },
        (sealed, Some(last)) => Report::Unsealed {
            from_seq: sealed.map_or(first.seq, |s| s + 1),
            to_seq: last,
            sealed_through: sealed,
        },
        (_, None) => Report::Intact {
            events: 0,
            seals: 0,
            timestamped: 0,
            first_seq: None,
            last_seq: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::{Sealer, message, public_key};
    use ed25519_dalek::{Signer, SigningKey};

    fn event(seq: i64, prev: &str) -> audit_event::Model {
        let mut row = audit_event::Model {
            occurred_at: format!("2026-12-07T10:00:{seq:02}.000000Z"),
            client_ids: "[\"c1\"]".to_owned(),
            row_count: 1,
            prev_hash: prev.to_owned(),
            ..audit_event::Model::example(seq)
        };
        row.hash = chain::hash(prev, &row);
        row
    }

    fn chain_of(n: i64) -> Vec<audit_event::Model> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let row = event(seq, &prev);
                prev = row.hash.clone();
                row
            })
            .collect()
    }

    const SEED: [u8; 32] = [7; 32];

    fn seal_of(event: &audit_event::Model) -> audit_seal::Model {
        let key = SigningKey::from_bytes(&SEED);
        let sealed_at = "2026-12-07T11:00:00.000000Z".to_owned();
        audit_seal::Model {
            seq: event.seq,
            hash: event.hash.clone(),
            public_key: hex::encode(key.verifying_key().as_bytes()),
            signature: hex::encode(
                key.sign(&message(event.seq, &event.hash, &sealed_at))
                    .to_bytes(),
            ),
            sealed_at,
        }
    }

    fn bundle(events: Vec<audit_event::Model>, seals: Vec<audit_seal::Model>) -> Bundle {
        Bundle {
            format: FORMAT.to_owned(),
            exported_at: String::new(),
            anchor: GENESIS.to_owned(),
            events,
            seals,
            timestamps: Vec::new(),
        }
    }

    fn trusted() -> VerifyingKey {
        public_key(&Sealer::from_hex(&hex::encode(SEED)).unwrap().public_key()).unwrap()
    }

    #[test]
    fn a_sealed_chain_is_intact_and_its_unsealed_tail_is_named() {
        let events = chain_of(6);
        let sealed = bundle(
            events.clone(),
            vec![seal_of(&events[2]), seal_of(&events[5])],
        );
        assert_eq!(
            verify(&sealed, &trusted()),
            Report::Intact {
                events: 6,
                seals: 2,
                timestamped: 0,
                first_seq: Some(1),
                last_seq: Some(6)
            }
        );
        let tail = bundle(events.clone(), vec![seal_of(&events[2])]);
        assert_eq!(
            verify(&tail, &trusted()),
            Report::Unsealed {
                from_seq: 4,
                to_seq: 6,
                sealed_through: Some(3)
            }
        );
        let none = bundle(events, Vec::new());
        assert!(matches!(
            verify(&none, &trusted()),
            Report::Unsealed {
                from_seq: 1,
                to_seq: 6,
                sealed_through: None
            }
        ));
    }

    #[test]
    fn a_chain_rewritten_whole_fails_at_the_first_seal() {
        let events = chain_of(6);
        let seals = vec![seal_of(&events[2]), seal_of(&events[5])];
        // The second event's subject changed and every hash from there recomputed: the
        // chain holds together, but not through what was sealed.
        let mut rewritten = events.clone();
        rewritten[1].subject = Some("someone else".to_owned());
        let mut prev = rewritten[0].hash.clone();
        for row in rewritten.iter_mut().skip(1) {
            row.prev_hash = prev.clone();
            row.hash = chain::hash(&prev, row);
            prev = row.hash.clone();
        }
        match verify(&bundle(rewritten.clone(), seals.clone()), &trusted()) {
            Report::Broken { seq, reason } => {
                assert_eq!(seq, 3);
                assert!(reason.contains("rewritten"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        // Re-sealing with another key does not help: the verifier trusts one key.
        let forger = SigningKey::from_bytes(&[9; 32]);
        let forged: Vec<audit_seal::Model> = [&rewritten[2], &rewritten[5]]
            .iter()
            .map(|row| {
                let mut seal = seal_of(row);
                seal.public_key = hex::encode(forger.verifying_key().as_bytes());
                seal.signature = hex::encode(
                    forger
                        .sign(&message(seal.seq, &seal.hash, &seal.sealed_at))
                        .to_bytes(),
                );
                seal
            })
            .collect();
        assert!(matches!(
            verify(&bundle(rewritten, forged), &trusted()),
            Report::Broken { seq: 3, .. }
        ));
        // An edit without recomputing breaks the chain at the edited event.
        let mut edited = events;
        edited[4].row_count = 40;
        assert!(matches!(
            verify(&bundle(edited, seals), &trusted()),
            Report::Broken { seq: 5, .. }
        ));
    }

    #[test]
    fn a_missing_event_or_a_foreign_anchor_is_named() {
        let mut events = chain_of(4);
        let seals = vec![seal_of(&events[3])];
        events.remove(1);
        assert!(matches!(
            verify(&bundle(events, seals.clone()), &trusted()),
            Report::Broken { seq: 2, .. }
        ));
        let mut moved = bundle(chain_of(4), seals);
        moved.anchor = "1".repeat(64);
        assert!(matches!(
            verify(&moved, &trusted()),
            Report::Broken { seq: 1, .. }
        ));
    }
}
