//! The employment services' database: skill assessments, guidance sessions, service
//! paths, employment outcomes and networking events.

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
                    ("skill_assessments", Visible::ByBody),
                    ("guidance_sessions", Visible::ByBody),
                    ("service_paths", Visible::ByBody),
                    ("employment_outcomes", Visible::ByBody),
                    ("networking_events", Visible::ByBody),
                ],
            }),
            Box::new(CreateImportSources { tables: &TABLES }),
            Box::new(EmergencyAccessPolicies {
                name: crate::security::EMERGENCY_POLICIES,
                tables: &[
                    ("skill_assessments", "client_id"),
                    ("guidance_sessions", "client_id"),
                    ("service_paths", "client_id"),
                    ("employment_outcomes", "client_id"),
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

const TABLES: [&str; 5] = [
    "skill_assessments",
    "guidance_sessions",
    "service_paths",
    "employment_outcomes",
    "networking_events",
];

/// Tables of client records (rows about one client).
pub const CLIENT_RECORDS: [&str; 4] = [
    "skill_assessments",
    "guidance_sessions",
    "service_paths",
    "employment_outcomes",
];
/// The table of events.
pub const EVENTS: &str = "networking_events";

#[async_trait::async_trait]
impl MigrationTrait for CreateTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = client_record(TABLES[0])
            .col(date("assessed_on"))
            .col(string_len("skill_area", 32))
            .col(string_len("level", 16))
            .to_owned();
        create_client_record(manager, table, TABLES[0]).await?;
        let table = client_record(TABLES[1])
            .col(date("held_on"))
            .col(string_len("language", 8))
            .col(string_len("format", 16))
            .to_owned();
        create_client_record(manager, table, TABLES[1]).await?;
        let table = client_record(TABLES[2])
            .col(string_len("path", 32))
            .col(date("started_on"))
            .col(date_null("ended_on"))
            .col(string_len("status", 16))
            .to_owned();
        create_client_record(manager, table, TABLES[2]).await?;
        let table = client_record(TABLES[3])
            .col(string_len("kind", 32))
            .col(date("occurred_on"))
            .col(integer_null("work_hours"))
            .to_owned();
        create_client_record(manager, table, TABLES[3]).await?;
        create_events(manager, TABLES[4]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &TABLES).await
    }
}
