//! Entity batches: when the gateway sends `_entities` with many `Client` representations,
//! the first field that needs a table loads that table's rows for every client of the
//! call in one statement per [`BATCH_SIZE`] ids, and every other client of the call reads
//! its rows from that load. The cost of a batch in SQL statements is then fixed by the
//! selection, not by how many clients it carries or by timing; a time-window loader
//! (the DataLoader) cannot promise that when the server is busy.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::{Context, Value};
use sea_orm::{ColumnTrait, Condition, DbErr, EntityTrait, QueryFilter, QueryOrder};
use tokio::sync::OnceCell;

use crate::access::RowAccess;
use crate::records::BATCH_SIZE;

/// A table whose rows are looked up by client id (division records, the client core).
pub trait ClientRows: EntityTrait {
    fn client_column() -> Self::Column;
    fn client_id(model: &Self::Model) -> &str;
    /// The column a client's rows are ordered by.
    fn order_column() -> Self::Column;
    /// The rows `bodies` may see: the row rule of this table.
    fn scope_filter(bodies: &[String]) -> Condition;
}

type Loaded = Arc<dyn Any + Send + Sync>;

/// The clients of one `_entities` call and the tables loaded for them so far.
pub struct ClientBatch {
    ids: Vec<String>,
    tables: Mutex<HashMap<TypeId, Arc<OnceCell<Loaded>>>>,
}

/// Rows of one table for the clients of a batch, by client id.
pub type RowsByClient<E> = HashMap<String, Vec<<E as EntityTrait>::Model>>;

impl ClientBatch {
    /// The rows of table `E` that the caller may see, for every client in the batch,
    /// loaded on first use.
    pub async fn rows<E>(&self, access: &RowAccess) -> Result<Arc<RowsByClient<E>>, Arc<DbErr>>
    where
        E: ClientRows + 'static,
        E::Model: Send + Sync,
    {
        let cell = {
            let mut tables = self
                .tables
                .lock()
                .expect("batch lock is never held across a panic");
            tables.entry(TypeId::of::<E>()).or_default().clone()
        };
        let loaded = cell
            .get_or_try_init(|| async {
                let mut found: RowsByClient<E> = HashMap::with_capacity(self.ids.len());
                if access.bodies().is_empty() {
                    return Ok::<Loaded, DbErr>(Arc::new(found));
                }
                for chunk in self.ids.chunks(BATCH_SIZE) {
                    let rows = E::find()
                        .filter(E::client_column().is_in(chunk.iter().map(String::as_str)))
                        .filter(access.client_scope::<E>())
                        .order_by_asc(E::order_column())
                        .all(access.db())
                        .await?;
                    for row in rows {
                        found
                            .entry(E::client_id(&row).to_owned())
                            .or_default()
                            .push(row);
                    }
                }
                Ok::<Loaded, DbErr>(Arc::new(found))
            })
            .await
            .map_err(Arc::new)?;
        Ok(loaded
            .clone()
            .downcast::<RowsByClient<E>>()
            .expect("each table's cell holds that table's rows"))
    }
}

/// The batches of one request, one per `_entities` field (an operation may alias it).
#[derive(Default)]
pub struct EntityBatches {
    by_field: Mutex<HashMap<String, Arc<ClientBatch>>>,
}

/// The batch of `type_name` representations in the `_entities` call being resolved.
/// `ctx` must be the context an entity resolver receives.
pub fn client_batch(ctx: &Context<'_>, type_name: &str) -> async_graphql::Result<Arc<ClientBatch>> {
    let field = ctx.field();
    let key = field.alias().unwrap_or(field.name()).to_owned();
    let batches = ctx.data::<EntityBatches>()?;
    let mut by_field = batches
        .by_field
        .lock()
        .expect("batch lock is never held across a panic");
    if let Some(batch) = by_field.get(&key) {
        return Ok(batch.clone());
    }
    let representations = field
        .arguments()?
        .into_iter()
        .find(|(name, _)| name.as_str() == "representations")
        .map(|(_, value)| value);
    let mut ids = Vec::new();
    if let Some(Value::List(items)) = representations {
        for item in items {
            if let Value::Object(fields) = item {
                let typename = fields.get("__typename");
                if matches!(typename, Some(Value::String(t)) if t == type_name)
                    && let Some(Value::String(id)) = fields.get("id")
                {
                    ids.push(id.clone());
                }
            }
        }
    }
    ids.sort();
    ids.dedup();
    let batch = Arc::new(ClientBatch {
        ids,
        tables: Mutex::new(HashMap::new()),
    });
    by_field.insert(key, batch.clone());
    Ok(batch)
}
