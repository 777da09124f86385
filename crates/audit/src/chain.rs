//! The hash chain. An event's hash is the SHA-256 of the previous event's hash and the
//! event's canonical form: every stored column except the hash, in a fixed order, each
//! written with its length, NULL distinct from empty. Any change to any byte of a row,
//! a deleted row or two swapped rows breaks the chain at that row.
//!
//! Retention removes the oldest events ([`prune`]) and leaves a checkpoint: how many
//! events it removed and the hash of the last one, which the first event kept chains to.
//! Checkpoints chain to each other the same way, so verification starts from the newest
//! one and a forged or dropped checkpoint shows too.

use chrono::{SecondsFormat, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use sha2::{Digest, Sha256};

use crate::entity::audit_checkpoint;
use crate::entity::audit_event::{self, Model};

/// The hash before the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Events read per round trip while verifying.
const PAGE: u64 = 10_000;

/// The bytes an event's hash covers.
pub fn canonical(row: &Model) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    let mut put = |name: &str, value: Option<&str>| {
        out.extend_from_slice(name.as_bytes());
        match value {
            None => out.extend_from_slice(b"=-\n"),
            Some(value) => {
                out.extend_from_slice(format!("={}:", value.len()).as_bytes());
                out.extend_from_slice(value.as_bytes());
                out.push(b'\n');
            }
        }
    };
    put("seq", Some(&row.seq.to_string()));
    put("event_id", Some(&row.event_id));
    put("occurred_at", Some(&row.occurred_at));
    put("request_id", Some(&row.request_id));
    put("trace_id", row.trace_id.as_deref());
    put("subject", row.subject.as_deref());
    put("roles", Some(&row.roles));
    put("bodies", Some(&row.bodies));
    put("client_address", row.client_address.as_deref());
    put("operation_type", row.operation_type.as_deref());
    put("operation_name", row.operation_name.as_deref());
    put("document_hash", row.document_hash.as_deref());
    put("saved_query_id", row.saved_query_id.as_deref());
    put(
        "saved_query_version",
        row.saved_query_version.map(|v| v.to_string()).as_deref(),
    );
    put("variables_hash", row.variables_hash.as_deref());
    put("subgraphs", Some(&row.subgraphs));
    put("fields", Some(&row.fields));
    put("client_ids", Some(&row.client_ids));
    put("row_count", Some(&row.row_count.to_string()));
    put("suppressed_cells", Some(&row.suppressed_cells.to_string()));
    put("decision", Some(&row.decision));
    put("policies", Some(&row.policies));
    put("status", Some(&row.status.to_string()));
    put("error_codes", Some(&row.error_codes));
    put("duration_us", Some(&row.duration_us.to_string()));
    // Columns added later count only when they say something, so that events stored
    // before them keep their hashes.
    if row.denied_fields != "[]" {
        put("denied_fields", Some(&row.denied_fields));
    }
    if row.as_file {
        put("as_file", Some("true"));
    }
    if let Some(purpose) = &row.purpose {
        put("purpose", Some(purpose));
    }
    if let Some(access) = &row.emergency_access {
        put("emergency_access", Some(access));
    }
    if row.classes != "[]" {
        put("classes", Some(&row.classes));
    }
    put("prev_hash", Some(&row.prev_hash));
    out
}

/// The hash of `row`, chained to `prev`.
pub fn hash(prev: &str, row: &Model) -> String {
    let mut digest = Sha256::new();
    digest.update(prev.as_bytes());
    digest.update(canonical(row));
    hex::encode(digest.finalize())
}

/// The hash of a checkpoint, chained to the one before it.
pub fn checkpoint_hash(prev: &str, checkpoint: &audit_checkpoint::Model) -> String {
    let content = format!(
        "seq={}\npruned_through_seq={}\npruned_through_hash={}\npruned_events={}\n\
         pruned_before={}\ncreated_at={}\nprev_hash={}\n",
        checkpoint.seq,
        checkpoint.pruned_through_seq,
        checkpoint.pruned_through_hash,
        checkpoint.pruned_events,
        checkpoint.pruned_before,
        checkpoint.created_at,
        checkpoint.prev_hash,
    );
    let mut digest = Sha256::new();
    digest.update(prev.as_bytes());
    digest.update(content.as_bytes());
    hex::encode(digest.finalize())
}

/// What a pruning removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pruned {
    pub events: i64,
    /// The last event removed, when any was.
    pub through_seq: Option<i64>,
}

