//! Schema migrations, one migrator per subgraph database. Each division's tables live in
//! that division's own database (a SQLite file, or a PostgreSQL schema of its own), so each
//! migrator records its history in its own `seaql_migrations` table.
//!
//! Migrations are explicit: `kotohub migrate` runs them in production, and only the
//! embedded default (`kotohub serve`) migrates its SQLite files on start.
//!
//! Migrations are frozen history: they write their DDL with column helpers, never from
//! the current entity structs, so a later change to an entity cannot rewrite a migration
//! that already ran somewhere.

pub use sea_orm_migration::MigratorTrait;

mod columns;
pub mod culture;
pub mod education;
pub mod employment;
pub mod programme;
pub mod social;

/// Runs every pending migration of the subgraph called `name` against `db`.
pub async fn up(
    name: &str,
    db: &sea_orm_migration::sea_orm::DatabaseConnection,
) -> Result<(), sea_orm_migration::sea_orm::DbErr> {
    match name {
        "programme" => programme::Migrator::up(db, None).await,
        "employment" => employment::Migrator::up(db, None).await,
        "education" => education::Migrator::up(db, None).await,
        "social" => social::Migrator::up(db, None).await,
        "culture" => culture::Migrator::up(db, None).await,
        other => Err(sea_orm_migration::sea_orm::DbErr::Custom(format!(
            "no migrations for a subgraph called {other:?}"
        ))),
    }
}
