//! Writing events. Requests hand their events to one writer task through a bounded
//! queue and wait for it; the writer takes whatever has queued up, chains the events
//! onto the head it holds, inserts them in one transaction, and only then tells each
//! request its event is stored. One transaction per batch keeps the cost per event low
//! under load without making any request wait for a timer, and one writer keeps the
//! chain in order without locking the table. Writers on the same database (gateway
//! replicas, a command that records what it did) take turns: on PostgreSQL under an
//! advisory lock held for the insert's transaction, on SQLite by retrying a batch whose
//! positions were taken meanwhile, chained anew onto the stored head.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use tokio::sync::{mpsc, oneshot};

use crate::chain::{self, GENESIS};
use crate::entity::audit_event::{self, Model};

/// Events that may wait for the writer; a request beyond that waits for room.
pub const QUEUE: usize = 4_096;
/// Most events inserted in one transaction.
pub const BATCH: usize = 512;
/// How long a request waits for its event to be stored before it is answered with
/// "unavailable" instead.
pub const WAIT: Duration = Duration::from_secs(5);

pub use kotohub_gateway::audit::{Decision, Event, Unavailable};

struct Pending {
    row: Model,
    stored: oneshot::Sender<Result<(), Unavailable>>,
}

/// The handle requests record their events through. Cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    queue: mpsc::Sender<Pending>,
    /// The log's database, where the emergency accesses its events refer to are kept.
    db: DatabaseConnection,
}

impl AuditLog {
    /// Starts the writer on `db`, whose `audit_events` table must exist, continuing the
    /// chain from its last event.
    pub async fn start(db: DatabaseConnection) -> Result<Self, DbErr> {
        let head = head(&db).await?;
        let (queue, waiting) = mpsc::channel(QUEUE);
        tokio::spawn(write(db.clone(), head, waiting));
        Ok(Self { queue, db })
    }

    /// The emergency accesses kept beside this log, as the gateway looks them up.
    pub fn emergency_accesses(&self) -> crate::emergency::EmergencyAccessBook {
        crate::emergency::EmergencyAccessBook::new(self.db.clone())
    }

    /// Events waiting to be written.
    pub fn queue_depth(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

    /// Whether an event could be stored now: the writer runs, its queue has room and the
    /// database answers within [`WAIT`]. The database's own error stays in the log.
    pub async fn ready(&self) -> Result<(), String> {
        if self.queue.is_closed() {
            return Err("the access log's writer has stopped".to_owned());
        }
        if self.queue.capacity() == 0 {
            return Err("the access log's queue is full".to_owned());
        }
        match tokio::time::timeout(WAIT, self.db.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => {
                tracing::warn!(%error, "not ready: the access log's database does not answer");
                Err("the access log's database does not answer".to_owned())
            }
            Err(_) => Err("the access log's database does not answer in time".to_owned()),
        }
    }

    /// Stores `event`, returning once it is committed.
    pub async fn record(&self, event: Event) -> Result<(), Unavailable> {
        let (stored, done) = oneshot::channel();
        let pending = Pending {
            row: row_of(event),
            stored,
        };
        let wait = async {
            self.queue.send(pending).await.map_err(|_| Unavailable)?;
            done.await.map_err(|_| Unavailable)?
        };
        tokio::time::timeout(WAIT, wait)
            .await
            .map_err(|_| Unavailable)?
    }
}

/// The last stored event's position and hash.
async fn head(db: &impl ConnectionTrait) -> Result<(i64, String), DbErr> {
    Ok(audit_event::Entity::find()
        .order_by_desc(audit_event::Column::Seq)
        .one(db)
        .await?
        .map_or((0, GENESIS.to_owned()), |last| (last.seq, last.hash)))
}

async fn write(
    db: DatabaseConnection,
    mut head: (i64, String),
    mut waiting: mpsc::Receiver<Pending>,
) {
    while let Some(first) = waiting.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match waiting.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let outcome = store(&db, &mut head, &batch).await;
        if let Err(error) = &outcome {
            tracing::error!(%error, events = batch.len(), "the access log could not be written");
        }
        for pending in batch {
            // A request that gave up waiting has nobody to tell.
            let _ = pending
                .stored
                .send(outcome.as_ref().map(|_| ()).map_err(|_| Unavailable));
        }
    }
}

/// How many times a batch is tried, each time chained onto the head stored then.
const ATTEMPTS: usize = 3;
/// The pause before the second try, doubled before the third.
const RETRY_PAUSE: Duration = Duration::from_millis(20);

/// The PostgreSQL advisory lock every writer of the log takes for its transaction: one
/// number the whole database agrees on (the first eight bytes of "kotohub-audit-chain").
const CHAIN_LOCK: i64 = 0x6b6f_746f_6875_622d;

