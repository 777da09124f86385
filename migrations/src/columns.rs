//! Table shapes shared by the division databases. Every division records two kinds of
//! rows against the programme: client records (an enrolment, assessment, case, outcome …
//! of one client in one measure, delivered by one responsible body) and events (held for a
//! measure, with a district, languages and a participant count). Giving them one shape
//! keeps the access rules — which always filter on `client_id`, `measure_id` and
//! `body_id` — the same in every division. Also what several databases' migrations
//! share: tables with their indexes, and tables that only take inserts.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// A client record table with its common columns; add the division's own with `.col()`.
pub fn client_record(table: &'static str) -> TableCreateStatement {
    Table::create()
        .table(table)
        .if_not_exists()
        .col(big_pk_auto("id"))
        .col(string_len("client_id", 32))
        .col(string_len("measure_id", 8))
        .col(string_len("body_id", 64))
        .to_owned()
}

/// An event table: the shape is the same in every division.
pub fn events(table: &'static str) -> TableCreateStatement {
    Table::create()
        .table(table)
        .if_not_exists()
        .col(big_pk_auto("id"))
        .col(string_len("measure_id", 8))
        .col(string_len("body_id", 64))
        .col(string("title"))
        .col(date("held_on"))
        .col(string_len("district", 16))
        .col(string("languages"))
        .col(integer("participant_count"))
        .to_owned()
}

/// Creates `table` and the indexes its rows are looked up by.
pub async fn create_with_indexes(
    manager: &SchemaManager<'_>,
    table: TableCreateStatement,
    name: &'static str,
    indexed: &[&'static str],
) -> Result<(), DbErr> {
    manager.create_table(table).await?;
    for column in indexed {
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name(format!("idx_{name}_{column}"))
                    .table(name)
                    .col(*column)
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}

/// Creates a client record table indexed by client, measure and body.
pub async fn create_client_record(
    manager: &SchemaManager<'_>,
    table: TableCreateStatement,
    name: &'static str,
) -> Result<(), DbErr> {
    create_with_indexes(
        manager,
        table,
        name,
        &["client_id", "measure_id", "body_id"],
    )
    .await
}

/// Creates an event table indexed by measure and body.
pub async fn create_events(manager: &SchemaManager<'_>, name: &'static str) -> Result<(), DbErr> {
    create_with_indexes(manager, events(name), name, &["measure_id", "body_id"]).await
}

/// Drops tables in the given order (for `down`).
pub async fn drop_all(manager: &SchemaManager<'_>, tables: &[&'static str]) -> Result<(), DbErr> {
    for table in tables {
        manager
            .drop_table(Table::drop().table(*table).if_exists().to_owned())
            .await?;
    }
    Ok(())
}

/// Makes `table` insert-only on PostgreSQL: the role that runs the migration loses
/// UPDATE, DELETE and TRUNCATE on it, and triggers refuse them from anyone. `what` names
/// the table's content in the refusal.
pub async fn append_only(
    manager: &SchemaManager<'_>,
    table: &str,
    what: &str,
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    // The message sits in a PL/pgSQL string: a quote in it would end the string.
    let what = what.replace('\'', "''");
    db.execute_unprepared(&format!(
        "REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM PUBLIC;
         REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM CURRENT_USER;
         CREATE OR REPLACE FUNCTION {table}_are_append_only() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             RAISE EXCEPTION '{what} is append-only: % refused', TG_OP;
           END $$;
         CREATE TRIGGER {table}_no_update BEFORE UPDATE OR DELETE ON {table}
           FOR EACH ROW EXECUTE FUNCTION {table}_are_append_only();
         CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
           FOR EACH STATEMENT EXECUTE FUNCTION {table}_are_append_only();"
    ))
    .await?;
    Ok(())
}

/// A migration that adds columns to one table, one statement each (SQLite alters a table
/// one change at a time), and drops them going down. Columns added to a table that has
/// rows need a default or must allow NULL.
pub struct AddColumns {
    pub name: &'static str,
    pub table: &'static str,
    /// The columns, made afresh for each run (a definition is consumed when applied).
    pub columns: fn() -> Vec<ColumnDef>,
}

impl MigrationName for AddColumns {
    fn name(&self) -> &str {
        self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddColumns {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in (self.columns)() {
            manager
                .alter_table(
                    Table::alter()
                        .table(self.table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in (self.columns)() {
            manager
                .alter_table(
                    Table::alter()
                        .table(self.table)
                        .drop_column(column.get_column_name())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
