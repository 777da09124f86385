//! The City Executive Office's programme database: the Integration Programme catalog
//! (themes, sets of measures, objectives, measures, indicators, responsible bodies,
//! divisions), the pseudonymous client core that every division's records point to, and
//! the statistics register the divisions report to, from which aggregates are counted.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::columns::{append_only, create_with_indexes, drop_all};
use crate::security::{RowLevelSecurity, Visible};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateTables),
            Box::new(CreateClientBodies),
            Box::new(RowLevelSecurity {
                name: crate::security::FIRST_TABLES,
                tables: &[
                    ("clients", Visible::ServedClient),
                    ("client_bodies", Visible::ByBody),
                ],
            }),
            Box::new(CreateStatisticsRegister),
            Box::new(RowLevelSecurity {
                name: "m20261202_000002_statistics_row_level_security",
                tables: &[
                    ("client_facts", Visible::ByDivision),
                    ("event_facts", Visible::ByDivision),
                ],
            }),
            Box::new(AddRecordKeys),
            Box::new(CreateImportTables),
            Box::new(CreateImportFacts),
            Box::new(CreateRegisterVersion),
            Box::new(CreateIndicatorRecords),
            Box::new(crate::columns::AddColumns {
                name: "m20261209_000002_add_indicator_targets",
                table: "indicators",
                columns: indicator_targets,
            }),
            Box::new(AddRecordKinds),
            Box::new(CreatePopulationFigures),
            Box::new(CreateCatalogVersion),
            Box::new(crate::columns::AddColumns {
                name: "m20261210_000004_add_indicator_source_dates",
                table: "indicator_records",
                columns: indicator_source_dates,
            }),
            Box::new(crate::security::EmergencyAccessPolicies {
                name: crate::security::EMERGENCY_POLICIES,
                tables: &[("clients", "id")],
            }),
            Box::new(crate::columns::AddColumns {
                name: "m20261212_000001_add_client_entry_route",
                table: "clients",
                columns: client_entry_route,
            }),
            Box::new(CreateProjects),
            Box::new(CreateFamiliesAndReferrals),
            Box::new(RowLevelSecurity {
                name: "m20261213_000003_families_row_level_security",
                tables: &[
                    ("household_members", Visible::ServedClientOf("client_id")),
                    ("households", Visible::ServedMember),
                    (
                        "referrals",
                        Visible::EitherBody("from_body_id", "to_body_id"),
                    ),
                ],
            }),
            Box::new(crate::security::EmergencyAccessPolicies {
                name: "m20261213_000004_families_emergency_access_policies",
                tables: &[
                    ("household_members", "client_id"),
                    ("referrals", "client_id"),
                ],
            }),
            Box::new(crate::security::EmergencyHouseholdPolicy),
        ]
    }
}

struct CreateTables;

impl MigrationName for CreateTables {
    fn name(&self) -> &str {
        "m20261123_000001_create_tables"
    }
}

const TABLES: [&str; 10] = [
    "divisions",
    "responsible_bodies",
    "themes",
    "measure_sets",
    "objective_groups",
    "objectives",
    "measures",
    "measure_bodies",
    "indicators",
    "clients",
];

