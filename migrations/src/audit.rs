//! The access log's database (`audit`): one row per operation the gateway answered,
//! each carrying the hash of the one before, so the log is a chain. The log is
//! insert-only: on PostgreSQL the application role loses UPDATE, DELETE and TRUNCATE on
//! the table, and triggers refuse them from anyone, so a change needs the table's owner
//! to take the protections down first — which the chain still shows.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::columns::{create_with_indexes, drop_all};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(CreateAuditLog)]
    }
}

/// The table of events.
pub const EVENTS: &str = "audit_events";

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
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(&format!(
                "REVOKE UPDATE, DELETE, TRUNCATE ON {EVENTS} FROM PUBLIC;
                 REVOKE UPDATE, DELETE, TRUNCATE ON {EVENTS} FROM CURRENT_USER;
                 CREATE OR REPLACE FUNCTION audit_events_are_append_only() RETURNS trigger
                   LANGUAGE plpgsql AS $$
                   BEGIN
                     RAISE EXCEPTION 'the access log is append-only: % refused', TG_OP;
                   END $$;
                 CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON {EVENTS}
                   FOR EACH ROW EXECUTE FUNCTION audit_events_are_append_only();
                 CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON {EVENTS}
                   FOR EACH STATEMENT EXECUTE FUNCTION audit_events_are_append_only();"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &[EVENTS]).await
    }
}
