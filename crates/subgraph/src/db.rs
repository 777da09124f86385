//! A subgraph's connection to its own database. Every subgraph owns one database: a SQLite
//! file in the embedded default, or one PostgreSQL schema (named after the subgraph) in
//! production, so that divisions never share tables and a subgraph can be moved to its
//! own server without changing code.

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("database URL must start with sqlite: or postgres:")]
    UnsupportedScheme,
    #[error("schema name {0:?} must be lower-case letters, digits and underscores")]
    BadSchemaName(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Connections a subgraph's pool opens at most: on SQLite each is a thread with its own
/// page cache, on PostgreSQL a server process.
const SQLITE_CONNECTIONS: u32 = 8;
const POSTGRES_CONNECTIONS: u32 = 16;

/// Opens the database at `url`. On PostgreSQL, `schema` is created if missing and becomes
/// the connection's search path, so the subgraph's unqualified table names land there.
pub async fn connect(url: &str, schema: &str) -> Result<DatabaseConnection, ConnectError> {
    connect_with(url, schema, None).await
}

/// [`connect`] with at most `connections` in the pool, for a process that needs few (the
/// gateway writes its access log from one task) instead of a subgraph's many readers.
pub async fn connect_with(
    url: &str,
    schema: &str,
    connections: Option<u32>,
) -> Result<DatabaseConnection, ConnectError> {
    if !is_identifier(schema) {
        return Err(ConnectError::BadSchemaName(schema.to_owned()));
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(10));
    if url.starts_with("sqlite:") {
        options
            .map_sqlx_sqlite_opts(|opts| {
                // WAL lets readers proceed while the seeder writes; NORMAL sync is durable
                // across application crashes, which is what a WAL database needs.
                opts.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
            })
            .max_connections(connections.unwrap_or(SQLITE_CONNECTIONS));
        Ok(Database::connect(options).await?)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        options
            .set_schema_search_path(schema)
            .max_connections(connections.unwrap_or(POSTGRES_CONNECTIONS));
        let db = Database::connect(options).await?;
        db.execute_unprepared(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
            .await?;
        Ok(db)
    } else {
        Err(ConnectError::UnsupportedScheme)
    }
}

/// The URL of a SQLite file, created when missing.
pub fn sqlite_url(path: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// True for the backends whose identifiers we may interpolate into DDL.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z' | '_'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        && name.len() <= 63
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_checked() {
        assert!(is_identifier("employment"));
        assert!(is_identifier("t_42_social"));
        assert!(!is_identifier("Employment"));
        assert!(!is_identifier("x\"; drop schema public; --"));
        assert!(!is_identifier(""));
    }
}
