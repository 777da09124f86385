//! The statistics register's client facts held in memory, column by column, each
//! client's facts side by side: what the analysts' client breakdowns are counted from.
//!
//! In the request flow it sits under [`crate::statistics::clients`], which checks the
//! question and publishes the counts this module makes under the disclosure rules.
//!
//! Why in memory: a count of distinct clients does not add up across cells, so no
//! pre-aggregated table answers every combination of dimensions, filters, outcomes and
//! aggregate scopes, and a grouped `COUNT(DISTINCT …)` in SQL reads every fact — about
//! two seconds at a million clients on either backend (`docs/benchmarks.md`). With a
//! client's facts side by side one pass over the facts counts a breakdown ([`facts`]).
//!
//! Freshness: every write to `client_facts` moves the register's version on and notes
//! the clients it touched with that version (`register_version`, `register_changes`;
//! kept by triggers, so every writer counts: imports, seeding, an operator's SQL). Each
//! breakdown reads the version first and, when the copy is older, waits while the
//! noted clients' facts are read again and put in the place of their old ones
//! ([`reading::merge`]); the whole register is read only on start, when the notes it
//! needs were forgotten ([`forget_changes`], a `TRUNCATE`), or when most clients
//! changed. The requests waiting meanwhile are all served by that one reading.
//!
//! Scope: the copy holds every division's facts, read as a city-wide analyst reads them
//! (`kotohub.divisions = '*'` on PostgreSQL). A [`Question`] cannot be put without the
//! asker's divisions, and [`Facts::count`] counts nothing outside them; on PostgreSQL
//! row-level security no longer checks that a second time for client breakdowns, as it
//! still does for every person-level read and for event breakdowns.

mod facts;
mod reading;

pub use facts::{Answer, Counts, Facts, Question, Second, Selection};

use std::sync::Arc;
use std::time::Instant;

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, Statement,
    TransactionTrait,
};
use tokio::sync::Mutex;

use facts::Dictionary;
use reading::{PACKED, Reading, merge};

/// Fact ids read per statement when the whole register is read: enough to keep the
/// round trips few, few enough that a page's rows in flight stay small.
const PAGE: i64 = 50_000;

/// Changed clients whose facts are read per statement.
const CLIENTS_PER_READ: usize = 500;

/// The register's client facts in memory, and how to bring them up to date.
pub struct Register {
    db: DatabaseConnection,
    held: Mutex<Option<Arc<Facts>>>,
}

/// Where the register's version stands.
struct Version {
    /// Moved on by every statement that writes client facts.
    now: i64,
    /// The last version whose notes of changed clients are forgotten: a copy older
    /// than it is read again whole.
    forgotten: i64,
}

impl Register {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            held: Mutex::new(None),
        }
    }

    /// The facts as the register holds them now: the copy in memory, brought up to date
    /// first when the register changed since it was read.
    pub async fn facts(&self) -> Result<Arc<Facts>, DbErr> {
        let version = version(&self.db).await?;
        let mut held = self.held.lock().await;
        if let Some(facts) = held.as_ref()
            && facts.version >= version.now
        {
            return Ok(facts.clone());
        }
        let started = Instant::now();
        let (facts, how) = match held.as_deref() {
            Some(old) if version.forgotten <= old.version => match refresh(&self.db, old).await? {
                Some(facts) => (facts, "changed clients"),
                None => (
                    load(&self.db).await?,
                    "whole, as most clients changed or their notes were forgotten",
                ),
            },
            _ => (load(&self.db).await?, "whole"),
        };
        tracing::info!(
            facts = facts.len(),
            clients = facts.clients(),
            version = facts.version,
            took_ms = started.elapsed().as_millis(),
            "read the statistics register's client facts: {how}"
        );
        let facts = Arc::new(facts);
        *held = Some(facts.clone());
        Ok(facts)
    }
}

async fn version(db: &impl ConnectionTrait) -> Result<Version, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT version, forgotten FROM register_version WHERE id = 1",
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the register's version row".to_owned()))?;
    Ok(Version {
        now: row.try_get("", "version")?,
        forgotten: row.try_get("", "forgotten")?,
    })
}

/// A read transaction that sees every division's facts.
async fn reader(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let txn = db.begin().await?;
    if db.get_database_backend() == DbBackend::Postgres {
        txn.execute_unprepared("SELECT set_config('kotohub.divisions', '*', true)")
            .await?;
    }
    Ok(txn)
}

