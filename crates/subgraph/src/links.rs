//! The fields every division record and event carries in GraphQL: its id and its links to
//! the entities the programme subgraph owns (`Client`, `Measure`, `ResponsibleBody`). The
//! gateway resolves a link by sending the key to the owning subgraph, so a division only
//! needs the id it stores.
//!
//! The macros expect the invoking crate to define `Client::new(&str)` and
//! `Measure::new(&str)` at its root.

use async_graphql::{ID, SimpleObject};

use crate::bad_input;

/// Longest entity key a subgraph accepts; real ids are far shorter.
pub const MAX_KEY_LEN: usize = 64;

/// Refuses an entity key that no stored id can have, before it reaches a query.
pub fn check_key(type_name: &str, id: &ID) -> async_graphql::Result<()> {
    let ok = !id.is_empty()
        && id.len() <= MAX_KEY_LEN
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(bad_input(format!(
            "{type_name} id {:?} is not a valid id",
            id.as_str()
        )))
    }
}

/// A responsible body as a division knows it: only its key. The programme subgraph
/// resolves the rest.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(unresolvable = "id")]
pub struct ResponsibleBody {
    pub id: ID,
}

impl ResponsibleBody {
    pub fn new(id: &str) -> Self {
        Self {
            id: ID(id.to_owned()),
        }
    }
}

/// Defines an entity type that a division knows by key only (`Client`, `Measure`): the
/// struct, `new`, and `checked`, which refuses malformed keys. The division writes the
/// type's `#[Object]` impl with its own fields.
#[macro_export]
macro_rules! keyed_entity {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name {
            id: String,
            /// The `_entities` call the entity arrived in, whose rows load together.
            batch: Option<std::sync::Arc<$crate::batch::ClientBatch>>,
        }

        impl $name {
            pub fn new(id: &str) -> Self {
                Self { id: id.to_owned(), batch: None }
            }

            /// The entity for a key sent by the gateway, if the key is well-formed.
            pub fn checked(id: async_graphql::ID) -> async_graphql::Result<Self> {
                $crate::links::check_key(stringify!($name), &id)?;
                Ok(Self::new(&id))
            }

            /// As [`Self::checked`], loading its rows together with the rest of the
            /// `_entities` call it arrived in. `ctx` is the entity resolver's context.
            pub fn in_batch(ctx: &async_graphql::Context<'_>, id: async_graphql::ID) -> async_graphql::Result<Self> {
                let mut entity = Self::checked(id)?;
                entity.batch = Some($crate::batch::client_batch(ctx, stringify!($name))?);
                Ok(entity)
            }
        }
    };
}

/// Implements the link fields of a client record model (`id`, `client`, `measure`,
/// `responsibleBody`), plus any further resolvers given in the braces.
// `crate::Client` is meant: each division links to its own `Client` type.
#[allow(clippy::crate_in_macro_def)]
#[macro_export]
macro_rules! client_record_fields {
    ($model:ty { $($extra:tt)* }) => {
        #[async_graphql::ComplexObject]
        impl $model {
            /// The record's id.
            async fn id(&self) -> async_graphql::ID {
                async_graphql::ID(self.id.to_string())
            }
            /// The client the record is about.
            async fn client(&self) -> crate::Client {
                crate::Client::new(&self.client_id)
            }
            /// The programme measure under which the record was made.
            async fn measure(&self) -> crate::Measure {
                crate::Measure::new(&self.measure_id)
            }
            /// The responsible body that delivered the service.
            async fn responsible_body(&self) -> $crate::links::ResponsibleBody {
                $crate::links::ResponsibleBody::new(&self.body_id)
            }
            $($extra)*
        }
    };
}

/// Defines a division's event table (entity, GraphQL type `$graphql_name`, record access).
/// Every division's events have the same columns; only the table and type names differ.
// `crate::Measure` is meant: each division links to its own `Measure` type.
#[allow(clippy::crate_in_macro_def)]
#[macro_export]
macro_rules! event_entity {
    ($table:tt, $graphql_name:tt) => {
        use sea_orm::entity::prelude::*;
        // The entity derive cannot parse a `$crate` path as a field type.
        use $crate::vocab::District;

        /// An event held for a programme measure.
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, async_graphql::SimpleObject)]
        #[sea_orm(table_name = $table)]
        #[graphql(name = $graphql_name, complex, tag = "class:operational")]
        pub struct Model {
            #[sea_orm(primary_key)]
            #[graphql(skip)]
            pub id: i64,
            #[graphql(skip)]
            pub measure_id: String,
            #[graphql(skip)]
            pub body_id: String,
            pub title: String,
            pub held_on: Date,
            pub district: District,
            /// ISO 639-1 codes, comma-separated.
            #[graphql(skip)]
            pub languages: String,
            pub participant_count: i32,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}

        $crate::measure_record!(Entity);

        #[async_graphql::ComplexObject]
        impl Model {
            /// The event's id.
            async fn id(&self) -> async_graphql::ID {
                async_graphql::ID(self.id.to_string())
            }
            /// The programme measure the event was held for.
            async fn measure(&self) -> crate::Measure {
                crate::Measure::new(&self.measure_id)
            }
            /// The responsible body that organised the event.
            async fn responsible_body(&self) -> $crate::links::ResponsibleBody {
                $crate::links::ResponsibleBody::new(&self.body_id)
            }
            /// Languages the event was held in (ISO 639-1 codes).
            async fn languages(&self) -> Vec<String> {
                $crate::vocab::language_list(&self.languages)
            }
        }
    };
}

/// Implements [`crate::records::MeasureRecord`] for an entity whose rows belong to a
/// measure and a body but to no client: events, a partner's sponsor groups.
#[macro_export]
macro_rules! measure_record {
    ($entity:ty) => {
        impl $crate::records::MeasureRecord for $entity {
            fn id_column() -> Column {
                Column::Id
            }
            fn measure_column() -> Column {
                Column::MeasureId
            }
            fn body_column() -> Column {
                Column::BodyId
            }
        }
    };
}

/// Implements [`crate::records::ClientRecord`] for an entity with the common columns.
#[macro_export]
macro_rules! client_record {
    ($entity:ty) => {
        impl $crate::records::MeasureRecord for $entity {
            fn id_column() -> Column {
                Column::Id
            }
            fn measure_column() -> Column {
                Column::MeasureId
            }
            fn body_column() -> Column {
                Column::BodyId
            }
            fn client_of(model: &Model) -> Option<&str> {
                Some(&model.client_id)
            }
        }
        impl $crate::batch::ClientRows for $entity {
            fn client_column() -> Column {
                Column::ClientId
            }
            fn client_id(model: &Model) -> &str {
                &model.client_id
            }
            fn order_column() -> Column {
                Column::Id
            }
            fn scope_filter(bodies: &[String]) -> sea_orm::Condition {
                use sea_orm::ColumnTrait;
                sea_orm::Condition::all()
                    .add(Column::BodyId.is_in(bodies.iter().map(String::as_str)))
            }
        }
        impl $crate::records::ClientRecord for $entity {
            fn id(model: &Model) -> i64 {
                model.id
            }
        }
    };
}
