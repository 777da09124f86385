//! The access log's database (`audit`): one row per operation the gateway answered,
//! each carrying the hash of the one before, so the log is a chain. The log is
//! insert-only: on PostgreSQL the application role loses UPDATE, DELETE and TRUNCATE on
//! the table, and triggers refuse them from anyone, so a change needs the table's owner
//! to take the protections down first — which the chain still shows.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::columns::{AddColumns, append_only, create_with_indexes, drop_all};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateAuditLog),
            Box::new(CreateCheckpoints),
            Box::new(CreateSeals),
            Box::new(AddColumns {
                name: "m20261210_000002_add_denied_fields_and_files",
                table: EVENTS,
                columns: denied_fields_and_files,
            }),
            Box::new(AddColumns {
                name: "m20261211_000001_add_purpose_and_emergency_access",
                table: EVENTS,
                columns: purpose_and_emergency_access,
            }),
            Box::new(CreateEmergencyAccesses),
            Box::new(CreateReviewMarks),
            Box::new(CreateTimestamps),
            Box::new(AddColumns {
                name: "m20261211_000005_add_classes",
                table: EVENTS,
                columns: classes,
            }),
        ]
    }
}

/// The table of events.
pub const EVENTS: &str = "audit_events";
/// The table of what pruning removed: each row anchors the chain after it.
pub const CHECKPOINTS: &str = "audit_checkpoints";
/// The table of signed heads of the chain.
pub const SEALS: &str = "audit_seals";
/// The table of RFC 3161 time-stamps of seals.
pub const TIMESTAMPS: &str = "audit_timestamps";
/// The table of auditors' review marks on events.
pub const REVIEW_MARKS: &str = "review_marks";
/// The table of emergency accesses officers opened.
pub const EMERGENCY_ACCESSES: &str = "emergency_accesses";

struct CreateAuditLog;

impl MigrationName for CreateAuditLog {
    fn name(&self) -> &str {
        "m20261202_000001_create_audit_log"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateAuditLog {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::create()
            .table(EVENTS)
            .if_not_exists()
            .col(big_integer("seq").primary_key())
            .col(string_len("event_id", 32).unique_key())
            .col(string_len("occurred_at", 32))
            .col(string_len("request_id", 64))
            .col(string_len_null("trace_id", 64))
            .col(string_len_null("subject", 255))
            .col(text("roles"))
            .col(text("bodies"))
            .col(string_len_null("client_address", 64))
            .col(string_len_null("operation_type", 16))
            .col(string_len_null("operation_name", 255))
            .col(string_len_null("document_hash", 64))
            .col(string_len_null("saved_query_id", 64))
            .col(integer_null("saved_query_version"))
            .col(string_len_null("variables_hash", 64))
            .col(text("subgraphs"))
            .col(text("fields"))
            .col(text("client_ids"))
            .col(big_integer("row_count"))
            .col(big_integer("suppressed_cells"))
            .col(string_len("decision", 16))
            .col(text("policies"))
            .col(integer("status"))
            .col(text("error_codes"))
            .col(big_integer("duration_us"))
            .col(string_len("prev_hash", 64))
            .col(string_len("hash", 64))
            .to_owned();
        create_with_indexes(manager, table, EVENTS, &["occurred_at", "subject"]).await?;
        append_only(manager, EVENTS, "the access log").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &[EVENTS]).await
    }
}

/// What pruning removed, chained like the events, so that the events kept stay
/// verifiable from the last one pruned.
struct CreateCheckpoints;

impl MigrationName for CreateCheckpoints {
    fn name(&self) -> &str {
        "m20261202_000002_create_audit_checkpoints"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateCheckpoints {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CHECKPOINTS)
                    .if_not_exists()
                    .col(big_integer("seq").primary_key())
                    .col(big_integer("pruned_through_seq"))
                    .col(string_len("pruned_through_hash", 64))
                    .col(big_integer("pruned_events"))
                    .col(string_len("pruned_before", 32))
                    .col(string_len("created_at", 32))
                    .col(string_len("prev_hash", 64))
                    .col(string_len("hash", 64))
                    .to_owned(),
            )
            .await?;
        append_only(manager, CHECKPOINTS, "the access log").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &[CHECKPOINTS]).await
    }
}

/// Signed heads of the chain: at an interval and on demand the hub signs the newest
/// event's position and hash with a key the database does not hold, so that a chain
/// rewritten whole — every hash recomputed — no longer matches what was signed.
struct CreateSeals;