/// Chains `batch` onto the log's head and inserts it, moving `head` on. On PostgreSQL
/// writers — the gateway replicas, `kotohub audit subject-report` — take turns under an
/// advisory lock and chain onto the head read inside it, so replicas never race for a
/// position. SQLite has one writer at a time anyway; there another writer may still have
/// moved the chain on since `head` was read (a command beside the hub). Either way a
/// batch whose transaction failed is chained anew onto the stored head and tried again.
async fn store(
    db: &DatabaseConnection,
    head: &mut (i64, String),
    batch: &[Pending],
) -> Result<(), DbErr> {
    let locked = db.get_database_backend() == DbBackend::Postgres;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let outcome = async {
            let txn = db.begin().await?;
            let from = if locked {
                txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({CHAIN_LOCK})"))
                    .await?;
                self::head(&txn).await?
            } else {
                head.clone()
            };
            let (rows, to) = chained(from, batch);
            insert(&txn, rows).await?;
            txn.commit().await?;
            Ok::<_, DbErr>(to)
        }
        .await;
        match outcome {
            Ok(to) => {
                *head = to;
                return Ok(());
            }
            Err(error) => {
                // Read the head back before chaining further: another writer may have
                // moved it, or a lost commit acknowledgement hides that this batch is
                // stored — its first event's id, unique, tells which.
                *head = self::head(db).await?;
                if let Some(first) = batch.first()
                    && audit_event::Entity::find()
                        .filter(audit_event::Column::EventId.eq(first.row.event_id.as_str()))
                        .one(db)
                        .await?
                        .is_some()
                {
                    return Ok(());
                }
                // Nothing of the batch is stored, and the head is read anew: trying
                // again is always safe. It helps when another writer took the positions,
                // held SQLite's lock a moment too long, or when the connection was lost
                // (the database restarted and the pool still held the dead one).
                if attempt >= ATTEMPTS {
                    return Err(error);
                }
                tokio::time::sleep(RETRY_PAUSE * attempt as u32).await;
            }
        }
    }
}

/// The rows of `batch` chained onto `head`, and the head after them.
fn chained(head: (i64, String), batch: &[Pending]) -> (Vec<Model>, (i64, String)) {
    let (mut seq, mut prev) = head;
    let mut rows = Vec::with_capacity(batch.len());
    for pending in batch {
        seq += 1;
        let mut row = pending.row.clone();
        row.seq = seq;
        row.prev_hash = prev;
        row.hash = chain::hash(&row.prev_hash, &row);
        prev = row.hash.clone();
        rows.push(row);
    }
    (rows, (seq, prev))
}

async fn insert(txn: &DatabaseTransaction, rows: Vec<Model>) -> Result<(), DbErr> {
    let models = rows.into_iter().map(|row| audit_event::ActiveModel {
        seq: Set(row.seq),
        event_id: Set(row.event_id),
        occurred_at: Set(row.occurred_at),
        request_id: Set(row.request_id),
        trace_id: Set(row.trace_id),
        subject: Set(row.subject),
        roles: Set(row.roles),
        bodies: Set(row.bodies),
        client_address: Set(row.client_address),
        operation_type: Set(row.operation_type),
        operation_name: Set(row.operation_name),
        document_hash: Set(row.document_hash),
        saved_query_id: Set(row.saved_query_id),
        saved_query_version: Set(row.saved_query_version),
        variables_hash: Set(row.variables_hash),
        subgraphs: Set(row.subgraphs),
        fields: Set(row.fields),
        client_ids: Set(row.client_ids),
        row_count: Set(row.row_count),
        suppressed_cells: Set(row.suppressed_cells),
        decision: Set(row.decision),
        policies: Set(row.policies),
        status: Set(row.status),
        error_codes: Set(row.error_codes),
        duration_us: Set(row.duration_us),
        denied_fields: Set(row.denied_fields),
        as_file: Set(row.as_file),
        purpose: Set(row.purpose),
        emergency_access: Set(row.emergency_access),
        classes: Set(row.classes),
        prev_hash: Set(row.prev_hash),
        hash: Set(row.hash),
    });
    audit_event::Entity::insert_many(models)
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

fn list(values: Vec<String>) -> String {
    let mut values = values;
    values.sort();
    values.dedup();
    serde_json::Value::from(values).to_string()
}

pub(crate) fn random_id() -> String {
    let mut bytes = [0u8; 16];
    // An id only has to be unique; the clock and a counter stand in if the system's
    // random source fails.
    if getrandom::fill(&mut bytes).is_err() {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default() as u64;
        bytes[..8].copy_from_slice(&nanos.to_be_bytes());
        bytes[8..].copy_from_slice(&NEXT.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    }
    hex::encode(bytes)
}

fn row_of(event: Event) -> Model {
    let (saved_query_id, saved_query_version) = event.saved_query.unzip();
    Model {
        seq: 0,
        event_id: random_id(),
        occurred_at: Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true),
        request_id: event.request_id,
        trace_id: event.trace_id,
        subject: event.subject,
        roles: list(event.roles),
        bodies: list(event.bodies),
        client_address: event.client_address,
        operation_type: event.operation_type,
        operation_name: event.operation_name,
        document_hash: event.document_hash,
        saved_query_id,
        saved_query_version,
        variables_hash: event.variables_hash,
        subgraphs: list(event.subgraphs),
        fields: list(event.fields),
        client_ids: list(event.client_ids),
        row_count: event.row_count,
        suppressed_cells: event.suppressed_cells,
        decision: event.decision.as_str().to_owned(),
        policies: list(event.policies),
        status: i32::from(event.status),
        error_codes: list(event.error_codes),
        duration_us: i64::try_from(event.duration.as_micros()).unwrap_or(i64::MAX),
        denied_fields: list(event.denied_fields),
        as_file: event.as_file,
        purpose: event.purpose,
        emergency_access: event.emergency_access,
        classes: list(event.classes),
        prev_hash: String::new(),
        hash: String::new(),
    }
}

impl kotohub_gateway::audit::AuditSink for AuditLog {
    fn record(&self, event: Event) -> futures_util::future::BoxFuture<'_, Result<(), Unavailable>> {
        Box::pin(AuditLog::record(self, event))
    }

    fn queue_depth(&self) -> usize {
        AuditLog::queue_depth(self)
    }

    fn ready(&self) -> futures_util::future::BoxFuture<'_, Result<(), String>> {
        Box::pin(AuditLog::ready(self))
    }
}
