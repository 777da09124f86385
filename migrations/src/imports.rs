//! What the divisions' databases keep of imports: each imported row's source record —
//! the division's record it became and the hash of what it last held — so that a
//! re-import changes nothing and a changed row updates the record it made before. The
//! programme database keeps its own side (`import_facts`, in `programme`): a record
//! becomes a division's row and a fact of the statistics register, written in two
//! databases, and each side knows on its own whether it is up to date, so that an import
//! stopped between the two is completed by running it again.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// Creates a division's `import_sources` and lets the importer correct its rows.
pub struct CreateImportSources {
    /// The division's tables an import writes.
    pub tables: &'static [&'static str],
}

impl MigrationName for CreateImportSources {
    fn name(&self) -> &str {
        "m20261207_000003_create_import_sources"
    }
}

/// Lets the importer correct the rows of `tables` (PostgreSQL): the read policies would
/// hide every row from an update, so a changed source record is corrected in the
/// maintenance scope.
pub(crate) async fn allow_corrections(
    manager: &SchemaManager<'_>,
    tables: &[&str],
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    if db.get_database_backend() == DbBackend::Postgres {
        for table in tables {
            db.execute_unprepared(&format!(
                "CREATE POLICY {table}_import ON {table} FOR UPDATE \
                 USING ({MAINTENANCE}) WITH CHECK (true);"
            ))
            .await?;
        }
    }
    Ok(())
}

/// The maintenance scope, as SQL: set only by the importer's and the seeder's own
/// transactions, never on the request path.
pub(crate) const MAINTENANCE: &str = "coalesce(current_setting('kotohub.scope', true), '') = 'all'";

#[async_trait::async_trait]
impl MigrationTrait for CreateImportSources {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("import_sources")
                    .if_not_exists()
                    .col(string_len("kind", 32))
                    .col(string_len("source_id", 64))
                    .col(big_integer("record_id"))
                    .col(string_len("row_hash", 64))
                    .col(string_len("run_id", 32))
                    .primary_key(Index::create().col("kind").col("source_id"))
                    .to_owned(),
            )
            .await?;
        allow_corrections(manager, self.tables).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            for table in self.tables {
                db.execute_unprepared(&format!("DROP POLICY IF EXISTS {table}_import ON {table};"))
                    .await?;
            }
        }
        manager
            .drop_table(Table::drop().table("import_sources").to_owned())
            .await
    }
}