impl MigrationName for CreateSeals {
    fn name(&self) -> &str {
        "m20261210_000001_create_audit_seals"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateSeals {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SEALS)
                    .if_not_exists()
                    .col(big_integer("seq").primary_key())
                    .col(string_len("hash", 64))
                    .col(string_len("sealed_at", 32))
                    .col(string_len("public_key", 64))
                    .col(string_len("signature", 128))
                    .to_owned(),
            )
            .await?;
        append_only(manager, SEALS, "the seals of the access log").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &[SEALS]).await
    }
}

/// What an event also says: the fields the policy cut from the operation, and whether
/// the answer left as a file. Events stored before say neither (`[]`, false), which the
/// chain's canonical form leaves out, so their hashes stand.
fn denied_fields_and_files() -> Vec<ColumnDef> {
    vec![
        text("denied_fields").default("[]").to_owned(),
        boolean("as_file").default(false).to_owned(),
    ]
}

/// What an event also says: the purpose the caller stated for a person-level read, and
/// the emergency access it ran under. Events stored before say neither (NULL), which the
/// chain's canonical form leaves out, so their hashes stand.
fn purpose_and_emergency_access() -> Vec<ColumnDef> {
    vec![
        string_len_null("purpose", 64),
        string_len_null("emergency_access", 64),
    ]
}

/// Emergency ("break-the-glass") accesses: who opened access to which client outside
/// their own bodies, why in their own words, and until when. Kept beside the events
/// that used them, insert-only like them: an access is never edited or withdrawn, it
/// runs out.
struct CreateEmergencyAccesses;

impl MigrationName for CreateEmergencyAccesses {
    fn name(&self) -> &str {
        "m20261211_000002_create_emergency_accesses"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateEmergencyAccesses {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::create()
            .table(EMERGENCY_ACCESSES)
            .if_not_exists()
            .col(string_len("id", 32).primary_key())
            .col(string_len("subject", 255))
            .col(text("bodies"))
            .col(string_len("client_id", 64))
            .col(text("reason"))
            .col(string_len("opened_at", 32))
            .col(string_len("expires_at", 32))
            .to_owned();
        create_with_indexes(
            manager,
            table,
            EMERGENCY_ACCESSES,
            &["subject", "client_id", "opened_at"],
        )
        .await?;
        append_only(manager, EMERGENCY_ACCESSES, "the emergency accesses").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &[EMERGENCY_ACCESSES]).await
    }
}

/// Auditors' marks on the events they reviewed: each look a new version of the event's
/// mark, never an edit, so the table is insert-only like the events.
struct CreateReviewMarks;

impl MigrationName for CreateReviewMarks {
    fn name(&self) -> &str {
        "m20261211_000003_create_review_marks"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateReviewMarks {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(REVIEW_MARKS)
                    .if_not_exists()
                    .col(big_integer("event_seq"))
                    .col(integer("version"))
                    .col(string_len("outcome", 16))
                    .col(text("note"))
                    .col(string_len("reviewed_by", 255))
                    .col(string_len("reviewed_at", 32))
                    .primary_key(Index::create().col("event_seq").col("version"))
                    .to_owned(),
            )
            .await?;
        append_only(manager, REVIEW_MARKS, "the review marks").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &[REVIEW_MARKS]).await
    }
}

/// Time-stamps of seals from an outside authority (RFC 3161), when one is configured:
/// proof that a seal existed at a time the hub's clock cannot set. Insert-only.
struct CreateTimestamps;

impl MigrationName for CreateTimestamps {
    fn name(&self) -> &str {
        "m20261211_000004_create_audit_timestamps"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateTimestamps {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TIMESTAMPS)
                    .if_not_exists()
                    .col(big_integer("seq").primary_key())
                    .col(text("tsa_url"))
                    .col(text("token"))
                    .col(string_len("stamped_at", 32))
                    .to_owned(),
            )
            .await?;
        append_only(manager, TIMESTAMPS, "the time-stamps of the seals").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &[TIMESTAMPS]).await
    }
}

/// What an event also says: the classes of data (the schema's marks: personal,
/// special-category …) of the fields it read. Events stored before say none (`[]`), which
/// the chain's canonical form leaves out, so their hashes stand.
fn classes() -> Vec<ColumnDef> {
    vec![text("classes").default("[]").to_owned()]
}