/// Reads every client fact, a range of ids at a time, in one read transaction. Ranges
/// rather than `ORDER BY id LIMIT`: with row-level security's filter in its estimate,
/// PostgreSQL sorted the rest of the table on disk for each such page.
async fn load(db: &DatabaseConnection) -> Result<Facts, DbErr> {
    let backend = db.get_database_backend();
    let txn = reader(db).await?;
    // Read before the facts: a write that lands meanwhile leaves the copy marked older
    // than it may be, and the next question reads that write's clients again.
    let version = version(&txn).await?.now;
    let ids = txn
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT min(id) AS first, max(id) AS last FROM client_facts",
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the register's ids".to_owned()))?;
    let first: Option<i64> = ids.try_get("", "first")?;
    let last: Option<i64> = ids.try_get("", "last")?;
    let mut reading = Reading::new(std::array::from_fn(|_| Dictionary::new()));
    if let (Some(first), Some(last)) = (first, last) {
        let mut from = first;
        while from <= last {
            let rows = txn
                .query_all_raw(Statement::from_string(
                    backend,
                    format!(
                        "SELECT {PACKED} AS fact FROM client_facts \
                         WHERE id >= {from} AND id < {}",
                        from.saturating_add(PAGE)
                    ),
                ))
                .await?;
            for row in &rows {
                reading.push(&row.try_get::<String>("", "fact")?)?;
            }
            from = from.saturating_add(PAGE);
        }
    }
    txn.rollback().await?;
    let (dictionaries, runs) = reading.finish();
    Ok(Facts {
        version,
        dictionaries,
        runs,
    })
}

/// `old` brought up to date by reading again the facts of the clients noted since it
/// was read; `None` when most clients were, and reading everything is quicker, or when
/// notes it needs were forgotten meanwhile.
async fn refresh(db: &DatabaseConnection, old: &Facts) -> Result<Option<Facts>, DbErr> {
    let backend = db.get_database_backend();
    let txn = reader(db).await?;
    let now = version(&txn).await?.now;
    let rows = txn
        .query_all_raw(Statement::from_string(
            backend,
            format!(
                "SELECT DISTINCT client_id FROM register_changes WHERE version > {}",
                old.version
            ),
        ))
        .await?;
    let mut changed = rows
        .iter()
        .map(|row| row.try_get::<String>("", "client_id"))
        .collect::<Result<Vec<_>, _>>()?;
    // Asked after the notes were read: notes are forgotten only once `forgotten` says
    // so, so a note missing from what was read shows here.
    let forgotten = version(&txn).await?.forgotten > old.version;
    if forgotten || changed.len() > old.clients() / 4 + CLIENTS_PER_READ {
        txn.rollback().await?;
        return Ok(None);
    }
    changed.sort_unstable();
    let mut reading = Reading::new(old.dictionaries.clone());
    for clients in changed.chunks(CLIENTS_PER_READ) {
        let select = Query::select()
            .expr_as(Expr::cust(PACKED), Alias::new("fact"))
            .from(Alias::new("client_facts"))
            .and_where(Expr::col(Alias::new("client_id")).is_in(clients.iter().cloned()))
            .to_owned();
        for row in txn.query_all_raw(backend.build(&select)).await? {
            reading.push(&row.try_get::<String>("", "fact")?)?;
        }
    }
    txn.rollback().await?;
    let (dictionaries, fresh) = reading.finish();
    Ok(Some(Facts {
        version: now,
        runs: merge(&old.runs, &changed, &fresh),
        dictionaries,
    }))
}

/// Forgets the notes of changed clients but the last `kept` versions' (all of them with
/// none kept), so that they do not pile up: a copy older than what is kept is read again
/// whole. Writers call it in their own transaction once they have written: the seeder
/// after writing the whole register, the importer at the end of a run.
pub async fn forget_changes(txn: &impl ConnectionTrait, kept: i64) -> Result<(), DbErr> {
    txn.execute_unprepared(&format!(
        "UPDATE register_version SET forgotten = version - {kept} \
         WHERE id = 1 AND forgotten < version - {kept}"
    ))
    .await?;
    let forget = match (kept, txn.get_database_backend()) {
        // Emptying the table at once instead of row by row: seconds at a million clients.
        (0, DbBackend::Postgres) => "TRUNCATE register_changes",
        (0, _) => "DELETE FROM register_changes",
        _ => {
            "DELETE FROM register_changes \
             WHERE version <= (SELECT forgotten FROM register_version WHERE id = 1)"
        }
    };
    txn.execute_unprepared(forget).await?;
    Ok(())
}
