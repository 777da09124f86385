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

pub mod audit;
mod columns;
pub mod culture;
pub mod education;
pub mod employment;
mod imports;
pub mod partners;
pub mod programme;
pub mod queries;
pub mod security;
pub mod social;

/// The tables of each division that hold client records, and its event table: every
/// table whose rows the row rules scope by responsible body.
pub const DIVISION_TABLES: [(&str, &[&str], &str); 5] = [
    (
        "employment",
        &employment::CLIENT_RECORDS,
        employment::EVENTS,
    ),
    ("education", &education::CLIENT_RECORDS, education::EVENTS),
    ("social", &social::CLIENT_RECORDS, social::EVENTS),
    ("culture", &culture::CLIENT_RECORDS, culture::EVENTS),
    ("partners", &partners::CLIENT_RECORDS, partners::EVENTS),
];

/// Runs every pending migration of the subgraph called `name` against `db`.
pub async fn up(
    name: &str,
    db: &sea_orm_migration::sea_orm::DatabaseConnection,
) -> Result<(), sea_orm_migration::sea_orm::DbErr> {
    match name {
        "programme" => programme::Migrator::up(db, None).await,
        "audit" => audit::Migrator::up(db, None).await,
        "queries" => queries::Migrator::up(db, None).await,
        "employment" => employment::Migrator::up(db, None).await,
        "education" => education::Migrator::up(db, None).await,
        "social" => social::Migrator::up(db, None).await,
        "culture" => culture::Migrator::up(db, None).await,
        "partners" => partners::Migrator::up(db, None).await,
        other => Err(sea_orm_migration::sea_orm::DbErr::Custom(format!(
            "no migrations for a subgraph called {other:?}"
        ))),
    }
}
