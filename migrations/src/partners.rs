//! The partner organisations' database: sponsor groups and their sponsors, sponsorships
//! of refugees, "How are you" discussions, and trainings and activities. Shaped like a
//! division's: every row carries its measure and its body, and the row rules filter on
//! the body.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::columns::{
    client_record, create_client_record, create_events, create_with_indexes, drop_all,
};
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
                    ("sponsor_groups", Visible::ByBody),
                    ("sponsors", Visible::ByBody),
                    ("sponsorships", Visible::ByBody),
                    ("wellbeing_discussions", Visible::ByBody),
                    ("partner_events", Visible::ByBody),
                ],
            }),
            Box::new(CreateImportSources { tables: &TABLES }),
            Box::new(EmergencyAccessPolicies {
                name: crate::security::EMERGENCY_POLICIES,
                tables: &[
                    ("sponsorships", "client_id"),
                    ("wellbeing_discussions", "client_id"),
                ],
            }),
        ]
    }
}

struct CreateTables;

impl MigrationName for CreateTables {
    fn name(&self) -> &str {
        "m20261213_000001_create_tables"
    }
}

const TABLES: [&str; 5] = [
    "sponsor_groups",
    "sponsors",
    "sponsorships",
    "wellbeing_discussions",
    "partner_events",
];

/// Tables of client records (rows about one client).
pub const CLIENT_RECORDS: [&str; 2] = ["sponsorships", "wellbeing_discussions"];
/// The table of events.
pub const EVENTS: &str = "partner_events";

/// A table of a body's own rows, about no client: its id, measure and body.
fn body_rows(table: &'static str) -> TableCreateStatement {
    Table::create()
        .table(table)
        .if_not_exists()
        .col(big_pk_auto("id"))
        .col(string_len("measure_id", 8))
        .col(string_len("body_id", 64))
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for CreateTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let groups = body_rows(TABLES[0])
            .col(string_len("name", 200))
            .col(string_len("municipality", 100))
            .col(date("formed_on"))
            .col(date_null("ended_on"))
            .to_owned();
        create_with_indexes(manager, groups, TABLES[0], &["measure_id", "body_id"]).await?;
        let sponsors = body_rows(TABLES[1])
            .col(big_integer("group_id"))
            .col(date("joined_on"))
            .col(date_null("trained_on"))
            .col(date_null("left_on"))
            .to_owned();
        create_with_indexes(manager, sponsors, TABLES[1], &["group_id", "body_id"]).await?;
        let sponsorships = client_record(TABLES[2])
            .col(big_integer("group_id"))
            .col(date("started_on"))
            .col(date_null("ended_on"))
            .to_owned();
        create_client_record(manager, sponsorships, TABLES[2]).await?;
        let discussions = client_record(TABLES[3])
            .col(date("held_on"))
            .col(string_len("language", 8))
            .col(boolean_null("feels_welcome"))
            .col(boolean_null("takes_part_in_activities"))
            .to_owned();
        create_client_record(manager, discussions, TABLES[3]).await?;
        create_events(manager, TABLES[4]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &TABLES).await
    }
}