/// Removes the events that happened before `before` (RFC 3339, UTC) and records a
/// checkpoint for them, in one transaction. The table refuses deletes to the role that
/// created it; pruning, as that role, lifts the refusal for its own transaction only. In
/// production run it as a role of its own, the only one that may.
pub async fn prune(db: &DatabaseConnection, before: &str) -> Result<Pruned, DbErr> {
    let txn = db.begin().await?;
    let Some(last) = audit_event::Entity::find()
        .filter(audit_event::Column::OccurredAt.lt(before))
        .order_by_desc(audit_event::Column::Seq)
        .one(&txn)
        .await?
    else {
        return Ok(Pruned {
            events: 0,
            through_seq: None,
        });
    };
    let events = audit_event::Entity::find()
        .filter(audit_event::Column::Seq.lte(last.seq))
        .count(&txn)
        .await? as i64;
    let previous = audit_checkpoint::Entity::find()
        .order_by_desc(audit_checkpoint::Column::Seq)
        .one(&txn)
        .await?;
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    if postgres {
        txn.execute_unprepared(
            "GRANT DELETE ON audit_events TO CURRENT_USER;
             ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update;",
        )
        .await?;
    }
    audit_event::Entity::delete_many()
        .filter(audit_event::Column::Seq.lte(last.seq))
        .exec(&txn)
        .await?;
    if postgres {
        txn.execute_unprepared(
            "ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update;
             REVOKE DELETE ON audit_events FROM CURRENT_USER;",
        )
        .await?;
    }
    let mut checkpoint = audit_checkpoint::Model {
        seq: previous.as_ref().map_or(1, |p| p.seq + 1),
        pruned_through_seq: last.seq,
        pruned_through_hash: last.hash,
        pruned_events: events,
        pruned_before: before.to_owned(),
        created_at: Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true),
        prev_hash: previous.map_or_else(|| GENESIS.to_owned(), |p| p.hash),
        hash: String::new(),
    };
    checkpoint.hash = checkpoint_hash(&checkpoint.prev_hash, &checkpoint);
    audit_checkpoint::Entity::insert(audit_checkpoint::ActiveModel {
        seq: Set(checkpoint.seq),
        pruned_through_seq: Set(checkpoint.pruned_through_seq),
        pruned_through_hash: Set(checkpoint.pruned_through_hash),
        pruned_events: Set(checkpoint.pruned_events),
        pruned_before: Set(checkpoint.pruned_before),
        created_at: Set(checkpoint.created_at),
        prev_hash: Set(checkpoint.prev_hash),
        hash: Set(checkpoint.hash),
    })
    .exec_without_returning(&txn)
    .await?;
    txn.commit().await?;
    Ok(Pruned {
        events,
        through_seq: Some(last.seq),
    })
}

/// Walks the checkpoints; the newest one's anchor, or why the checkpoints are broken.
async fn anchor(
    db: &impl ConnectionTrait,
) -> Result<Result<Option<(i64, String)>, Verdict>, DbErr> {
    let checkpoints = audit_checkpoint::Entity::find()
        .order_by_asc(audit_checkpoint::Column::Seq)
        .all(db)
        .await?;
    let mut prev = GENESIS.to_owned();
    let mut through = 0;
    for (index, checkpoint) in checkpoints.iter().enumerate() {
        let broken = |reason: &str| Verdict::Broken {
            seq: checkpoint.pruned_through_seq,
            event_id: String::new(),
            reason: format!("checkpoint {}: {reason}", checkpoint.seq),
        };
        if checkpoint.seq != index as i64 + 1 {
            return Ok(Err(broken("a checkpoint before it is missing")));
        }
        if checkpoint.prev_hash != prev || checkpoint_hash(&prev, checkpoint) != checkpoint.hash {
            return Ok(Err(broken("it does not match its hash")));
        }
        if checkpoint.pruned_through_seq <= through {
            return Ok(Err(broken("it prunes events an earlier checkpoint pruned")));
        }
        prev = checkpoint.hash.clone();
        through = checkpoint.pruned_through_seq;
    }
    Ok(Ok(checkpoints.last().map(|c| {
        (c.pruned_through_seq + 1, c.pruned_through_hash.clone())
    })))
}

/// SHA-256 of some bytes, hex: for documents and variables.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every event from where verification started links to the one before.
    Intact { events: u64, last_seq: Option<i64> },
    /// The first event that does not; `event_id` is empty when the event is missing.
    Broken {
        seq: i64,
        event_id: String,
        reason: String,
    },
}

