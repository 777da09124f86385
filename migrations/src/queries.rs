//! The saved-query database (`queries`): named operations owned by a responsible body,
//! each change a new immutable version, and the bodies a query is shared with. On
//! PostgreSQL a trigger refuses any change to a stored version, so "version 3" means the
//! same document for as long as the hub exists.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::columns::drop_all;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateSavedQueries),
            Box::new(crate::columns::AddColumns {
                name: "m20261211_000001_add_saved_query_purposes",
                table: VERSIONS,
                columns: purposes,
            }),
        ]
    }
}

/// One row per saved query: what stays the same across its versions.
pub const QUERIES: &str = "saved_queries";
/// One row per version of a saved query; never changed once written.
pub const VERSIONS: &str = "saved_query_versions";
/// The bodies a query with `shared` visibility is shared with.
pub const SHARES: &str = "saved_query_shares";

struct CreateSavedQueries;

impl MigrationName for CreateSavedQueries {
    fn name(&self) -> &str {
        "m20261202_000001_create_saved_queries"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateSavedQueries {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(QUERIES)
                    .if_not_exists()
                    .col(string_len("id", 32).primary_key())
                    .col(string_len("name", 64).unique_key())
                    .col(string_len("owner_body", 64))
                    .col(string_len("visibility", 16))
                    .col(integer("latest_version"))
                    .col(string_len("created_at", 32))
                    .col(string_len("created_by", 255))
                    .col(string_len("updated_at", 32))
                    .col(string_len("updated_by", 255))
                    .col(string_len_null("archived_at", 32))
                    .col(string_len_null("archived_by", 255))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_saved_queries_owner_body")
                    .table(QUERIES)
                    .col("owner_body")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(VERSIONS)
                    .if_not_exists()
                    .col(string_len("query_id", 32))
                    .col(integer("version"))
                    .col(string_len("title", 200))
                    .col(text("description"))
                    .col(text("document"))
                    .col(string_len("document_hash", 64))
                    .col(text("variables"))
                    .col(string_len("saved_at", 32))
                    .col(string_len("saved_by", 255))
                    .primary_key(Index::create().col("query_id").col("version"))
                    .foreign_key(
                        ForeignKey::create()
                            .from(VERSIONS, "query_id")
                            .to(QUERIES, "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SHARES)
                    .if_not_exists()
                    .col(string_len("query_id", 32))
                    .col(string_len("body", 64))
                    .primary_key(Index::create().col("query_id").col("body"))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SHARES, "query_id")
                            .to(QUERIES, "id"),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(&format!(
                "CREATE OR REPLACE FUNCTION saved_query_versions_are_immutable() RETURNS trigger
                   LANGUAGE plpgsql AS $$
                   BEGIN
                     RAISE EXCEPTION 'a saved query version never changes: % refused', TG_OP;
                   END $$;
                 CREATE TRIGGER {VERSIONS}_immutable BEFORE UPDATE OR DELETE ON {VERSIONS}
                   FOR EACH ROW EXECUTE FUNCTION saved_query_versions_are_immutable();"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &[SHARES, VERSIONS, QUERIES]).await
    }
}

/// A saved query's default purpose: what its runs state for reading person-level data
/// when the runner states none. Part of the version, like the document: a new purpose is
/// a new version. Versions saved before have none (NULL).
fn purposes() -> Vec<ColumnDef> {
    vec![string_len_null("purpose", 64)]
}
