//! Synthetic demo data for every data subgraph's database, deterministic from a seed
//! number: the programme catalog, a client population that follows the city with its
//! households and refugee resettlements, each division's records, events and outcomes
//! for the measures it actually runs, the referrals between bodies, and the partner
//! organisations' community sponsorship (seed 004), so that
//! the programme's indicators (1.1's assessments, 1.2's share continuing to education or
//! employment, 1.3's events for non-Finnish/Swedish speakers, Helmi's child-welfare
//! outcomes, 7.5's reading activities …) can be computed from them.
//!
//! Run by `kotohub seed` and by `kotohub serve` on an empty embedded database.

#[macro_use]
mod events;
mod culture;
mod education;
mod employment;
mod families;
mod partners;
pub mod population;
mod register;
mod residents;
mod rng;
pub mod saved_queries;
mod social;

use std::time::{Duration, Instant};

use kotohub_programme::catalog::Catalog;
use kotohub_programme::entity::client;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    EntityTrait, PaginatorTrait, TransactionTrait,
};

/// The data subgraphs' databases.
#[derive(Clone)]
pub struct Databases {
    pub programme: DatabaseConnection,
    pub employment: DatabaseConnection,
    pub education: DatabaseConnection,
    pub social: DatabaseConnection,
    pub culture: DatabaseConnection,
    pub partners: DatabaseConnection,
}

/// What a seeding run wrote.
#[derive(Debug)]
pub struct Summary {
    pub clients: u32,
    pub rows: u64,
    pub took: Duration,
}

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("the catalog shipped with Kotohub is invalid: {0}")]
    Catalog(#[from] kotohub_programme::catalog::CatalogError),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Whether the programme database already holds clients.
pub async fn has_clients(programme: &DatabaseConnection) -> Result<bool, DbErr> {
    let txn = unrestricted(programme).await?;
    Ok(client::Entity::find().count(&txn).await? > 0)
}

/// A transaction that reads past row-level security: for maintenance (seeding, checks),
/// never for serving requests. On SQLite, a plain transaction.
pub async fn unrestricted(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let txn = db.begin().await?;
    if db.get_database_backend() == DbBackend::Postgres {
        txn.execute_unprepared("SELECT set_config('kotohub.scope', 'all', true)")
            .await?;
    }
    Ok(txn)
}

/// Stores the catalog and `clients` synthetic clients with their records in every
/// division. Each database is written in one transaction, so a failed run leaves it as
/// it was.
pub async fn seed(dbs: &Databases, clients: u32, seed: u64) -> Result<Summary, SeedError> {
    let started = Instant::now();
    let catalog = Catalog::embedded()?;
    catalog.store(&dbs.programme).await?;
    let mut people = population::generate(seed, clients);
    let households = families::form(seed, &mut people);
    let (programme, employment, education, social, culture, partners) = tokio::try_join!(
        seed_clients(&dbs.programme, &people, &households, seed),
        employment::seed(&dbs.employment, &people, seed),
        education::seed(&dbs.education, &people, seed),
        social::seed(&dbs.social, &people, seed),
        culture::seed(&dbs.culture, &people, seed),
        partners::seed(&dbs.partners, &people, &households, seed),
    )?;
    let reported = register::report(dbs, &catalog, &people, seed).await?
        + residents::seed(&dbs.programme).await?;
    // The register was written whole: a copy of it is read whole, not client by client.
    kotohub_programme::register::forget_changes(&dbs.programme, 0).await?;
    for db in [
        &dbs.programme,
        &dbs.employment,
        &dbs.education,
        &dbs.social,
        &dbs.culture,
        &dbs.partners,
    ] {
        crate::databases::analyze(db).await?;
    }
    Ok(Summary {
        clients,
        rows: programme + employment + education + social + culture + partners + reported,
        took: started.elapsed(),
    })
}

/// People whose records are made and written at a time: the records of a million at
/// once would take gigabytes.
const PEOPLE_PER_SLICE: usize = 20_000;

/// Rows per INSERT statement: many rows per statement is what makes seeding fast. Not
/// too many: each distinct statement stays compiled in the connection's statement cache,
/// and at 2,000 rows those of a million clients' seeding held 250 MB more than at 500,
/// for no more speed.
const ROWS_PER_STATEMENT: usize = 500;

/// The programme's side of the population: the client core, households and referrals.
async fn seed_clients(
    db: &DatabaseConnection,
    people: &[population::Person],
    households: &[families::Household],
    seed: u64,
) -> Result<u64, DbErr> {
    let txn = unrestricted(db).await?;
    let mut written = 0;
    for slice in people.chunks(PEOPLE_PER_SLICE) {
        written += insert_rows(&txn, slice.iter().map(|p| p.row()).collect()).await?;
    }
    written += families::write_households(&txn, people, households).await?;
    written += families::write_referrals(&txn, people, seed).await?;
    txn.commit().await?;
    Ok(written)
}

/// Inserts rows of one table in statements of [`ROWS_PER_STATEMENT`].
async fn insert_rows<A, C>(db: &C, rows: Vec<A>) -> Result<u64, DbErr>
where
    A: ActiveModelTrait + Send,
    C: sea_orm::ConnectionTrait,
{
    let total = rows.len() as u64;
    let mut rows = rows.into_iter();
    loop {
        let batch: Vec<A> = rows.by_ref().take(ROWS_PER_STATEMENT).collect();
        if batch.is_empty() {
            return Ok(total);
        }
        A::Entity::insert_many(batch)
            .exec_without_returning(db)
            .await?;
    }
}

/// A year in 2018–2025 in which the person was `min_age..=max_age` years old and already
/// living in Finland, if there is one.
fn year_aged(
    rng: &mut rng::Rng,
    person: &population::Person,
    min_age: i32,
    max_age: i32,
) -> Option<i32> {
    let arrived = person.arrival_year.unwrap_or(i32::MIN);
    let first = (person.birth_year + min_age)
        .max(events::YEARS.0)
        .max(arrived);
    let last = (person.birth_year + max_age).min(events::YEARS.1);
    (first <= last).then(|| rng.between(first, last))
}
