//! The Culture and Leisure Division's database: cultural events, participations in
//! events and groups, and outcomes such as a hobby taken up.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::columns::{client_record, create_client_record, create_events, drop_all};
use crate::imports::CreateImportSources;
use crate::security::{EmergencyAccessPolicies, RowLevelSecurity, Visible};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateTables),
            Box::new(RowLevelSecurity {
                name: crate::security::FIRST_TABLES,
                tables: &[
                    ("participations", Visible::ByBody),
                    ("culture_outcomes", Visible::ByBody),
                    ("cultural_events", Visible::ByBody),
                ],
            }),
            Box::new(CreateImportSources { tables: &TABLES }),
            Box::new(EmergencyAccessPolicies {
                name: crate::security::EMERGENCY_POLICIES,
                tables: &[
                    ("participations", "client_id"),
                    ("culture_outcomes", "client_id"),
                ],
            }),
        ]
    }
}

struct CreateTables;

impl MigrationName for CreateTables {
    fn name(&self) -> &str {
        "m20261123_000001_create_tables"
    }
}

const TABLES: [&str; 3] = ["participations", "culture_outcomes", "cultural_events"];

/// Tables of client records (rows about one client).
pub const CLIENT_RECORDS: [&str; 2] = ["participations", "culture_outcomes"];
/// The table of events.
pub const EVENTS: &str = "cultural_events";

#[async_trait::async_trait]
impl MigrationTrait for CreateTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = client_record(TABLES[0])
            .col(big_integer_null("event_id"))
            .col(string_len("activity", 32))
            .col(date("participated_on"))
            .to_owned();
        create_client_record(manager, table, TABLES[0]).await?;
        let table = client_record(TABLES[1])
            .col(string_len("kind", 32))
            .col(date("occurred_on"))
            .to_owned();
        create_client_record(manager, table, TABLES[1]).await?;
        create_events(manager, TABLES[2]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &TABLES).await
    }
}
