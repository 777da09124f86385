//! Row rules, applied where the rows are. Every request a subgraph serves carries the
//! caller's principal, signed by the gateway ([`kotohub_auth::internal`]); the access
//! policy turns it into a [`RowScope`], and every person-level query of the request runs
//! through the request's [`RowAccess`], which filters by that scope in SQL.
//!
//! Aggregates have a scope of their own ([`AggregateScope`]): the divisions whose records
//! an analyst may count. The request's [`RowAccess`] also notes which clients' rows it
//! returned, which the subgraph reports to the gateway's access log.
//!
//! An emergency access (break-the-glass, checked and signed in by the gateway) opens one
//! more client to an officer for one request: [`RowAccess::client_scope`] adds that
//! client's rows wherever rows are read by client, never to listings.
//!
//! On PostgreSQL the same rules are enforced a second time by row-level security: the
//! request's queries run in one transaction in which `kotohub.bodies` holds the scope's
//! bodies and `kotohub.divisions` the aggregate scope's divisions, and the tables'
//! policies (see the migrations) show only those rows, so a query that forgot its filter
//! still returns nothing it should not.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::Context;
use kotohub_auth::{AggregateScope, RowScope};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult,
    QueryResult, Statement, TransactionTrait,
};
use tokio::sync::OnceCell;

/// The setting row-level security policies read the visible bodies from.
pub const BODIES_SETTING: &str = "kotohub.bodies";
/// The setting row-level security policies read the divisions an aggregate may count
/// from: a comma-separated list, or `*` for the whole city.
pub const DIVISIONS_SETTING: &str = "kotohub.divisions";
/// The setting row-level security policies read the client an emergency access opens
/// from: empty when none.
pub const EMERGENCY_CLIENT_SETTING: &str = "kotohub.emergency_client";

/// What one request may read, and the connection its person-level queries run on.
#[derive(Clone)]
pub struct RowAccess {
    scope: RowScope,
    aggregates: AggregateScope,
    connection: ScopedConnection,
    returned: Arc<Mutex<BTreeSet<String>>>,
    suppressed: Arc<AtomicI64>,
    emergency_client: Option<String>,
}

impl RowAccess {
    pub fn new(scope: RowScope, aggregates: AggregateScope, db: DatabaseConnection) -> Self {
        Self::with_emergency_client(scope, aggregates, db, None)
    }

    /// As [`RowAccess::new`], also opening `emergency_client` wherever rows are read by
    /// client — only to a caller with a row scope of its own (an officer).
    pub fn with_emergency_client(
        scope: RowScope,
        aggregates: AggregateScope,
        db: DatabaseConnection,
        emergency_client: Option<String>,
    ) -> Self {
        let emergency_client = emergency_client.filter(|_| !scope.bodies().is_empty());
        let bodies = scope.bodies().join(",");
        let divisions = match &aggregates {
            AggregateScope::Nothing => String::new(),
            AggregateScope::Divisions(divisions) => divisions.join(","),
            AggregateScope::CityWide => "*".to_owned(),
        };
        Self {
            scope,
            aggregates,
            returned: Arc::default(),
            suppressed: Arc::default(),
            connection: ScopedConnection(Arc::new(Inner {
                db,
                bodies,
                divisions,
                emergency_client: emergency_client.clone().unwrap_or_default(),
                transaction: OnceCell::new(),
            })),
            emergency_client,
        }
    }

    /// The rows of table `E` this request may read by client: those of the caller's
    /// bodies (the table's row rule), and the rows of the client an emergency access
    /// opened, if any.
    pub fn client_scope<E: crate::batch::ClientRows>(&self) -> sea_orm::Condition {
        use sea_orm::ColumnTrait;
        let own = E::scope_filter(self.bodies());
        match &self.emergency_client {
            None => own,
            Some(client) => sea_orm::Condition::any()
                .add(own)
                .add(E::client_column().eq(client.as_str())),
        }
    }