fn create(table: &'static str) -> TableCreateStatement {
    Table::create().table(table).if_not_exists().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for CreateTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let [
            divisions,
            bodies,
            themes,
            sets,
            groups,
            objectives,
            measures,
            measure_bodies,
            indicators,
            clients,
        ] = TABLES;
        manager
            .create_table(
                create(divisions)
                    .col(string_len("id", 32).primary_key())
                    .col(string("name"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                create(bodies)
                    .col(string_len("id", 64).primary_key())
                    .col(string("name"))
                    .col(string_len("division_id", 32))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                create(themes)
                    .col(integer("id").primary_key())
                    .col(string("title"))
                    .col(string("title_fi"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                create(sets)
                    .col(string_len("id", 8).primary_key())
                    .col(integer("theme_id"))
                    .col(integer("position"))
                    .col(string("title"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                create(groups)
                    .col(string_len("id", 32).primary_key())
                    .col(string_len("measure_set_id", 8))
                    .col(string("title"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                create(objectives)
                    .col(big_pk_auto("id"))
                    .col(string_len("measure_set_id", 8))
                    .col(string_len_null("group_id", 32))
                    .col(integer("position"))
                    .col(text("text"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                create(measures)
                    .col(string_len("id", 8).primary_key())
                    .col(string_len("measure_set_id", 8))
                    .col(string_len_null("group_id", 32))
                    .col(integer("position"))
                    .col(text("summary"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                create(measure_bodies)
                    .col(string_len("measure_id", 8))
                    .col(string_len("body_id", 64))
                    .col(integer("position"))
                    .primary_key(Index::create().col("measure_id").col("body_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                create(indicators)
                    .col(string_len("id", 32).primary_key())
                    .col(string_len("scope", 16))
                    .col(string_len_null("measure_id", 8))
                    .col(string_len_null("measure_set_id", 8))
                    .col(string_len_null("group_id", 32))
                    .col(string_len_null("body_id", 64))
                    .col(integer("position"))
                    .col(text("text"))
                    .col(string_len("kind", 24))
                    .col(double_null("target"))
                    .col(text("sources"))
                    .to_owned(),
            )
            .await?;
        let table = create(clients)
            .col(string_len("id", 32).primary_key())
            .col(string("name"))
            .col(integer("birth_year"))
            .col(string_len("gender", 16))
            .col(string_len("mother_tongue", 8))
            .col(string_len("district", 16))
            .col(string_len("background", 24))
            .col(integer_null("arrival_year"))
            .to_owned();
        create_with_indexes(manager, table, clients, &["district", "mother_tongue"]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &TABLES).await
    }
}

/// Which bodies serve which clients: the programme's row rule for the client core.
struct CreateClientBodies;

impl MigrationName for CreateClientBodies {
    fn name(&self) -> &str {
        "m20261124_000001_create_client_bodies"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateClientBodies {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = create("client_bodies")
            .col(string_len("client_id", 32))
            .col(string_len("body_id", 64))
            .primary_key(Index::create().col("client_id").col("body_id"))
            .to_owned();
        create_with_indexes(manager, table, "client_bodies", &["body_id"]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &["client_bodies"]).await
    }
}

/// The statistics register: one row per client record and per event the divisions
/// report, with the dimensions aggregates are broken down by already resolved (the
/// client's district, mother-tongue group and age group when the record was made), so
/// that counting never reads the client core and needs no person-level access.
struct CreateStatisticsRegister;

impl MigrationName for CreateStatisticsRegister {
    fn name(&self) -> &str {
        "m20261202_000001_create_statistics_register"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateStatisticsRegister {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = create("client_facts")
            .col(big_pk_auto("id"))
            .col(string_len("client_id", 32))
            .col(string_len("measure_id", 8))
            .col(string_len("body_id", 64))
            .col(string_len("division_id", 32))
            .col(integer("year"))
            .col(integer("quarter"))
            .col(string_len("district", 16))
            .col(string_len("mother_tongue_group", 24))
            .col(string_len("age_group", 16))
            .col(string_len("gender", 16))
            .col(string_len("background", 24))
            .col(string_len_null("outcome", 32))
            .to_owned();
        create_with_indexes(
            manager,
            table,
            "client_facts",
            &["division_id", "measure_id"],
        )
        .await?;
        let table = create("event_facts")
            .col(big_pk_auto("id"))
            .col(string_len("measure_id", 8))
            .col(string_len("body_id", 64))
            .col(string_len("division_id", 32))
            .col(integer("year"))
            .col(integer("quarter"))
            .col(string_len("district", 16))
            .col(string_len("languages", 24))
            .col(integer("participants"))
            .to_owned();
        create_with_indexes(
            manager,
            table,
            "event_facts",
            &["division_id", "measure_id"],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &["client_facts", "event_facts"]).await
    }
}

/// The statistics register's record keys: a fixed random number per client (the same on
/// every row of the client) and per event, which the disclosure control sums per cell to
/// pick each cell's noise. Rows already in the register get keys drawn by the database's
/// own random generator, one per client.
struct AddRecordKeys;

impl MigrationName for AddRecordKeys {
    fn name(&self) -> &str {
        "m20261207_000001_add_record_keys"
    }
}

/// Keys are below 2^31, so that sums over a million clients stay within 64 bits.
const RECORD_KEYS_SQLITE: &str = "
    CREATE TEMP TABLE new_record_keys (client_id TEXT PRIMARY KEY, record_key INTEGER NOT NULL);
    INSERT INTO new_record_keys
        SELECT client_id, abs(random() % 2147483648) FROM client_facts GROUP BY client_id;
    UPDATE client_facts SET record_key =
        (SELECT k.record_key FROM new_record_keys k WHERE k.client_id = client_facts.client_id);
    DROP TABLE new_record_keys;
    UPDATE event_facts SET record_key = abs(random() % 2147483648);";

/// The register's read policies would hide every row from the update: the owner lifts
/// them for the length of this transaction.
const RECORD_KEYS_POSTGRES: &str = "
    ALTER TABLE client_facts NO FORCE ROW LEVEL SECURITY;
    ALTER TABLE event_facts NO FORCE ROW LEVEL SECURITY;
    UPDATE client_facts f SET record_key = k.record_key
        FROM (SELECT client_id, floor(random() * 2147483648)::bigint AS record_key
              FROM client_facts GROUP BY client_id) k
        WHERE f.client_id = k.client_id;
    UPDATE event_facts SET record_key = floor(random() * 2147483648)::bigint;
    ALTER TABLE client_facts FORCE ROW LEVEL SECURITY;
    ALTER TABLE event_facts FORCE ROW LEVEL SECURITY;";

#[async_trait::async_trait]
impl MigrationTrait for AddRecordKeys {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["client_facts", "event_facts"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(big_integer("record_key").default(0))
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        let backfill = match db.get_database_backend() {
            DbBackend::Postgres => RECORD_KEYS_POSTGRES,
            _ => RECORD_KEYS_SQLITE,
        };
        db.execute_unprepared(backfill).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["client_facts", "event_facts"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .drop_column("record_key")
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

/// What imports keep: each imported row's source record (what a re-import updates by, and
/// the hash of what it last held, so that an unchanged row changes nothing) and each
/// import run (who, when, which file, how many rows).
struct CreateImportTables;

impl MigrationName for CreateImportTables {
    fn name(&self) -> &str {
        "m20261207_000002_create_import_tables"
    }
}

/// Imports correct clients in place, and the statistics register's copies of their
/// dimensions with them; the read policies would hide every row from the update, so
/// update policies let a transaction that set the maintenance scope (what the importer
/// does, never the request path) change them.
const CLIENT_UPDATES_POSTGRES: &str = "
    CREATE POLICY clients_import ON clients FOR UPDATE
        USING (coalesce(current_setting('kotohub.scope', true), '') = 'all')
        WITH CHECK (true);
    CREATE POLICY client_facts_import ON client_facts FOR UPDATE
        USING (coalesce(current_setting('kotohub.scope', true), '') = 'all')
        WITH CHECK (true);";

#[async_trait::async_trait]
impl MigrationTrait for CreateImportTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                create("import_sources")
                    .col(string_len("kind", 32))
                    .col(string_len("source_id", 64))
                    .col(string_len("client_id", 32))
                    .col(string_len("row_hash", 64))
                    .col(string_len("run_id", 32))
                    .primary_key(Index::create().col("kind").col("source_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                create("import_runs")
                    .col(string_len("id", 32).primary_key())
                    .col(string_len("subgraph", 16))
                    .col(string_len("kind", 32))
                    .col(string("subject"))
                    .col(string_len("file_sha256", 64))
                    .col(timestamp_with_time_zone("started_at"))
                    .col(timestamp_with_time_zone("finished_at"))
                    .col(integer("rows_read"))
                    .col(integer("inserted"))
                    .col(integer("updated"))
                    .col(integer("unchanged"))
                    .col(integer("rejected"))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(CLIENT_UPDATES_POSTGRES).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(
                "DROP POLICY IF EXISTS clients_import ON clients;
                 DROP POLICY IF EXISTS client_facts_import ON client_facts;",
            )
            .await?;
        }
        for table in ["import_runs", "import_sources"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// The programme's side of the divisions' imports: which fact of the statistics register
/// each imported record or event became, with the hash of what it last held (the
/// division keeps its own, `crate::imports`). A changed record moves its fact, and the
/// client–body pair it no longer supports goes with it, so the scope table keeps saying
/// exactly which bodies have records of which clients.
struct CreateImportFacts;

impl MigrationName for CreateImportFacts {
    fn name(&self) -> &str {
        "m20261207_000003_create_import_facts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateImportFacts {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                create("import_facts")
                    .col(string_len("kind", 32))
                    .col(string_len("source_id", 64))
                    .col(big_integer("fact_id"))
                    .col(string_len("row_hash", 64))
                    .col(string_len("run_id", 32))
                    .primary_key(Index::create().col("kind").col("source_id"))
                    .to_owned(),
            )
            .await?;
        // An import looks up and corrects a batch's clients' facts by client.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_client_facts_client_id")
                    .table("client_facts")
                    .col("client_id")
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            let maintenance = crate::imports::MAINTENANCE;
            db.execute_unprepared(&format!(
                "CREATE POLICY event_facts_import ON event_facts FOR UPDATE
                     USING ({maintenance}) WITH CHECK (true);
                 CREATE POLICY client_bodies_import ON client_bodies FOR DELETE
                     USING ({maintenance});"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(
                "DROP POLICY IF EXISTS event_facts_import ON event_facts;
                 DROP POLICY IF EXISTS client_bodies_import ON client_bodies;",
            )
            .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("idx_client_facts_client_id")
                    .table("client_facts")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table("import_facts").to_owned())
            .await
    }
}

/// The version of the statistics register's client facts, and which clients each
/// version changed: the programme subgraph holds the facts in memory and reads again
/// the facts of the clients changed since its copy. Triggers keep both, so that every
/// writer counts — imports, seeding, an operator's SQL — and none can forget to.
struct CreateRegisterVersion;

impl MigrationName for CreateRegisterVersion {
    fn name(&self) -> &str {
        "m20261208_000001_create_register_version"
    }
}

/// Once per row, as SQLite has no statement triggers: the version moves on and the
/// row's client is noted with it, within the writer's transaction. The notes are
/// appended in version order, which keeps the cost of a write low (an upsert per
/// client cost three times as much when seeding).
const REGISTER_VERSION_SQLITE: &str = "
    CREATE TRIGGER client_facts_inserted AFTER INSERT ON client_facts BEGIN
        UPDATE register_version SET version = version + 1 WHERE id = 1;
        INSERT INTO register_changes (version, client_id)
            SELECT version, NEW.client_id FROM register_version WHERE id = 1;
    END;
    CREATE TRIGGER client_facts_updated AFTER UPDATE ON client_facts BEGIN
        UPDATE register_version SET version = version + 1 WHERE id = 1;
        INSERT INTO register_changes (version, client_id)
            SELECT version, OLD.client_id FROM register_version WHERE id = 1
            UNION SELECT version, NEW.client_id FROM register_version WHERE id = 1;
    END;
    CREATE TRIGGER client_facts_deleted AFTER DELETE ON client_facts BEGIN
        UPDATE register_version SET version = version + 1 WHERE id = 1;
        INSERT INTO register_changes (version, client_id)
            SELECT version, OLD.client_id FROM register_version WHERE id = 1;
    END;";

/// Once per statement, with the rows it touched. The version row stays locked until
/// the writer commits, so writers of the register take turns, as the importer's batches
/// already do, and versions are committed in the order they are given: a reader that
/// has seen a version has seen every change noted before it. A `TRUNCATE` touches no
/// rows it could name, so every note before it is forgotten.
const REGISTER_VERSION_POSTGRES: &str = "
    CREATE FUNCTION register_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            version_now bigint;
        BEGIN
            UPDATE register_version SET version = version + 1 WHERE id = 1
                RETURNING version INTO version_now;
            IF TG_OP = 'TRUNCATE' THEN
                UPDATE register_version SET forgotten = version_now WHERE id = 1;
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                INSERT INTO register_changes (version, client_id)
                    SELECT DISTINCT version_now, client_id FROM touched;
            END IF;
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                INSERT INTO register_changes (version, client_id)
                    SELECT DISTINCT version_now, client_id FROM touched_before;
            END IF;
            RETURN NULL;
        END
    $$;
    CREATE TRIGGER client_facts_inserted AFTER INSERT ON client_facts
        REFERENCING NEW TABLE AS touched
        FOR EACH STATEMENT EXECUTE FUNCTION register_changed();
    CREATE TRIGGER client_facts_updated AFTER UPDATE ON client_facts
        REFERENCING OLD TABLE AS touched_before NEW TABLE AS touched
        FOR EACH STATEMENT EXECUTE FUNCTION register_changed();
    CREATE TRIGGER client_facts_deleted AFTER DELETE ON client_facts
        REFERENCING OLD TABLE AS touched_before
        FOR EACH STATEMENT EXECUTE FUNCTION register_changed();
    CREATE TRIGGER client_facts_emptied AFTER TRUNCATE ON client_facts
        FOR EACH STATEMENT EXECUTE FUNCTION register_changed();";

#[async_trait::async_trait]
impl MigrationTrait for CreateRegisterVersion {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("register_version")
                    .col(integer("id").primary_key())
                    .col(big_integer("version"))
                    .col(big_integer("forgotten"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("register_changes")
                    .col(big_integer("version"))
                    .col(string_len("client_id", 32))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_register_changes_version")
                    .table("register_changes")
                    .col("version")
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "INSERT INTO register_version (id, version, forgotten) VALUES (1, 1, 1)",
        )
        .await?;
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(REGISTER_VERSION_POSTGRES).await?;
            // Facts can be taken back too (an operator's correction, a record deleted
            // at its source), by the maintenance scope only, as they are corrected.
            let maintenance = crate::imports::MAINTENANCE;
            db.execute_unprepared(&format!(
                "CREATE POLICY client_facts_delete ON client_facts FOR DELETE \
                 USING ({maintenance});"
            ))
            .await?;
        } else {
            db.execute_unprepared(REGISTER_VERSION_SQLITE).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let drop = match db.get_database_backend() {
            DbBackend::Postgres => {
                "DROP POLICY IF EXISTS client_facts_delete ON client_facts;
                 DROP TRIGGER IF EXISTS client_facts_inserted ON client_facts;
                 DROP TRIGGER IF EXISTS client_facts_updated ON client_facts;
                 DROP TRIGGER IF EXISTS client_facts_deleted ON client_facts;
                 DROP TRIGGER IF EXISTS client_facts_emptied ON client_facts;
                 DROP FUNCTION IF EXISTS register_changed();"
            }
            _ => {
                "DROP TRIGGER IF EXISTS client_facts_inserted;
                 DROP TRIGGER IF EXISTS client_facts_updated;
                 DROP TRIGGER IF EXISTS client_facts_deleted;"
            }
        };
        db.execute_unprepared(drop).await?;
        drop_all(manager, &["register_changes", "register_version"]).await
    }
}

/// What the responsible bodies record of the indicators that are not counted from the
/// register: a milestone's status, a survey's or an outside statistic's value, each with
/// its source. A change is a new version of the indicator's value for the period; rows
/// are never changed or removed, so every earlier value stays on record.
struct CreateIndicatorRecords;

impl MigrationName for CreateIndicatorRecords {
    fn name(&self) -> &str {
        "m20261209_000001_create_indicator_records"
    }
}

const INDICATOR_RECORDS_SQLITE: &str = "
    CREATE TRIGGER indicator_records_no_update BEFORE UPDATE ON indicator_records
        BEGIN SELECT RAISE(ABORT, 'indicator records are append-only: UPDATE refused'); END;
    CREATE TRIGGER indicator_records_no_delete BEFORE DELETE ON indicator_records
        BEGIN SELECT RAISE(ABORT, 'indicator records are append-only: DELETE refused'); END;";

#[async_trait::async_trait]
impl MigrationTrait for CreateIndicatorRecords {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                create("indicator_records")
                    .col(string_len("indicator_id", 64))
                    .col(string_len("period", 16))
                    .col(integer("version"))
                    .col(string_len_null("status", 16))
                    .col(double_null("value"))
                    .col(string_len("source", 500))
                    .col(string_len("note", 2000))
                    .col(string_len("body_id", 64))
                    .col(string_len("recorded_by", 255))
                    .col(string_len("recorded_at", 32))
                    .primary_key(
                        Index::create()
                            .col("indicator_id")
                            .col("period")
                            .col("version"),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Sqlite {
            db.execute_unprepared(INDICATOR_RECORDS_SQLITE).await?;
        }
        append_only(manager, "indicator_records", "indicator records").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(
                "DROP FUNCTION IF EXISTS indicator_records_are_append_only() CASCADE;",
            )
            .await?;
        }
        drop_all(manager, &["indicator_records"]).await
    }
}

/// Every target an indicator states, not just its first: the programme often sets two in
/// one sentence ("50 % apply for vocational education and no less than 20 % find paid
/// jobs"), and says whether each holds per year or for the whole term. A JSON list, as
/// the catalog writes it.
fn indicator_targets() -> Vec<ColumnDef> {
    vec![text("targets").default("[]").to_owned()]
}

/// What each fact of the register records and when, to the month: the kind of record
/// with the flag that tells records of one kind apart (`service_needs_assessments:
/// multi_professional`, `joint_application_results:not_accepted`), the month it happened,
/// and for a record of a period (a service path, a case, a support period) the month it
/// ended. Indicators count by them: "the multi-professional assessments", "employed
/// within six months of the service". Facts already in the register keep an empty kind
/// and the first month of their quarter until they are reported again.
struct AddRecordKinds;

impl MigrationName for AddRecordKinds {
    fn name(&self) -> &str {
        "m20261210_000001_add_record_kinds"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddRecordKinds {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one change at a time.
        for column in [
            string_len("record", 64).default("").to_owned(),
            integer("month").default(1).to_owned(),
            integer_null("ended").to_owned(),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table("client_facts")
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        let months = "UPDATE client_facts SET month = quarter * 3 - 2";
        match db.get_database_backend() {
            // The migrating role is the table's owner, which row-level security binds
            // too once forced.
            DbBackend::Postgres => {
                db.execute_unprepared(&format!(
                    "ALTER TABLE client_facts NO FORCE ROW LEVEL SECURITY; {months}; \
                     ALTER TABLE client_facts FORCE ROW LEVEL SECURITY;"
                ))
                .await?;
            }
            _ => {
                db.execute_unprepared(months).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["record", "month", "ended"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("client_facts")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

/// Residents by year, major district, mother-tongue group and age group, as the city's
/// statistics office publishes them: reference statistics imported as they are (kind
/// `population`), used as the denominators of programme-level indicators and never
/// served on their own. One row per cell; a later import of a year replaces its cells.
struct CreatePopulationFigures;

impl MigrationName for CreatePopulationFigures {
    fn name(&self) -> &str {
        "m20261210_000002_create_population_figures"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreatePopulationFigures {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                create("population_figures")
                    .col(integer("year"))
                    .col(string_len("district", 16))
                    .col(string_len("mother_tongue_group", 24))
                    .col(string_len("age_group", 16))
                    .col(integer("residents"))
                    .col(string_len("source", 500))
                    .col(string_len_null("run_id", 64))
                    .primary_key(
                        Index::create()
                            .col("year")
                            .col("district")
                            .col("mother_tongue_group")
                            .col("age_group"),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &["population_figures"]).await
    }
}

/// Which catalog the database holds (the SHA-256 of its text) and when it was stored: a
/// start compares it with the shipped catalog and stores that one when they differ.
struct CreateCatalogVersion;

impl MigrationName for CreateCatalogVersion {
    fn name(&self) -> &str {
        "m20261210_000003_create_catalog_version"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateCatalogVersion {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                create("catalog_version")
                    .col(integer("id").primary_key())
                    .col(string_len("sha256", 64))
                    .col(string_len("stored_at", 40))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &["catalog_version"]).await
    }
}

/// The date a recorded value's source gives its figure — a survey's results, a
/// statistics office's release — which a survey score or an outside statistic needs
/// beside its source. Earlier records have none.
fn indicator_source_dates() -> Vec<ColumnDef> {
    vec![string_len_null("source_date", 10)]
}

/// How a client came to live in Finland: none for those born here, and none where the
/// source did not say (clients imported before the column existed).
fn client_entry_route() -> Vec<ColumnDef> {
    vec![string_len_null("entry_route", 24)]
}

/// Projects beside the programme and their bodies and measures: catalog tables, stored
/// and replaced with the rest of the catalog.
struct CreateProjects;

impl MigrationName for CreateProjects {
    fn name(&self) -> &str {
        "m20261213_000001_create_projects"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateProjects {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                create("projects")
                    .col(string_len("id", 64).primary_key())
                    .col(integer("position"))
                    .col(string("name"))
                    .col(date("starts_on"))
                    .col(date_null("ends_on"))
                    .col(string_len("funder", 400))
                    .col(string_len("source", 8))
                    .col(text("summary"))
                    .to_owned(),
            )
            .await?;
        for (table, other, length) in [
            ("project_bodies", "body_id", 64),
            ("project_measures", "measure_id", 8),
        ] {
            manager
                .create_table(
                    create(table)
                        .col(string_len("project_id", 64))
                        .col(string_len(other, length))
                        .col(integer("position"))
                        .primary_key(Index::create().col("project_id").col(other))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &["project_measures", "project_bodies", "projects"]).await
    }
}

/// Households, their members, and referrals between responsible bodies.
struct CreateFamiliesAndReferrals;

impl MigrationName for CreateFamiliesAndReferrals {
    fn name(&self) -> &str {
        "m20261213_000002_create_families_and_referrals"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateFamiliesAndReferrals {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                create("households")
                    .col(string_len("id", 32).primary_key())
                    .col(string_len("kind", 24))
                    .col(date_null("reunified_on"))
                    .to_owned(),
            )
            .await?;
        let members = create("household_members")
            .col(string_len("client_id", 32).primary_key())
            .col(string_len("household_id", 32))
            .col(string_len("role", 16))
            .to_owned();
        create_with_indexes(manager, members, "household_members", &["household_id"]).await?;
        let referrals = create("referrals")
            .col(big_pk_auto("id"))
            .col(string_len("client_id", 32))
            .col(string_len("measure_id", 8))
            .col(string_len("from_body_id", 64))
            .col(string_len("to_body_id", 64))
            .col(date("referred_on"))
            .col(date_null("started_on"))
            .col(string_len("result", 16))
            .to_owned();
        create_with_indexes(
            manager,
            referrals,
            "referrals",
            &["client_id", "measure_id", "from_body_id", "to_body_id"],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &["referrals", "household_members", "households"]).await
    }
}
