//! Reading division records the way every division reads them: a measure's records one
//! page at a time, and a client's records either from the entity batch it arrived in
//! ([`crate::batch`]) or, for clients reached another way, through a per-request
//! DataLoader that batches what arrives within its time window. Every read here is
//! limited to the rows of the caller's responsible bodies ([`crate::access`]).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, Request};
use sea_orm::{ColumnTrait, Condition, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::access::{RowAccess, row_access};
use crate::batch::{ClientBatch, ClientRows, EntityBatches};
use crate::internal;
use crate::page::Page;

/// Keys per SQL statement: well under the bind-parameter limits of SQLite and PostgreSQL.
pub const BATCH_SIZE: usize = 500;

/// A table whose rows belong to one measure, were made by one responsible body and have
/// a numeric id (events and client records).
pub trait MeasureRecord: EntityTrait {
    fn id_column() -> Self::Column;
    fn measure_column() -> Self::Column;
    /// The body that made the row: the column row rules filter on.
    fn body_column() -> Self::Column;
    /// The client the row is about, for rows about a client.
    fn client_of(_model: &Self::Model) -> Option<&str> {
        None
    }
}

/// A table whose rows are about one client and belong to one measure.
pub trait ClientRecord: MeasureRecord + ClientRows {
    fn id(model: &Self::Model) -> i64;
}

/// One page of a measure's rows that the caller may see, in id order.
pub async fn page_of_measure<E: MeasureRecord>(
    ctx: &Context<'_>,
    measure_id: &str,
    page: Page,
) -> async_graphql::Result<Vec<E::Model>> {
    page_of_table::<E>(ctx, Some(measure_id), page).await
}

/// One page of a table's rows that the caller may see, in id order, optionally of one
/// measure only.
pub async fn page_of_table<E: MeasureRecord>(
    ctx: &Context<'_>,
    measure_id: Option<&str>,
    page: Page,
) -> async_graphql::Result<Vec<E::Model>> {
    let mut only = Condition::all();
    if let Some(measure_id) = measure_id {
        only = only.add(E::measure_column().eq(measure_id));
    }
    page_where::<E>(ctx, only, page).await
}

/// One page of the rows of table `E` that meet `only` and that the caller may see, in id
/// order: a measure's, a sponsor group's.
pub async fn page_where<E: MeasureRecord>(
    ctx: &Context<'_>,
    only: Condition,
    page: Page,
) -> async_graphql::Result<Vec<E::Model>> {
    let rows = row_access(ctx)?;
    if rows.bodies().is_empty() {
        return Ok(Vec::new());
    }
    let mut query = E::find()
        .filter(E::body_column().is_in(rows.bodies().iter().map(String::as_str)))
        .filter(only);
    if let Some(after) = page.after {
        query = query.filter(E::id_column().gt(after));
    }
    let found = query
        .order_by_asc(E::id_column())
        .limit(page.limit)
        .all(rows.db())
        .await
        .map_err(internal)?;
    rows.returned(found.iter().filter_map(E::client_of));
    Ok(found)
}

/// The row of table `E` with id `id`, if it exists and the caller may see it.
pub async fn by_id<E: MeasureRecord>(
    ctx: &Context<'_>,
    id: i64,
) -> async_graphql::Result<Option<E::Model>> {
    let rows = row_access(ctx)?;
    if rows.bodies().is_empty() {
        return Ok(None);
    }
    let found = E::find()
        .filter(E::id_column().eq(id))
        .filter(E::body_column().is_in(rows.bodies().iter().map(String::as_str)))
        .one(rows.db())
        .await
        .map_err(internal)?;
    rows.returned(found.iter().filter_map(E::client_of));
    Ok(found)
}

/// Loads the rows of any [`ClientRecord`] table for a batch of clients.
pub struct RecordLoader {
    rows: RowAccess,
}

/// The key "rows of table `E` about client `client_id`".
pub struct OfClient<E> {
    client_id: String,
    table: PhantomData<fn() -> E>,
}

impl<E> OfClient<E> {
    pub fn new(client_id: &str) -> Self {
        Self {
            client_id: client_id.to_owned(),
            table: PhantomData,
        }
    }
}

impl<E> Clone for OfClient<E> {
    fn clone(&self) -> Self {
        Self::new(&self.client_id)
    }
}

impl<E> PartialEq for OfClient<E> {
    fn eq(&self, other: &Self) -> bool {
        self.client_id == other.client_id
    }
}

impl<E> Eq for OfClient<E> {}

impl<E> Hash for OfClient<E> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.client_id.hash(state);
    }
}

impl<E> Loader<OfClient<E>> for RecordLoader
where
    E: ClientRecord + 'static,
    E::Model: Send + Sync + Clone,
{
    type Value = Vec<E::Model>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[OfClient<E>],
    ) -> Result<HashMap<OfClient<E>, Self::Value>, Self::Error> {
        let mut found: HashMap<OfClient<E>, Vec<E::Model>> = HashMap::with_capacity(keys.len());
        if self.rows.bodies().is_empty() {
            return Ok(found);
        }
        for chunk in keys.chunks(BATCH_SIZE) {
            let ids = chunk.iter().map(|key| key.client_id.as_str());
            let rows = E::find()
                .filter(E::client_column().is_in(ids))
                .filter(self.rows.client_scope::<E>())
                .order_by_asc(E::id_column())
                .all(self.rows.db())
                .await?;
            for row in rows {
                found
                    .entry(OfClient::new(E::client_id(&row)))
                    .or_default()
                    .push(row);
            }
        }
        Ok(found)
    }
}

/// Fresh request-scoped state for each request: loader batches and entity batches never
/// mix requests, and nothing is cached beyond the request that loaded it.
pub fn attach_loader(request: Request, rows: &RowAccess) -> Request {
    request
        .data(
            DataLoader::new(RecordLoader { rows: rows.clone() }, tokio::spawn)
                .max_batch_size(BATCH_SIZE),
        )
        .data(EntityBatches::default())
}

/// One page of a client's rows of table `E`: from the client's entity batch when it came
/// in one, else through the request's DataLoader.
pub async fn of_client<E>(
    ctx: &Context<'_>,
    client_id: &str,
    batch: Option<&Arc<ClientBatch>>,
    page: Page,
) -> async_graphql::Result<Vec<E::Model>>
where
    E: ClientRecord + 'static,
    E::Model: Send + Sync + Clone,
{
    let access = row_access(ctx)?;
    let found = if let Some(batch) = batch {
        let rows = batch.rows::<E>(access).await.map_err(internal)?;
        rows.get(client_id)
            .map(|rows| page.slice(rows, E::id))
            .unwrap_or_default()
    } else {
        let loader = ctx.data::<DataLoader<RecordLoader>>()?;
        let rows = loader
            .load_one(OfClient::<E>::new(client_id))
            .await
            .map_err(internal)?
            .unwrap_or_default();
        page.slice(&rows, E::id)
    };
    if !found.is_empty() {
        access.returned([client_id]);
    }
    Ok(found)
}
