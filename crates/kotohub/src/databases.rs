//! Opening the subgraph databases: a SQLite file per subgraph under the data directory
//! in the embedded default, or a PostgreSQL schema per subgraph in production.

use std::path::Path;

use kotohub_subgraph::db::{self, ConnectError};
use sea_orm::{DatabaseConnection, DbErr};

use crate::seed::Databases;

/// Why a database could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("cannot open the {subgraph} database: {source}")]
    Open {
        subgraph: String,
        source: ConnectError,
    },
    #[error("cannot migrate the {subgraph} database: {source}")]
    Migrate { subgraph: String, source: DbErr },
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
}

/// The SQLite URL of `subgraph` under `data_dir`.
pub fn sqlite_url(data_dir: &Path, subgraph: &str) -> String {
    db::sqlite_url(&data_dir.join(format!("{subgraph}.db")))
}

/// Creates `data_dir` if it does not exist.
pub fn ensure_data_dir(data_dir: &Path) -> Result<(), DatabaseError> {
    std::fs::create_dir_all(data_dir).map_err(|source| DatabaseError::DataDir {
        path: data_dir.display().to_string(),
        source,
    })
}

/// Opens the database of `subgraph` at `url`.
pub async fn open(subgraph: &str, url: &str) -> Result<DatabaseConnection, DatabaseError> {
    open_with(subgraph, url, None).await
}

/// [`open`] with at most `connections` in the pool.
pub async fn open_with(
    subgraph: &str,
    url: &str,
    connections: Option<u32>,
) -> Result<DatabaseConnection, DatabaseError> {
    db::connect_with(url, subgraph, connections)
        .await
        .map_err(|source| DatabaseError::Open {
            subgraph: subgraph.to_owned(),
            source,
        })
}

/// Runs the pending migrations of `subgraph`.
pub async fn migrate(subgraph: &str, db: &DatabaseConnection) -> Result<(), DatabaseError> {
    kotohub_migrations::up(subgraph, db)
        .await
        .map_err(|source| DatabaseError::Migrate {
            subgraph: subgraph.to_owned(),
            source,
        })
}

/// Has the database measure the tables of its subgraph (`ANALYZE`) after a bulk load.
/// Both planners choose indexes by these statistics: without them SQLite would rather
/// read every record a body ever made in id order than sort the three of one client, and
/// PostgreSQL plans for tables it believes empty.
pub async fn analyze(db: &DatabaseConnection) -> Result<(), DbErr> {
    use sea_orm::ConnectionTrait;
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            // Only this subgraph's schema: a bare ANALYZE would measure every schema of
            // the database.
            let tables = db
                .query_all_raw(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Postgres,
                    "SELECT quote_ident(table_name) AS name FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
                ))
                .await?
                .iter()
                .map(|row| row.try_get::<String>("", "name"))
                .collect::<Result<Vec<_>, _>>()?;
            if !tables.is_empty() {
                db.execute_unprepared(&format!("ANALYZE {}", tables.join(", ")))
                    .await?;
            }
        }
        _ => {
            db.execute_unprepared("ANALYZE").await?;
        }
    }
    Ok(())
}

/// Opens (and, with `migrate_first`, migrates) every data subgraph's database; `url_of` gives each
/// subgraph's URL.
pub async fn open_all(
    url_of: impl Fn(&str) -> String,
    migrate_first: bool,
) -> Result<Databases, DatabaseError> {
    let mut opened = Vec::with_capacity(crate::SUBGRAPHS.len());
    for name in crate::SUBGRAPHS {
        let db = open(name, &url_of(name)).await?;
        if migrate_first {
            migrate(name, &db).await?;
        }
        opened.push(db);
    }
    let [programme, employment, education, social, culture, partners]: [DatabaseConnection; 6] =
        opened
            .try_into()
            .expect("one connection was opened per subgraph");
    Ok(Databases {
        programme,
        employment,
        education,
        social,
        culture,
        partners,
    })
}

impl Databases {
    /// The connection of the subgraph called `name`.
    pub fn get(&self, name: &str) -> Option<&DatabaseConnection> {
        match name {
            "programme" => Some(&self.programme),
            "employment" => Some(&self.employment),
            "education" => Some(&self.education),
            "social" => Some(&self.social),
            "culture" => Some(&self.culture),
            "partners" => Some(&self.partners),
            _ => None,
        }
    }
}
