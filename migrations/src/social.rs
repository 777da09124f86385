//! The Social Services and Health Care Division's database: cases, multi-professional
//! service-needs assessments, support periods (Helmi family work, social rehabilitation
//! …), outcomes and the division's events.

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
                    ("social_cases", Visible::ByBody),
                    ("service_needs_assessments", Visible::ByBody),
                    ("support_periods", Visible::ByBody),
                    ("social_outcomes", Visible::ByBody),
                    ("social_events", Visible::ByBody),
                ],
            }),
            Box::new(CreateImportSources { tables: &TABLES }),
            Box::new(EmergencyAccessPolicies {
                name: crate::security::EMERGENCY_POLICIES,
                tables: &[
                    ("social_cases", "client_id"),
                    ("service_needs_assessments", "client_id"),
                    ("support_periods", "client_id"),
                    ("social_outcomes", "client_id"),
                ],
            }),
            Box::new(CreateTreatmentReferrals),
            Box::new(RowLevelSecurity {
                name: "m20261214_000002_treatment_referrals_row_level_security",
                tables: &[("treatment_referrals", Visible::ByBody)],
            }),
            Box::new(EmergencyAccessPolicies {
                name: "m20261214_000003_treatment_referrals_emergency_access_policies",
                tables: &[("treatment_referrals", "client_id")],
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
    "social_cases",
    "service_needs_assessments",
    "support_periods",
    "social_outcomes",
    "social_events",
];

/// Tables of client records (rows about one client).
pub const CLIENT_RECORDS: [&str; 5] = [
    "social_cases",
    "service_needs_assessments",
    "support_periods",
    "social_outcomes",
    "treatment_referrals",
];
/// The table of events.
pub const EVENTS: &str = "social_events";

#[async_trait::async_trait]
impl MigrationTrait for CreateTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = client_record(TABLES[0])
            .col(string_len("kind", 32))
            .col(date("opened_on"))
            .col(date_null("closed_on"))
            .to_owned();
        create_client_record(manager, table, TABLES[0]).await?;
        let table = client_record(TABLES[1])
            .col(date("assessed_on"))
            .col(boolean("multi_professional"))
            .to_owned();
        create_client_record(manager, table, TABLES[1]).await?;
        let table = client_record(TABLES[2])
            .col(string_len("service", 32))
            .col(date("started_on"))
            .col(date_null("ended_on"))
            .col(integer_null("satisfaction"))
            .to_owned();
        create_client_record(manager, table, TABLES[2]).await?;
        let table = client_record(TABLES[3])
            .col(string_len("kind", 32))
            .col(date("occurred_on"))
            .to_owned();
        create_client_record(manager, table, TABLES[3]).await?;
        create_events(manager, TABLES[4]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &TABLES).await
    }
}

/// Referrals to substance abuse and mental health treatment (Home to Helsinki's
/// treatment referral practice, seed 000), which imports may correct like any record.
struct CreateTreatmentReferrals;

impl MigrationName for CreateTreatmentReferrals {
    fn name(&self) -> &str {
        "m20261214_000001_create_treatment_referrals"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateTreatmentReferrals {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = client_record("treatment_referrals")
            .col(string_len("treatment", 32))
            .col(date("referred_on"))
            .col(date_null("started_on"))
            .col(string_len("result", 16))
            .to_owned();
        create_client_record(manager, table, "treatment_referrals").await?;
        crate::imports::allow_corrections(manager, &["treatment_referrals"]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &["treatment_referrals"]).await
    }
}
