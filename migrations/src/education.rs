//! The Education Division's database: enrolments (S2, preparatory education, parents'
//! language courses, homework help …), joint-application results, qualifications and
//! education events.

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
                    ("enrolments", Visible::ByBody),
                    ("joint_application_results", Visible::ByBody),
                    ("qualifications", Visible::ByBody),
                    ("education_events", Visible::ByBody),
                ],
            }),
            Box::new(CreateImportSources { tables: &TABLES }),
            Box::new(EmergencyAccessPolicies {
                name: crate::security::EMERGENCY_POLICIES,
                tables: &[
                    ("enrolments", "client_id"),
                    ("joint_application_results", "client_id"),
                    ("qualifications", "client_id"),
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

const TABLES: [&str; 4] = [
    "enrolments",
    "joint_application_results",
    "qualifications",
    "education_events",
];

/// Tables of client records (rows about one client).
pub const CLIENT_RECORDS: [&str; 3] = ["enrolments", "joint_application_results", "qualifications"];
/// The table of events.
pub const EVENTS: &str = "education_events";

#[async_trait::async_trait]
impl MigrationTrait for CreateTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = client_record(TABLES[0])
            .col(string_len("programme", 32))
            .col(date("started_on"))
            .col(date_null("ended_on"))
            .col(string_len("status", 16))
            .to_owned();
        create_client_record(manager, table, TABLES[0]).await?;
        let table = client_record(TABLES[1])
            .col(integer("year"))
            .col(string_len("school_district", 16))
            .col(string_len("result", 16))
            .to_owned();
        create_client_record(manager, table, TABLES[1]).await?;
        let table = client_record(TABLES[2])
            .col(string_len("kind", 32))
            .col(date("completed_on"))
            .to_owned();
        create_client_record(manager, table, TABLES[2]).await?;
        create_events(manager, TABLES[3]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &TABLES).await
    }
}
