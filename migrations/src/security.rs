//! Row-level security on PostgreSQL: the second line of the row rules. A subgraph filters
//! every person-level query by the caller's bodies; these policies make the database
//! apply the same rule on its own, from the `kotohub.bodies` setting the subgraph sets
//! in each request's transaction, so a query that forgot its filter still returns only
//! the caller's rows. `FORCE` makes the rule hold for the tables' owner too, which is the
//! role the subgraphs connect as.
//!
//! Inserts are not restricted (seeding and the divisions' own feeds write rows); reads
//! outside a request — seeding's checks, operators' maintenance — set
//! `kotohub.scope = 'all'` in their own transaction. Nothing on the request path sets it.
//! SQLite has no row-level security: there the subgraphs' filters are the rule.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// Who may read a table's rows.
#[derive(Clone, Copy)]
pub enum Visible {
    /// Rows whose `body_id` is one of the caller's bodies.
    ByBody,
    /// Clients served by one of the caller's bodies (`client_bodies`).
    ServedClient,
    /// Rows about a client (in the column named) served by one of the caller's bodies.
    ServedClientOf(&'static str),
    /// Households with a member served by one of the caller's bodies.
    ServedMember,
    /// Rows with one of the caller's bodies in either column named: a referral is the
    /// sending body's and the receiving body's.
    EitherBody(&'static str, &'static str),
    /// Rows counted in aggregates, whose `division_id` is one of the caller's aggregate
    /// divisions (`*` for all).
    ByDivision,
}

/// The bodies the current transaction may see, as SQL.
const BODIES: &str = "string_to_array(current_setting('kotohub.bodies', true), ',')";
/// The maintenance escape, as SQL: false unless set in the current transaction or session.
const ALL: &str = "coalesce(current_setting('kotohub.scope', true), '') = 'all'";
/// The divisions the current transaction may count, as SQL.
const DIVISIONS: &str = "coalesce(current_setting('kotohub.divisions', true), '')";

/// Enables and forces row-level security on `tables`, with a read policy each.
pub struct RowLevelSecurity {
    /// The migration's name: each set of tables is secured by a migration of its own.
    pub name: &'static str,
    pub tables: &'static [(&'static str, Visible)],
}

impl MigrationName for RowLevelSecurity {
    fn name(&self) -> &str {
        self.name
    }
}

/// The name of the migration that secured the tables each database was created with.
pub const FIRST_TABLES: &str = "m20261124_000002_row_level_security";

#[async_trait::async_trait]
impl MigrationTrait for RowLevelSecurity {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for (table, visible) in self.tables {
            let rule = match visible {
                Visible::ByBody => format!("{ALL} OR body_id = ANY ({BODIES})"),
                Visible::ServedClient => format!(
                    "{ALL} OR EXISTS (SELECT 1 FROM client_bodies served \
                     WHERE served.client_id = {table}.id AND served.body_id = ANY ({BODIES}))"
                ),
                Visible::ServedClientOf(column) => format!(
                    "{ALL} OR EXISTS (SELECT 1 FROM client_bodies served \
                     WHERE served.client_id = {table}.{column} AND served.body_id = ANY ({BODIES}))"
                ),
                Visible::ServedMember => format!(
                    "{ALL} OR EXISTS (SELECT 1 FROM household_members member \
                     JOIN client_bodies served ON served.client_id = member.client_id \
                     WHERE member.household_id = {table}.id AND served.body_id = ANY ({BODIES}))"
                ),
                Visible::EitherBody(first, second) => {
                    format!("{ALL} OR {first} = ANY ({BODIES}) OR {second} = ANY ({BODIES})")
                }
                Visible::ByDivision => format!(
                    "{ALL} OR {DIVISIONS} = '*' \
                     OR division_id = ANY (string_to_array({DIVISIONS}, ','))"
                ),
            };
            db.execute_unprepared(&format!(
                "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
                 ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
                 CREATE POLICY {table}_read ON {table} FOR SELECT USING ({rule});
                 CREATE POLICY {table}_insert ON {table} FOR INSERT WITH CHECK (true);"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for (table, _) in self.tables {
            db.execute_unprepared(&format!(
                "DROP POLICY IF EXISTS {table}_read ON {table};
                 DROP POLICY IF EXISTS {table}_insert ON {table};
                 ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY;
                 ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;"
            ))
            .await?;
        }
        Ok(())
    }
}

/// The setting the emergency policies read: the one client an emergency access opens in
/// the current transaction, empty when none.
const EMERGENCY_CLIENT: &str = "coalesce(current_setting('kotohub.emergency_client', true), '')";

/// A second read policy on tables of rows about one client: the rows of the client an
/// emergency access opened in the current transaction (the subgraph sets it only for an
/// officer, from a principal the gateway signed). Permissive policies add up, so the
/// bodies' rule stands as it was.
pub struct EmergencyAccessPolicies {
    pub name: &'static str,
    /// Each table with the column holding the client's id.
    pub tables: &'static [(&'static str, &'static str)],
}

impl MigrationName for EmergencyAccessPolicies {
    fn name(&self) -> &str {
        self.name
    }
}

/// The migration's name in every database that has one.
pub const EMERGENCY_POLICIES: &str = "m20261211_000001_emergency_access_policies";

#[async_trait::async_trait]
impl MigrationTrait for EmergencyAccessPolicies {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for (table, column) in self.tables {
            db.execute_unprepared(&format!(
                "CREATE POLICY {table}_emergency ON {table} FOR SELECT \
                 USING ({EMERGENCY_CLIENT} <> '' AND {column} = {EMERGENCY_CLIENT});"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for (table, _) in self.tables {
            db.execute_unprepared(&format!(
                "DROP POLICY IF EXISTS {table}_emergency ON {table};"
            ))
            .await?;
        }
        Ok(())
    }
}

/// The household of the client an emergency access opened: a household has no client
/// column of its own, so its emergency policy asks its members.
pub struct EmergencyHouseholdPolicy;

impl MigrationName for EmergencyHouseholdPolicy {
    fn name(&self) -> &str {
        "m20261213_000005_household_emergency_access_policy"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for EmergencyHouseholdPolicy {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        db.execute_unprepared(&format!(
            "CREATE POLICY households_emergency ON households FOR SELECT \
             USING ({EMERGENCY_CLIENT} <> '' AND EXISTS (SELECT 1 FROM household_members member \
             WHERE member.household_id = households.id AND member.client_id = {EMERGENCY_CLIENT}));"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        db.execute_unprepared("DROP POLICY IF EXISTS households_emergency ON households;")
            .await?;
        Ok(())
    }
}
