//! The stored event: one row of `audit_events`. Lists are JSON arrays in text columns,
//! so the row reads the same on SQLite and PostgreSQL, byte for byte.

/// The strings of a list column; a value that is no such list reads as empty.
pub fn stored_list(stored: &str) -> Vec<String> {
    serde_json::from_str(stored).unwrap_or_default()
}

pub mod audit_event {
    use sea_orm::entity::prelude::*;

    #[derive(
        Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize,
    )]
    #[sea_orm(table_name = "audit_events")]
    pub struct Model {
        /// Position in the chain, from 1 without gaps.
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i64,
        pub event_id: String,
        /// UTC, RFC 3339 with microseconds.
        pub occurred_at: String,
        pub request_id: String,
        pub trace_id: Option<String>,
        pub subject: Option<String>,
        pub roles: String,
        pub bodies: String,
        pub client_address: Option<String>,
        pub operation_type: Option<String>,
        pub operation_name: Option<String>,
        /// SHA-256 of the operation as the gateway normalised it.
        pub document_hash: Option<String>,
        pub saved_query_id: Option<String>,
        pub saved_query_version: Option<i32>,
        /// SHA-256 of the variables; their values are never stored.
        pub variables_hash: Option<String>,
        pub subgraphs: String,
        /// `Type.field` coordinates the answer could hold.
        pub fields: String,
        /// Clients whose person-level data the answer held.
        pub client_ids: String,
        pub row_count: i64,
        pub suppressed_cells: i64,
        pub decision: String,
        /// Ids of the policy rules behind the decision.
        pub policies: String,
        /// The HTTP status answered.
        pub status: i32,
        pub error_codes: String,
        pub duration_us: i64,
        /// `Type.field` coordinates the policy cut from the operation.
        pub denied_fields: String,
        /// The answer left as a file (a CSV export).
        pub as_file: bool,
        /// The purpose the caller stated for a person-level read.
        pub purpose: Option<String>,
        /// The emergency access the operation ran under.
        pub emergency_access: Option<String>,
        /// JSON array of the classes of data (the schema's marks) of `fields`.
        pub classes: String,
        pub prev_hash: String,
        pub hash: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    #[cfg(test)]
    impl Model {
        /// An allowed query at `seq` by an officer who read nothing, not chained yet:
        /// what the unit tests start from and vary.
        pub(crate) fn example(seq: i64) -> Self {
            Self {
                seq,
                event_id: format!("e{seq}"),
                occurred_at: "2026-12-07T10:00:00.000000Z".to_owned(),
                request_id: "r".to_owned(),
                trace_id: None,
                subject: Some("officer".to_owned()),
                roles: "[\"officer\"]".to_owned(),
                bodies: "[]".to_owned(),
                client_address: None,
                operation_type: Some("query".to_owned()),
                operation_name: None,
                document_hash: None,
                saved_query_id: None,
                saved_query_version: None,
                variables_hash: None,
                subgraphs: "[]".to_owned(),
                fields: "[]".to_owned(),
                client_ids: "[]".to_owned(),
                row_count: 0,
                suppressed_cells: 0,
                decision: "allowed".to_owned(),
                policies: "[]".to_owned(),
                status: 200,
                error_codes: "[]".to_owned(),
                duration_us: 1,
                denied_fields: "[]".to_owned(),
                as_file: false,
                purpose: None,
                emergency_access: None,
                classes: "[]".to_owned(),
                prev_hash: String::new(),
                hash: String::new(),
            }
        }
    }
}

/// What one pruning removed: the events up to `pruned_through_seq`, whose last hash the
/// first kept event chains to. Checkpoints chain to each other like events.
pub mod audit_checkpoint {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_checkpoints")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i64,
        pub pruned_through_seq: i64,
        pub pruned_through_hash: String,
        pub pruned_events: i64,
        /// Events before this time (RFC 3339, UTC) were due for pruning.
        pub pruned_before: String,
        pub created_at: String,
        pub prev_hash: String,
        pub hash: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A signed head of the chain: the newest event's position and hash when it was sealed,
/// signed with Ed25519 by a key the database does not hold (`crate::seal`).
pub mod audit_seal {
    use sea_orm::entity::prelude::*;

    #[derive(
        Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize,
    )]
    #[sea_orm(table_name = "audit_seals")]
    pub struct Model {
        /// The event sealed: the chain's head then.
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i64,
        pub hash: String,
        /// RFC 3339, UTC.
        pub sealed_at: String,
        /// The Ed25519 public key, hex.
        pub public_key: String,
        /// The signature of `crate::seal::message`, hex.
        pub signature: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// An emergency access: one officer, one client outside the officer's bodies, a reason
/// in words, and a time it runs out. Times are RFC 3339 in UTC, as the events'.
pub mod emergency_access {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "emergency_accesses")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub subject: String,
        /// JSON array of the bodies the officer acted for when opening it.
        pub bodies: String,
        pub client_id: String,
        pub reason: String,
        pub opened_at: String,
        pub expires_at: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A version of an auditor's mark on one event: what was concluded, in a note.
pub mod review_mark {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "review_marks")]
    pub struct Model {
        /// The event's position in the chain.
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_seq: i64,
        /// 1 for the first mark of the event, then one more for each later look.
        #[sea_orm(primary_key, auto_increment = false)]
        pub version: i32,
        /// `cleared` or `follow-up`.
        pub outcome: String,
        pub note: String,
        pub reviewed_by: String,
        pub reviewed_at: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// An RFC 3161 time-stamp of a seal: the token an outside authority signed over the
/// seal's digest (`crate::timestamp::digest`).
pub mod audit_timestamp {
    use sea_orm::entity::prelude::*;

    #[derive(
        Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize,
    )]
    #[sea_orm(table_name = "audit_timestamps")]
    pub struct Model {
        /// The seal's event.
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i64,
        /// The authority asked.
        pub tsa_url: String,
        /// The TimeStampToken, DER, hex.
        pub token: String,
        pub stamped_at: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
