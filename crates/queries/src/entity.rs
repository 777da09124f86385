//! The stored saved queries: one `saved_queries` row per name, one immutable
//! `saved_query_versions` row per change, and `saved_query_shares` for the bodies a
//! shared query is shared with. Times are RFC 3339 text in UTC, as in the access log.

pub mod saved_query {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "saved_queries")]
    pub struct Model {
        /// Stable across versions and renames of nothing: what the access log records.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name: String,
        /// The responsible body that owns the query.
        pub owner_body: String,
        /// `owner_body`, `shared` or `all_officers`.
        pub visibility: String,
        pub latest_version: i32,
        pub created_at: String,
        pub created_by: String,
        pub updated_at: String,
        pub updated_by: String,
        pub archived_at: Option<String>,
        pub archived_by: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod saved_query_version {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "saved_query_versions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub query_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub version: i32,
        pub title: String,
        pub description: String,
        pub document: String,
        /// SHA-256 of `document`, as the access log's events of a run carry it.
        pub document_hash: String,
        /// JSON array of the variables: name, type, default, description.
        pub variables: String,
        /// The purpose its runs state when the runner states none.
        pub purpose: Option<String>,
        pub saved_at: String,
        pub saved_by: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod saved_query_share {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "saved_query_shares")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub query_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub body: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