/// Walks the chain from the event `from` (the first, when `None`) to the end.
pub async fn verify(db: &impl ConnectionTrait, from: Option<i64>) -> Result<Verdict, DbErr> {
    let pruned = match anchor(db).await? {
        Ok(pruned) => pruned,
        Err(broken) => return Ok(broken),
    };
    let start = pruned.as_ref().map_or(1, |(first, _)| *first);
    let (mut prev, mut expected_seq) = match from {
        None => match pruned {
            Some((first, hash)) => (hash, first),
            None => (GENESIS.to_owned(), 1),
        },
        Some(from) if from <= start => match pruned {
            Some((first, hash)) => (hash, first),
            None => (GENESIS.to_owned(), 1),
        },
        Some(from) => {
            // The event before `from` is taken as the anchor; verifying from the start
            // checks the anchor too.
            match audit_event::Entity::find_by_id(from - 1).one(db).await? {
                Some(anchor) => (anchor.hash, from),
                None => {
                    return Ok(Verdict::Broken {
                        seq: from - 1,
                        event_id: String::new(),
                        reason: format!("event {} is missing", from - 1),
                    });
                }
            }
        }
    };
    let mut events = 0;
    let mut last_seq = None;
    loop {
        let page = audit_event::Entity::find()
            .filter(audit_event::Column::Seq.gte(expected_seq))
            .order_by_asc(audit_event::Column::Seq)
            .limit(PAGE)
            .all(db)
            .await?;
        if page.is_empty() {
            return Ok(Verdict::Intact { events, last_seq });
        }
        for row in &page {
            let broken = |reason: String| Verdict::Broken {
                seq: row.seq,
                event_id: row.event_id.clone(),
                reason,
            };
            if row.seq != expected_seq {
                return Ok(Verdict::Broken {
                    seq: expected_seq,
                    event_id: String::new(),
                    reason: format!(
                        "event {expected_seq} is missing: the chain goes on at {}",
                        row.seq
                    ),
                });
            }
            if row.prev_hash != prev {
                return Ok(broken(
                    "its previous hash is not the hash of the event before it".to_owned(),
                ));
            }
            if hash(&prev, row) != row.hash {
                return Ok(broken("its content does not match its hash".to_owned()));
            }
            prev = row.hash.clone();
            expected_seq += 1;
            events += 1;
            last_seq = Some(row.seq);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: i64, prev: &str) -> Model {
        let mut row = Model {
            occurred_at: "2026-12-02T08:00:00.000000Z".to_owned(),
            subject: Some("s".to_owned()),
            roles: "[]".to_owned(),
            prev_hash: prev.to_owned(),
            ..Model::example(seq)
        };
        row.hash = hash(prev, &row);
        row
    }

    #[test]
    fn null_and_empty_hash_differently_and_lengths_keep_fields_apart() {
        let a = row(1, GENESIS);
        let mut b = a.clone();
        b.trace_id = Some(String::new());
        assert_ne!(hash(GENESIS, &a), hash(GENESIS, &b));
        // Moving a byte from one field to the next changes the hash.
        let mut c = a.clone();
        c.request_id = "rs".to_owned();
        c.subject = Some(String::new());
        let mut d = a.clone();
        d.request_id = "r".to_owned();
        d.subject = Some("s".to_owned());
        assert_ne!(hash(GENESIS, &c), hash(GENESIS, &d));
    }

    #[test]
    fn later_columns_leave_earlier_events_hashes_and_count_when_set() {
        let plain = row(1, GENESIS);
        // The hash an event stored before the columns existed: the same canonical form.
        let earlier = {
            let text = String::from_utf8(canonical(&plain)).unwrap();
            assert!(!text.contains("denied_fields") && !text.contains("as_file"));
            text
        };
        assert!(earlier.ends_with(&format!("prev_hash=64:{GENESIS}\n")));
        let mut denied = plain.clone();
        denied.denied_fields = "[\"Client.name\"]".to_owned();
        let mut file = plain.clone();
        file.as_file = true;
        for changed in [denied, file] {
            assert_ne!(hash(GENESIS, &changed), plain.hash);
        }
    }

    #[test]
    fn the_previous_hash_is_part_of_the_hash() {
        let a = row(2, GENESIS);
        assert_ne!(hash(GENESIS, &a), hash(&"1".repeat(64), &a));
    }
}
