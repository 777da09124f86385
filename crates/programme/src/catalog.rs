//! The Integration Programme 2017–2021 as data: the reviewed transcription in
//! `catalog/integration-programme-2017-2021.toml`, its validation, and its storage in the
//! programme database. The file is the source; the database holds what the subgraph
//! serves, so that bodies and grants can later be administered without a release.

use std::collections::HashSet;

use sea_orm::sea_query::{Alias, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DbBackend, DbErr, EntityTrait, Statement,
    TransactionSession, TransactionTrait,
};
use serde::Deserialize;

use crate::entity::{
    division, indicator, measure, measure_body, measure_set, objective, objective_group, project,
    project_body, project_measure, responsible_body, theme,
};

/// The division whose bodies are organisations outside the City (the partner role's).
pub const PARTNER_DIVISION: &str = "partners";

/// The transcription shipped with the binary.
pub const PROGRAMME_TOML: &str = include_str!("../catalog/integration-programme-2017-2021.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub divisions: Vec<Division>,
    pub bodies: Vec<Body>,
    pub themes: Vec<Theme>,
    pub measure_sets: Vec<MeasureSet>,
    pub objective_groups: Vec<ObjectiveGroup>,
    pub measures: Vec<Measure>,
    pub programme_indicators: Vec<ProgrammeIndicator>,
    /// Projects beside the programme, from the other source documents.
    #[serde(default)]
    pub projects: Vec<Project>,
    /// SHA-256 of the text it was parsed from: what the database records of the catalog
    /// it holds, so that a start can tell whether the shipped one changed.
    #[serde(skip)]
    pub fingerprint: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Division {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    pub id: String,
    pub name: String,
    pub division: String,
}

/// A project carried out beside the programme: its period, funder, bodies (the
/// coordinating one first) and the measures whose work it carries on or feeds.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub starts_on: chrono::NaiveDate,
    #[serde(default)]
    pub ends_on: Option<chrono::NaiveDate>,
    pub funder: String,
    pub bodies: Vec<String>,
    pub measures: Vec<String>,
    /// The source document's number (`shared/seeds/NNN_*.txt`).
    pub source: String,
    pub summary: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Theme {
    pub id: i32,
    pub title: String,
    pub title_fi: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasureSet {
    pub id: String,
    pub theme: i32,
    pub title: String,
    pub objectives: Vec<String>,
    #[serde(default)]
    pub indicators: Vec<IndicatorSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectiveGroup {
    pub id: String,
    pub set: String,
    pub title: String,
    pub objectives: Vec<String>,
    #[serde(default)]
    pub indicators: Vec<IndicatorSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measure {
    pub id: String,
    pub set: String,
    #[serde(default)]
    pub group: Option<String>,
    pub summary: String,
    pub bodies: Vec<String>,
    #[serde(default)]
    pub indicators: Vec<IndicatorSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorSpec {
    pub text: String,
    pub kind: indicator::IndicatorKind,
    /// What the programme aims at for the indicator's own quantity.
    #[serde(default)]
    pub target: Option<f64>,
    /// Over what the target holds: each year, or the programme's whole term.
    #[serde(default)]
    pub target_per: Option<indicator::TargetPer>,
    /// Targets the same sentence sets for other quantities ("… and no less than 20 %
    /// find paid jobs").
    #[serde(default)]
    pub further_targets: Vec<FurtherTarget>,
}

/// A second target stated with an indicator, for a quantity of its own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FurtherTarget {
    pub value: f64,
    /// What is counted or measured: "find paid jobs (%)", "work hours".
    pub of: String,
}

impl IndicatorSpec {
    /// Every target of the indicator as stored: its own first, then the further ones.
    fn targets(&self) -> Vec<indicator::Target> {
        let per = self.target_per.unwrap_or(indicator::TargetPer::Term);
        self.target
            .map(|value| indicator::Target {
                value,
                of: None,
                per,
            })
            .into_iter()
            .chain(self.further_targets.iter().map(|t| indicator::Target {
                value: t.value,
                of: Some(t.of.clone()),
                per,
            }))
            .collect()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeIndicator {
    pub text: String,
    pub kind: indicator::IndicatorKind,
    pub body: String,
    pub sources: Vec<String>,
}

/// Why a catalog file was refused.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("the catalog is not valid TOML for the catalog format: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("the catalog is inconsistent: {0}")]
    Inconsistent(String),
}

impl Catalog {
    /// The programme shipped with Kotohub, parsed and checked.
    pub fn embedded() -> Result<Self, CatalogError> {
        Self::parse(PROGRAMME_TOML)
    }

    /// The responsible bodies that are organisations outside the City.
    pub fn partner_bodies(&self) -> Vec<String> {
        self.bodies
            .iter()
            .filter(|b| b.division == PARTNER_DIVISION)
            .map(|b| b.id.clone())
            .collect()
    }

    /// Parses a catalog and checks that every reference in it resolves.
    pub fn parse(text: &str) -> Result<Self, CatalogError> {
        use sha2::{Digest, Sha256};
        let mut catalog: Catalog = toml::from_str(text)?;
        catalog.check()?;
        catalog.fingerprint = hex::encode(Sha256::digest(text.as_bytes()));
        Ok(catalog)
    }

    fn check(&self) -> Result<(), CatalogError> {
        let fail = |message: String| Err(CatalogError::Inconsistent(message));
        let divisions = unique(self.divisions.iter().map(|d| d.id.as_str()), "division")?;
        let bodies = unique(self.bodies.iter().map(|b| b.id.as_str()), "body")?;
        let themes: HashSet<i32> = self.themes.iter().map(|t| t.id).collect();
        let sets = unique(
            self.measure_sets.iter().map(|s| s.id.as_str()),
            "measure set",
        )?;
        let groups = unique(
            self.objective_groups.iter().map(|g| g.id.as_str()),
            "objective group",
        )?;
        let measures = unique(self.measures.iter().map(|m| m.id.as_str()), "measure")?;
        unique(self.projects.iter().map(|p| p.id.as_str()), "project")?;
        if !divisions.contains(PARTNER_DIVISION) {
            return fail(format!("no division {PARTNER_DIVISION} for partner bodies"));
        }
        for project in &self.projects {
            if project.bodies.is_empty() {
                return fail(format!("project {} has no body", project.id));
            }
            if let Some(body) = project.bodies.iter().find(|b| !bodies.contains(b.as_str())) {
                return fail(format!("project {} names unknown body {body}", project.id));
            }
            if let Some(m) = project
                .measures
                .iter()
                .find(|m| !measures.contains(m.as_str()))
            {
                return fail(format!("project {} names unknown measure {m}", project.id));
            }
            if project.ends_on.is_some_and(|end| end < project.starts_on) {
                return fail(format!("project {} ends before it starts", project.id));
            }
        }
        for body in &self.bodies {
            if !divisions.contains(body.division.as_str()) {
                return fail(format!(
                    "body {} names unknown division {}",
                    body.id, body.division
                ));
            }
        }
        for set in &self.measure_sets {
            if !themes.contains(&set.theme) {
                return fail(format!("set {} names unknown theme {}", set.id, set.theme));
            }
        }
        for group in &self.objective_groups {
            if !sets.contains(group.set.as_str()) {
                return fail(format!(
                    "group {} names unknown set {}",
                    group.id, group.set
                ));
            }
        }
        for measure in &self.measures {
            if !sets.contains(measure.set.as_str()) {
                return fail(format!(
                    "measure {} names unknown set {}",
                    measure.id, measure.set
                ));
            }
            if let Some(group) = &measure.group
                && !groups.contains(group.as_str())
            {
                return fail(format!(
                    "measure {} names unknown group {group}",
                    measure.id
                ));
            }
            if measure.bodies.is_empty() {
                return fail(format!("measure {} has no responsible body", measure.id));
            }
            if let Some(body) = measure.bodies.iter().find(|b| !bodies.contains(b.as_str())) {
                return fail(format!("measure {} names unknown body {body}", measure.id));
            }
        }
        if let Some(pi) = self
            .programme_indicators
            .iter()
            .find(|pi| !bodies.contains(pi.body.as_str()))
        {
            return fail(format!(
                "programme indicator names unknown body {}",
                pi.body
            ));
        }
        Ok(())
    }

    /// Every indicator with its derived id and scope, in catalog order.
    pub fn indicator_rows(&self) -> Vec<indicator::Model> {
        let mut rows = Vec::new();
        let mut push = |id: String,
                        scope: indicator::Scope,
                        owner: Owner<'_>,
                        position: usize,
                        spec: (
            &str,
            indicator::IndicatorKind,
            Vec<indicator::Target>,
            &[String],
        )| {
            let (text, kind, targets, sources) = spec;
            rows.push(indicator::Model {
                id,
                scope,
                measure_id: owner.measure.map(str::to_owned),
                measure_set_id: owner.set.map(str::to_owned),
                group_id: owner.group.map(str::to_owned),
                body_id: owner.body.map(str::to_owned),
                position: position as i32,
                text: text.to_owned(),
                kind,
                target: targets.first().map(|t| t.value),
                targets: serde_json::to_string(&targets).expect("targets are numbers and strings"),
                sources: sources.join("; "),
            });
        };
        for set in &self.measure_sets {
            for (n, spec) in set.indicators.iter().enumerate() {
                let owner = Owner {
                    set: Some(&set.id),
                    ..Owner::default()
                };
                push(
                    format!("set-{}/{}", set.id, n + 1),
                    indicator::Scope::MeasureSet,
                    owner,
                    n,
                    (&spec.text, spec.kind, spec.targets(), &[]),
                );
            }
        }
        for group in &self.objective_groups {
            for (n, spec) in group.indicators.iter().enumerate() {
                let owner = Owner {
                    set: Some(&group.set),
                    group: Some(&group.id),
                    ..Owner::default()
                };
                push(
                    format!("group-{}/{}", group.id, n + 1),
                    indicator::Scope::ObjectiveGroup,
                    owner,
                    n,
                    (&spec.text, spec.kind, spec.targets(), &[]),
                );
            }
        }
        for measure in &self.measures {
            for (n, spec) in measure.indicators.iter().enumerate() {
                let owner = Owner {
                    measure: Some(&measure.id),
                    set: Some(&measure.set),
                    group: measure.group.as_deref(),
                    body: None,
                };
                push(
                    format!("{}/{}", measure.id, n + 1),
                    indicator::Scope::Measure,
                    owner,
                    n,
                    (&spec.text, spec.kind, spec.targets(), &[]),
                );
            }
        }
        for (n, pi) in self.programme_indicators.iter().enumerate() {
            let owner = Owner {
                body: Some(&pi.body),
                ..Owner::default()
            };
            push(
                format!("P{}", n + 1),
                indicator::Scope::Programme,
                owner,
                n,
                (&pi.text, pi.kind, Vec::new(), &pi.sources),
            );
        }
        rows
    }

    /// Replaces the catalog stored in `db` with this one, in one transaction.
    pub async fn store<C: ConnectionTrait + TransactionTrait>(&self, db: &C) -> Result<(), DbErr> {
        let txn = db.begin().await?;
        self.write(&txn).await?;
        txn.commit().await
    }

    /// Stores the catalog when the database holds another one (or none): how a change
    /// to the shipped catalog — a corrected target, an indicator's kind — reaches a
    /// database seeded before it. True when it was stored. Replicas starting together
    /// take turns on PostgreSQL, and each later one finds the catalog current.
    pub async fn sync<C: ConnectionTrait + TransactionTrait>(&self, db: &C) -> Result<bool, DbErr> {
        let txn = db.begin().await?;
        let backend = txn.get_database_backend();
        if backend == DbBackend::Postgres {
            txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({CATALOG_LOCK})"))
                .await?;
        }
        let held = txn
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT sha256 FROM catalog_version WHERE id = 1",
            ))
            .await?
            .map(|row| row.try_get::<String>("", "sha256"))
            .transpose()?;
        if held.as_deref() == Some(self.fingerprint.as_str()) {
            txn.rollback().await?;
            return Ok(false);
        }
        self.write(&txn).await?;
        txn.commit().await?;
        Ok(true)
    }

    async fn write_projects(&self, txn: &impl ConnectionTrait) -> Result<(), DbErr> {
        project::Entity::insert_many(self.projects.iter().enumerate().map(|(n, p)| {
            project::ActiveModel {
                id: Set(p.id.clone()),
                position: Set(n as i32),
                name: Set(p.name.clone()),
                starts_on: Set(p.starts_on),
                ends_on: Set(p.ends_on),
                funder: Set(p.funder.clone()),
                source: Set(p.source.clone()),
                summary: Set(p.summary.clone()),
            }
        }))
        .exec(txn)
        .await?;
        project_body::Entity::insert_many(self.projects.iter().flat_map(|p| {
            p.bodies
                .iter()
                .enumerate()
                .map(|(n, body)| project_body::ActiveModel {
                    project_id: Set(p.id.clone()),
                    body_id: Set(body.clone()),
                    position: Set(n as i32),
                })
        }))
        .exec(txn)
        .await?;
        let project_measures: Vec<project_measure::ActiveModel> = self
            .projects
            .iter()
            .flat_map(|p| {
                p.measures
                    .iter()
                    .enumerate()
                    .map(|(n, measure)| project_measure::ActiveModel {
                        project_id: Set(p.id.clone()),
                        measure_id: Set(measure.clone()),
                        position: Set(n as i32),
                    })
            })
            .collect();
        // A project may carry on none of this programme's measures (a successor's).
        if !project_measures.is_empty() {
            project_measure::Entity::insert_many(project_measures)
                .exec(txn)
                .await?;
        }
        Ok(())
    }

    /// Replaces the stored catalog with this one, and records which it is.
    async fn write(&self, txn: &impl ConnectionTrait) -> Result<(), DbErr> {
        project_measure::Entity::delete_many().exec(txn).await?;
        project_body::Entity::delete_many().exec(txn).await?;
        project::Entity::delete_many().exec(txn).await?;
        indicator::Entity::delete_many().exec(txn).await?;
        measure_body::Entity::delete_many().exec(txn).await?;
        measure::Entity::delete_many().exec(txn).await?;
        objective::Entity::delete_many().exec(txn).await?;
        objective_group::Entity::delete_many().exec(txn).await?;
        measure_set::Entity::delete_many().exec(txn).await?;
        theme::Entity::delete_many().exec(txn).await?;
        responsible_body::Entity::delete_many().exec(txn).await?;
        division::Entity::delete_many().exec(txn).await?;

        division::Entity::insert_many(self.divisions.iter().map(|d| division::ActiveModel {
            id: Set(d.id.clone()),
            name: Set(d.name.clone()),
        }))
        .exec(txn)
        .await?;
        responsible_body::Entity::insert_many(self.bodies.iter().map(|b| {
            responsible_body::ActiveModel {
                id: Set(b.id.clone()),
                name: Set(b.name.clone()),
                division_id: Set(b.division.clone()),
            }
        }))
        .exec(txn)
        .await?;
        theme::Entity::insert_many(self.themes.iter().map(|t| theme::ActiveModel {
            id: Set(t.id),
            title: Set(t.title.clone()),
            title_fi: Set(t.title_fi.clone()),
        }))
        .exec(txn)
        .await?;
        measure_set::Entity::insert_many(self.measure_sets.iter().enumerate().map(|(n, s)| {
            measure_set::ActiveModel {
                id: Set(s.id.clone()),
                theme_id: Set(s.theme),
                position: Set(n as i32),
                title: Set(s.title.clone()),
            }
        }))
        .exec(txn)
        .await?;
        objective_group::Entity::insert_many(self.objective_groups.iter().map(|g| {
            objective_group::ActiveModel {
                id: Set(g.id.clone()),
                measure_set_id: Set(g.set.clone()),
                title: Set(g.title.clone()),
            }
        }))
        .exec(txn)
        .await?;
        let set_objectives = self.measure_sets.iter().flat_map(|s| {
            s.objectives
                .iter()
                .enumerate()
                .map(move |(n, text)| (s.id.as_str(), None, n, text))
        });
        let group_objectives = self.objective_groups.iter().flat_map(|g| {
            g.objectives
                .iter()
                .enumerate()
                .map(move |(n, text)| (g.set.as_str(), Some(g.id.as_str()), n, text))
        });
        objective::Entity::insert_many(set_objectives.chain(group_objectives).map(
            |(set, group, n, text)| objective::ActiveModel {
                id: sea_orm::ActiveValue::NotSet,
                measure_set_id: Set(set.to_owned()),
                group_id: Set(group.map(str::to_owned)),
                position: Set(n as i32),
                text: Set(text.clone()),
            },
        ))
        .exec(txn)
        .await?;
        measure::Entity::insert_many(self.measures.iter().enumerate().map(|(n, m)| {
            measure::ActiveModel {
                id: Set(m.id.clone()),
                measure_set_id: Set(m.set.clone()),
                group_id: Set(m.group.clone()),
                position: Set(n as i32),
                summary: Set(m.summary.clone()),
            }
        }))
        .exec(txn)
        .await?;
        measure_body::Entity::insert_many(self.measures.iter().flat_map(|m| {
            m.bodies
                .iter()
                .enumerate()
                .map(|(n, body)| measure_body::ActiveModel {
                    measure_id: Set(m.id.clone()),
                    body_id: Set(body.clone()),
                    position: Set(n as i32),
                })
        }))
        .exec(txn)
        .await?;
        if !self.projects.is_empty() {
            self.write_projects(txn).await?;
        }
        indicator::Entity::insert_many(
            self.indicator_rows()
                .into_iter()
                .map(indicator::ActiveModel::from),
        )
        .exec(txn)
        .await?;
        let version = Query::insert()
            .into_table(Alias::new("catalog_version"))
            .columns([
                Alias::new("id"),
                Alias::new("sha256"),
                Alias::new("stored_at"),
            ])
            .values([
                1.into(),
                self.fingerprint.clone().into(),
                chrono::Utc::now().to_rfc3339().into(),
            ])
            .map_err(|e| DbErr::Custom(e.to_string()))?
            .on_conflict(
                OnConflict::column(Alias::new("id"))
                    .update_columns([Alias::new("sha256"), Alias::new("stored_at")])
                    .to_owned(),
            )
            .to_owned();
        txn.execute(&version).await?;
        Ok(())
    }
}

/// The advisory lock replicas take in turn to store the catalog ("kotoCATL").
const CATALOG_LOCK: i64 = 0x6b6f_746f_4341_544c;

/// Which part of the programme an indicator belongs to.
#[derive(Default, Clone, Copy)]
struct Owner<'a> {
    measure: Option<&'a str>,
    set: Option<&'a str>,
    group: Option<&'a str>,
    body: Option<&'a str>,
}

fn unique<'a>(
    ids: impl Iterator<Item = &'a str>,
    what: &str,
) -> Result<HashSet<&'a str>, CatalogError> {
    let mut seen = HashSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Err(CatalogError::Inconsistent(format!(
                "{what} id {id} appears twice"
            )));
        }
    }
    Ok(seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog::embedded().expect("the shipped catalog parses")
    }

    fn measure<'a>(catalog: &'a Catalog, id: &str) -> &'a Measure {
        catalog
            .measures
            .iter()
            .find(|m| m.id == id)
            .expect("measure exists")
    }

    #[test]
    fn counts_match_the_programme() {
        let catalog = catalog();
        assert_eq!(catalog.themes.len(), 4);
        assert_eq!(catalog.measure_sets.len(), 11);
        assert_eq!(catalog.measures.len(), 64);
        assert_eq!(catalog.programme_indicators.len(), 8);
        let per_set: Vec<usize> = catalog
            .measure_sets
            .iter()
            .map(|s| catalog.measures.iter().filter(|m| m.set == s.id).count())
            .collect();
        assert_eq!(per_set, vec![5, 1, 2, 28, 3, 3, 5, 3, 9, 4, 1]);
    }

    #[test]
    fn measure_ids_are_the_programmes_own() {
        let catalog = catalog();
        let ids: Vec<&str> = catalog.measures.iter().map(|m| m.id.as_str()).collect();
        let mut expected: Vec<String> = Vec::new();
        for (set, count) in [
            ("1", 5),
            ("3", 2),
            ("4", 28),
            ("5", 3),
            ("6", 3),
            ("7", 5),
            ("8", 3),
            ("9", 9),
            ("10", 4),
        ] {
            expected.extend((1..=count).map(|n| format!("{set}.{n}")));
        }
        expected.push("2".into());
        expected.push("11".into());
        let mut sorted_ids = ids.clone();
        sorted_ids.sort();
        expected.sort();
        assert_eq!(sorted_ids, expected);
    }

    #[test]
    fn facts_from_the_programme_text() {
        let catalog = catalog();
        assert_eq!(measure(&catalog, "1.3").bodies, vec!["ohjaamo"]);
        let ohjaamo = catalog
            .bodies
            .iter()
            .find(|b| b.id == "ohjaamo")
            .expect("ohjaamo");
        assert_eq!(ohjaamo.name, "Youth Employment Services, Ohjaamo");
        assert_eq!(measure(&catalog, "7.5").bodies, vec!["libraries"]);
        let m104 = measure(&catalog, "10.4");
        assert!(
            m104.indicators
                .iter()
                .any(|i| i.text.contains("3,000 young people")
                    && i.text.contains("70,000 work hours"))
        );
        let m11 = measure(&catalog, "1.1");
        assert_eq!(m11.indicators[0].target, Some(1000.0));
        assert!(m11.bodies.contains(&"helsinki-skill-center".to_owned()));
        assert_eq!(
            measure(&catalog, "4.28").group.as_deref(),
            Some("4-skills-recruitment")
        );
        assert!(
            measure(&catalog, "10.2")
                .indicators
                .iter()
                .any(|i| i.text.starts_with("30% of the young people"))
        );
    }

    #[test]
    fn indicator_ids_are_unique_and_cover_every_level() {
        let rows = catalog().indicator_rows();
        let ids: HashSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids.len(), rows.len());
        assert!(
            ids.contains("P8")
                && ids.contains("set-4/2")
                && ids.contains("group-4-guidance/5")
                && ids.contains("10.4/1")
        );
    }

    #[test]
    fn broken_references_are_refused() {
        let broken =
            PROGRAMME_TOML.replacen("bodies = [\"ohjaamo\"]", "bodies = [\"no-such-body\"]", 1);
        let err = Catalog::parse(&broken).expect_err("unknown body must be refused");
        assert!(err.to_string().contains("no-such-body"));
    }

    #[test]
    fn projects_name_known_bodies_and_measures_over_a_real_period() {
        let catalog = catalog();
        let ids: Vec<&str> = catalog.projects.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(
            ids,
            ["home-to-helsinki", "koto", "helmi", "community-sponsorship"]
        );
        let sponsorship = &catalog.projects[3];
        assert_eq!(sponsorship.bodies[0], "finnish-red-cross");
        assert!(
            sponsorship
                .bodies
                .iter()
                .all(|b| catalog.partner_bodies().contains(b))
        );
        for (from, to, refused) in [
            (
                "bodies = [\"finnish-red-cross\", \"humak\", \"church-council\"]",
                "bodies = [\"red-cross\"]",
                "red-cross",
            ),
            ("measures = [\"5.1\"]", "measures = [\"5.9\"]", "5.9"),
            (
                "ends_on = \"2025-12-31\"",
                "ends_on = \"2022-12-31\"",
                "ends before it starts",
            ),
        ] {
            assert!(PROGRAMME_TOML.contains(from), "{from}");
            let broken = PROGRAMME_TOML.replacen(from, to, 1);
            let err = Catalog::parse(&broken).expect_err(refused);
            assert!(err.to_string().contains(refused), "{err}");
        }
    }

    #[test]
    fn targets_stated_together_are_kept_together_with_their_periods() {
        let rows = catalog().indicator_rows();
        let targets = |id: &str| -> Vec<indicator::Target> {
            let row = rows.iter().find(|r| r.id == id).unwrap();
            serde_json::from_str(&row.targets).unwrap()
        };
        let per_year = targets("1.1/1");
        assert_eq!(per_year.len(), 1);
        assert_eq!(
            (per_year[0].value, per_year[0].per),
            (1000.0, indicator::TargetPer::Year)
        );
        let pilot = targets("1.2/2");
        assert_eq!(
            pilot
                .iter()
                .map(|t| (t.value, t.of.as_deref()))
                .collect::<Vec<_>>(),
            [(50.0, None), (20.0, Some("find paid jobs (%)"))]
        );
        assert!(pilot.iter().all(|t| t.per == indicator::TargetPer::Term));
        let hours = targets("10.4/1");
        assert_eq!(hours[1].value, 70_000.0);
        assert_eq!(rows.iter().filter(|r| r.target.is_some()).count(), 7);
        assert!(targets("1.5/1").is_empty());
    }
}