    /// Notes clients whose person-level data the request returns, for the gateway's
    /// access log: resolvers call it with the rows they hand back.
    pub fn returned<'a>(&self, clients: impl IntoIterator<Item = &'a str>) {
        let mut returned = self
            .returned
            .lock()
            .expect("the returned set's lock is never held across a panic");
        returned.extend(clients.into_iter().map(str::to_owned));
    }

    /// The clients noted by [`RowAccess::returned`] so far.
    pub fn returned_clients(&self) -> Vec<String> {
        self.returned
            .lock()
            .expect("the returned set's lock is never held across a panic")
            .iter()
            .cloned()
            .collect()
    }

    /// Notes aggregate cells the request returned suppressed, for the access log.
    pub fn suppressed(&self, cells: i64) {
        self.suppressed.fetch_add(cells, Ordering::Relaxed);
    }

    /// The cells noted by [`RowAccess::suppressed`] so far.
    pub fn suppressed_cells(&self) -> i64 {
        self.suppressed.load(Ordering::Relaxed)
    }

    /// The divisions whose records may be counted in aggregates.
    pub fn aggregates(&self) -> &AggregateScope {
        &self.aggregates
    }

    /// The responsible bodies whose rows are visible; empty when none are.
    pub fn bodies(&self) -> &[String] {
        self.scope.bodies()
    }

    /// The connection to run the request's person-level queries on.
    pub fn db(&self) -> &ScopedConnection {
        &self.connection
    }

    /// Ends the request's transaction, if one was opened. Reads only, so it is rolled back.
    pub async fn finish(self) {
        let Self { connection, .. } = self;
        if let Ok(inner) = Arc::try_unwrap(connection.0)
            && let Some(transaction) = inner.transaction.into_inner()
            && let Err(error) = transaction.rollback().await
        {
            tracing::warn!(%error, "ending a request's read transaction failed");
        }
    }
}

/// The request's [`RowAccess`]. A subgraph puts one in every request it runs; a resolver
/// reached without one fails rather than read unscoped.
pub fn row_access<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a RowAccess> {
    ctx.data::<RowAccess>()
}

/// A connection that, on PostgreSQL, opens one transaction per request on first use and
/// sets [`BODIES_SETTING`] and [`DIVISIONS_SETTING`] in it; on SQLite, the pool itself.
#[derive(Clone)]
pub struct ScopedConnection(Arc<Inner>);

struct Inner {
    db: DatabaseConnection,
    bodies: String,
    divisions: String,
    emergency_client: String,
    transaction: OnceCell<DatabaseTransaction>,
}

enum Target<'a> {
    Pool(&'a DatabaseConnection),
    Transaction(&'a DatabaseTransaction),
}

impl ScopedConnection {
    async fn target(&self) -> Result<Target<'_>, DbErr> {
        let inner = &*self.0;
        if inner.db.get_database_backend() != DbBackend::Postgres {
            return Ok(Target::Pool(&inner.db));
        }
        let transaction = inner
            .transaction
            .get_or_try_init(|| async {
                let transaction = inner.db.begin().await?;
                transaction
                    .execute_raw(Statement::from_sql_and_values(
                        DbBackend::Postgres,
                        "SELECT set_config($1, $2, true), set_config($3, $4, true), \
                         set_config($5, $6, true)",
                        [
                            BODIES_SETTING.into(),
                            inner.bodies.clone().into(),
                            DIVISIONS_SETTING.into(),
                            inner.divisions.clone().into(),
                            EMERGENCY_CLIENT_SETTING.into(),
                            inner.emergency_client.clone().into(),
                        ],
                    ))
                    .await?;
                Ok::<_, DbErr>(transaction)
            })
            .await?;
        Ok(Target::Transaction(transaction))
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for ScopedConnection {
    fn get_database_backend(&self) -> DbBackend {
        self.0.db.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match self.target().await? {
            Target::Pool(db) => db.execute_raw(stmt).await,
            Target::Transaction(t) => t.execute_raw(stmt).await,
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match self.target().await? {
            Target::Pool(db) => db.execute_unprepared(sql).await,
            Target::Transaction(t) => t.execute_unprepared(sql).await,
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match self.target().await? {
            Target::Pool(db) => db.query_one_raw(stmt).await,
            Target::Transaction(t) => t.query_one_raw(stmt).await,
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self.target().await? {
            Target::Pool(db) => db.query_all_raw(stmt).await,
            Target::Transaction(t) => t.query_all_raw(stmt).await,
        }
    }
}
