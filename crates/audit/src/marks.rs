//! Auditors' review marks: an auditor who has looked at events the review rules flagged
//! marks each with an outcome and a note. Marks are versioned — a second look adds a
//! version, nothing is overwritten — and kept insert-only beside the events; the marking
//! itself is an operation through the gateway, so it is in the access log like any read.
//! In the request flow this is the audit subgraph's `markReviewed` and the `reviewed`
//! state of `auditReview`'s flags.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{SecondsFormat, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QuerySelect, TransactionTrait,
};

use crate::entity::audit_event;
use crate::entity::review_mark::{self, Model};

/// The most events one marking takes.
pub const MAX_EVENTS: usize = 1_000;
/// The longest note.
pub const MAX_NOTE_CHARS: usize = 4_000;

/// What the auditor concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
#[graphql(name = "ReviewOutcome")]
pub enum Outcome {
    /// Looked at: the access was justified.
    Cleared,
    /// Looked at: it needs following up (with the officer, the body, the DPO).
    FollowUp,
}

impl Outcome {
    pub fn stored(self) -> &'static str {
        match self {
            Outcome::Cleared => "cleared",
            Outcome::FollowUp => "follow-up",
        }
    }

    pub fn of(stored: &str) -> Self {
        if stored == "cleared" {
            Outcome::Cleared
        } else {
            Outcome::FollowUp
        }
    }
}

/// Why events could not be marked.
#[derive(Debug, thiserror::Error)]
pub enum MarkError {
    #[error("{0}")]
    Invalid(String),
    #[error("these events were marked at the same time by someone else; look again and retry")]
    Conflict,
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// Marks each of `events` (positions in the chain) with `outcome` and `note`, as a new
/// version of its mark; all or none.
pub async fn mark(
    db: &DatabaseConnection,
    reviewer: &str,
    events: &[i64],
    outcome: Outcome,
    note: &str,
) -> Result<Vec<Model>, MarkError> {
    let events: BTreeSet<i64> = events.iter().copied().collect();
    if events.is_empty() || events.len() > MAX_EVENTS {
        return Err(MarkError::Invalid(format!(
            "mark 1 to {MAX_EVENTS} events at a time"
        )));
    }
    let note = note.trim();
    if note.is_empty() || note.chars().count() > MAX_NOTE_CHARS {
        return Err(MarkError::Invalid(format!(
            "say what you found in a note of 1 to {MAX_NOTE_CHARS} characters"
        )));
    }
    let wanted: Vec<i64> = events.iter().copied().collect();
    let found: Vec<i64> = audit_event::Entity::find()
        .select_only()
        .column(audit_event::Column::Seq)
        .filter(audit_event::Column::Seq.is_in(wanted.clone()))
        .into_tuple()
        .all(db)
        .await?;
    let found: BTreeSet<i64> = found.into_iter().collect();
    let missing: Vec<String> = events.difference(&found).map(i64::to_string).collect();
    if !missing.is_empty() {
        return Err(MarkError::Invalid(format!(
            "the log has no event {}",
            missing.join(", ")
        )));
    }
    let reviewed_at = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
    let transaction = db.begin().await?;
    let latest = latest_versions(&transaction, &wanted).await?;
    let rows: Vec<Model> = wanted
        .iter()
        .map(|seq| Model {
            event_seq: *seq,
            version: latest.get(seq).copied().unwrap_or(0) + 1,
            outcome: outcome.stored().to_owned(),
            note: note.to_owned(),
            reviewed_by: reviewer.to_owned(),
            reviewed_at: reviewed_at.clone(),
        })
        .collect();
    let inserted =
        review_mark::Entity::insert_many(rows.iter().map(|row| review_mark::ActiveModel {
            event_seq: Set(row.event_seq),
            version: Set(row.version),
            outcome: Set(row.outcome.clone()),
            note: Set(row.note.clone()),
            reviewed_by: Set(row.reviewed_by.clone()),
            reviewed_at: Set(row.reviewed_at.clone()),
        }))
        .exec_without_returning(&transaction)
        .await;
    match inserted {
        Ok(_) => {
            transaction.commit().await?;
            Ok(rows)
        }
        // The key (event, version): another marking of one of these events came first.
        Err(_) => {
            transaction.rollback().await?;
            Err(MarkError::Conflict)
        }
    }
}

async fn latest_versions(
    db: &impl ConnectionTrait,
    events: &[i64],
) -> Result<BTreeMap<i64, i32>, DbErr> {
    let mut latest = BTreeMap::new();
    for chunk in events.chunks(500) {
        let rows: Vec<(i64, Option<i32>)> = review_mark::Entity::find()
            .select_only()
            .column(review_mark::Column::EventSeq)
            .column_as(review_mark::Column::Version.max(), "version")
            .filter(review_mark::Column::EventSeq.is_in(chunk.to_vec()))
            .group_by(review_mark::Column::EventSeq)
            .into_tuple()
            .all(db)
            .await?;
        latest.extend(rows.into_iter().filter_map(|(seq, v)| v.map(|v| (seq, v))));
    }
    Ok(latest)
}

/// The current (latest) mark of each of `events` that has one.
pub async fn current(
    db: &impl ConnectionTrait,
    events: &[i64],
) -> Result<BTreeMap<i64, Model>, DbErr> {
    let mut current: BTreeMap<i64, Model> = BTreeMap::new();
    for chunk in events.chunks(500) {
        let rows = review_mark::Entity::find()
            .filter(review_mark::Column::EventSeq.is_in(chunk.to_vec()))
            .all(db)
            .await?;
        for row in rows {
            match current.get(&row.event_seq) {
                Some(kept) if kept.version >= row.version => {}
                _ => {
                    current.insert(row.event_seq, row);
                }
            }
        }
    }
    Ok(current)
}

/// Every version of the marks of `event`, oldest first.
pub async fn history(db: &impl ConnectionTrait, event: i64) -> Result<Vec<Model>, DbErr> {
    use sea_orm::QueryOrder;
    review_mark::Entity::find()
        .filter(review_mark::Column::EventSeq.eq(event))
        .order_by_asc(review_mark::Column::Version)
        .all(db)
        .await
}
