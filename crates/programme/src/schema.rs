//! The programme subgraph's GraphQL types and root fields.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, ID, Object, Request, Result};
use kotohub_subgraph::access::{RowAccess, row_access};
use kotohub_subgraph::batch::{ClientRows, client_batch};
use kotohub_subgraph::links::check_key;
use kotohub_subgraph::records::BATCH_SIZE;
use kotohub_subgraph::vocab::District;
use kotohub_subgraph::{Page, bad_input, internal};
use sea_orm::{
    ActiveEnum, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::entity::client_fact::RecordedOutcome;
use crate::entity::indicator::{IndicatorKind, Scope};
use crate::entity::{
    client, division, indicator, measure, measure_body, measure_set, objective, objective_group,
    project, project_body, project_measure, referral, responsible_body, theme,
};
use crate::indicators::IndicatorRecord;
use crate::register::{Second, Selection};
use crate::statistics::{
    self, ClientDimension, ClientStatistics, EventDimension, EventStatistics, Filters,
};

/// The catalog as read from the database when the subgraph started.
pub struct Snapshot {
    divisions: Vec<division::Model>,
    bodies: Vec<responsible_body::Model>,
    themes: Vec<theme::Model>,
    sets: Vec<measure_set::Model>,
    groups: Vec<objective_group::Model>,
    objectives: Vec<objective::Model>,
    measures: Vec<measure::Model>,
    measure_bodies: Vec<measure_body::Model>,
    indicators: Vec<indicator::Model>,
    projects: Vec<project::Model>,
    project_bodies: Vec<project_body::Model>,
    project_measures: Vec<project_measure::Model>,
}

impl Snapshot {
    pub async fn load(db: &DatabaseConnection) -> Result<Self, DbErr> {
        Ok(Self {
            divisions: division::Entity::find()
                .order_by_asc(division::Column::Id)
                .all(db)
                .await?,
            bodies: responsible_body::Entity::find()
                .order_by_asc(responsible_body::Column::Id)
                .all(db)
                .await?,
            themes: theme::Entity::find()
                .order_by_asc(theme::Column::Id)
                .all(db)
                .await?,
            sets: measure_set::Entity::find()
                .order_by_asc(measure_set::Column::Position)
                .all(db)
                .await?,
            groups: objective_group::Entity::find()
                .order_by_asc(objective_group::Column::Id)
                .all(db)
                .await?,
            objectives: objective::Entity::find()
                .order_by_asc(objective::Column::Position)
                .all(db)
                .await?,
            measures: measure::Entity::find()
                .order_by_asc(measure::Column::Position)
                .all(db)
                .await?,
            measure_bodies: measure_body::Entity::find()
                .order_by_asc(measure_body::Column::Position)
                .all(db)
                .await?,
            indicators: indicator::Entity::find()
                .order_by_asc(indicator::Column::Position)
                .all(db)
                .await?,
            projects: project::Entity::find()
                .order_by_asc(project::Column::Position)
                .all(db)
                .await?,
            project_bodies: project_body::Entity::find()
                .order_by_asc(project_body::Column::Position)
                .all(db)
                .await?,
            project_measures: project_measure::Entity::find()
                .order_by_asc(project_measure::Column::Position)
                .all(db)
                .await?,
        })
    }

    pub(crate) fn has_measure(&self, id: &str) -> bool {
        self.measure_index(id).is_some()
    }

    pub(crate) fn has_body(&self, id: &str) -> bool {
        self.bodies.iter().any(|body| body.id == id)
    }

    pub(crate) fn has_division(&self, id: &str) -> bool {
        self.division_index(id).is_some()
    }

    fn measure_index(&self, id: &str) -> Option<usize> {
        self.measures.iter().position(|m| m.id == id)
    }

    fn body_index(&self, id: &str) -> Option<usize> {
        self.bodies.iter().position(|b| b.id == id)
    }

    fn division_index(&self, id: &str) -> Option<usize> {
        self.divisions.iter().position(|d| d.id == id)
    }

    fn set_index(&self, id: &str) -> Option<usize> {
        self.sets.iter().position(|s| s.id == id)
    }

    fn bodies_of_measure(&self, measure_id: &str) -> impl Iterator<Item = &str> {
        self.measure_bodies
            .iter()
            .filter(move |mb| mb.measure_id == measure_id)
            .map(|mb| mb.body_id.as_str())
    }

    fn project_index(&self, id: &str) -> Option<usize> {
        self.projects.iter().position(|p| p.id == id)
    }

    /// The projects whose id `keep` accepts, in catalog order.
    fn projects_where(&self, keep: impl Fn(&str) -> bool) -> Vec<usize> {
        self.projects
            .iter()
            .enumerate()
            .filter(|(_, p)| keep(&p.id))
            .map(|(n, _)| n)
            .collect()
    }

    fn indicator_index(&self, id: &str) -> Option<usize> {
        self.indicators.iter().position(|i| i.id == id)
    }

    /// An indicator by id.
    pub(crate) fn indicator(&self, id: &str) -> Option<&indicator::Model> {
        Some(&self.indicators[self.indicator_index(id)?])
    }

    /// The bodies that answer for an indicator: a measure's own bodies, those of every
    /// measure of a set or an objective group, or the body that monitors a
    /// programme-level indicator.
    pub(crate) fn indicator_bodies(&self, indicator: &indicator::Model) -> Vec<String> {
        let measures: Vec<&str> = match indicator.scope {
            Scope::Measure => indicator.measure_id.iter().map(String::as_str).collect(),
            Scope::MeasureSet => self
                .measures
                .iter()
                .filter(|m| Some(&m.measure_set_id) == indicator.measure_set_id.as_ref())
                .map(|m| m.id.as_str())
                .collect(),
            Scope::ObjectiveGroup => self
                .measures
                .iter()
                .filter(|m| m.group_id.is_some() && m.group_id == indicator.group_id)
                .map(|m| m.id.as_str())
                .collect(),
            Scope::Programme => Vec::new(),
        };
        let mut bodies: Vec<String> = measures
            .into_iter()
            .flat_map(|m| self.bodies_of_measure(m))
            .chain(indicator.body_id.as_deref())
            .map(str::to_owned)
            .collect();
        bodies.sort();
        bodies.dedup();
        bodies
    }

    fn measure_has_division(&self, measure_id: &str, division_id: &str) -> bool {
        self.bodies_of_measure(measure_id).any(|body| {
            self.bodies
                .iter()
                .any(|b| b.id == body && b.division_id == division_id)
        })
    }
}

/// A handle on one row of the snapshot; GraphQL types are these handles.
#[derive(Clone)]
struct Handle {
    catalog: Arc<Snapshot>,
    index: usize,
}

fn catalog<'a>(ctx: &Context<'a>) -> Result<&'a Arc<Snapshot>> {
    ctx.data::<Arc<Snapshot>>()
}

fn handles<T>(
    catalog: &Arc<Snapshot>,
    indexes: impl Iterator<Item = usize>,
    wrap: fn(Handle) -> T,
) -> Vec<T> {
    indexes
        .map(|index| {
            wrap(Handle {
                catalog: catalog.clone(),
                index,
            })
        })
        .collect()
}

pub struct Query;

#[Object]
impl Query {
    /// The programme's four themes.
    async fn themes(&self, ctx: &Context<'_>) -> Result<Vec<Theme>> {
        let cat = catalog(ctx)?;
        Ok(handles(cat, 0..cat.themes.len(), Theme))
    }

    /// The eleven sets of measures, in programme order.
    async fn measure_sets(&self, ctx: &Context<'_>) -> Result<Vec<MeasureSet>> {
        let cat = catalog(ctx)?;
        Ok(handles(cat, 0..cat.sets.len(), MeasureSet))
    }

    /// Measures in programme order, optionally of one theme, one division or one
    /// responsible body.
    async fn measures(
        &self,
        ctx: &Context<'_>,
        theme: Option<i32>,
        division: Option<ID>,
        responsible_body: Option<ID>,
    ) -> Result<Vec<Measure>> {
        let cat = catalog(ctx)?;
        if let Some(theme) = theme
            && !cat.themes.iter().any(|t| t.id == theme)
        {
            return Err(bad_input(format!("there is no theme {theme}")));
        }
        if let Some(division) = &division
            && cat.division_index(division).is_none()
        {
            return Err(bad_input(format!(
                "there is no division {:?}",
                division.as_str()
            )));
        }
        if let Some(body) = &responsible_body
            && cat.body_index(body).is_none()
        {
            return Err(bad_input(format!(
                "there is no responsible body {:?}",
                body.as_str()
            )));
        }
        let selected = cat.measures.iter().enumerate().filter(|(_, m)| {
            let theme_ok = theme.is_none_or(|theme| {
                cat.sets
                    .iter()
                    .any(|s| s.id == m.measure_set_id && s.theme_id == theme)
            });
            let division_ok = division
                .as_ref()
                .is_none_or(|d| cat.measure_has_division(&m.id, d));
            let body_ok = responsible_body
                .as_ref()
                .is_none_or(|b| cat.bodies_of_measure(&m.id).any(|id| id == b.as_str()));
            theme_ok && division_ok && body_ok
        });
        Ok(handles(cat, selected.map(|(i, _)| i), Measure))
    }

    /// One measure by its programme id ("1.1", "4.12", "11").
    async fn measure(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Measure>> {
        Measure::by_id(ctx, &id)
    }

    /// The projects carried out beside the programme (Koto, Home to Helsinki, Helmi,
    /// community-sponsored integration), with their periods, funders and bodies.
    async fn projects(&self, ctx: &Context<'_>) -> Result<Vec<Project>> {
        let cat = catalog(ctx)?;
        Ok(handles(cat, 0..cat.projects.len(), Project))
    }

    /// One project by its slug ("koto").
    async fn project(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Project>> {
        let cat = catalog(ctx)?;
        Ok(cat.project_index(&id).map(|index| {
            Project(Handle {
                catalog: cat.clone(),
                index,
            })
        }))
    }

    /// Referrals between responsible bodies that your bodies sent or received, in id
    /// order, optionally of one measure.
    async fn referrals(
        &self,
        ctx: &Context<'_>,
        measure: Option<ID>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<referral::Model>> {
        if let Some(measure) = &measure {
            check_key("Measure", measure)?;
        }
        let page = Page::new(first, after.as_ref())?;
        crate::families::referrals(ctx, measure.as_ref().map(|m| m.as_str()), page).await
    }

    /// One indicator by its id ("1.1/1", "set-4/1", "P3").
    async fn indicator(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Indicator>> {
        let cat = catalog(ctx)?;
        Ok(cat.indicator_index(&id).map(|index| {
            Indicator(Handle {
                catalog: cat.clone(),
                index,
            })
        }))
    }

    /// Responsible bodies, optionally of one division.
    async fn responsible_bodies(
        &self,
        ctx: &Context<'_>,
        division: Option<ID>,
    ) -> Result<Vec<ResponsibleBody>> {
        let cat = catalog(ctx)?;
        let selected = cat.bodies.iter().enumerate().filter(|(_, b)| {
            division
                .as_ref()
                .is_none_or(|d| b.division_id == d.as_str())
        });
        Ok(handles(cat, selected.map(|(i, _)| i), ResponsibleBody))
    }

    /// One responsible body by its id (a slug such as "ohjaamo").
    async fn responsible_body(&self, ctx: &Context<'_>, id: ID) -> Result<Option<ResponsibleBody>> {
        ResponsibleBody::by_id(ctx, &id)
    }

    /// The City's divisions that own responsible bodies.
    async fn divisions(&self, ctx: &Context<'_>) -> Result<Vec<Division>> {
        let cat = catalog(ctx)?;
        Ok(handles(cat, 0..cat.divisions.len(), Division))
    }

    /// Indicators, optionally of one scope or kind.
    async fn indicators(
        &self,
        ctx: &Context<'_>,
        scope: Option<Scope>,
        kind: Option<IndicatorKind>,
    ) -> Result<Vec<Indicator>> {
        let cat = catalog(ctx)?;
        let selected = cat.indicators.iter().enumerate().filter(|(_, i)| {
            scope.is_none_or(|s| i.scope == s) && kind.is_none_or(|k| i.kind == k)
        });
        Ok(handles(cat, selected.map(|(i, _)| i), Indicator))
    }

    /// One client by pseudonymous id.
    async fn client(&self, ctx: &Context<'_>, id: ID) -> Result<Option<client::Model>> {
        check_key("Client", &id)?;
        client_by_id(ctx, &id).await
    }

    /// Clients in id order, optionally of one district or mother tongue.
    async fn clients(
        &self,
        ctx: &Context<'_>,
        district: Option<District>,
        mother_tongue: Option<String>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<client::Model>> {
        let page = Page::new(first, None)?;
        let rows = row_access(ctx)?;
        if rows.bodies().is_empty() {
            return Ok(Vec::new());
        }
        let mut query = client::Entity::find().filter(client::Entity::scope_filter(rows.bodies()));
        if let Some(after) = &after {
            check_key("Client", after)?;
            query = query.filter(client::Column::Id.gt(after.as_str()));
        }
        if let Some(district) = district {
            query = query.filter(client::Column::District.eq(district));
        }
        if let Some(tongue) = &mother_tongue {
            query = query.filter(client::Column::MotherTongue.eq(tongue.as_str()));
        }
        let found = query
            .order_by_asc(client::Column::Id)
            .limit(page.limit)
            .all(rows.db())
            .await
            .map_err(internal)?;
        rows.returned(found.iter().map(|c| c.id.as_str()));
        Ok(found)
    }

    /// Distinct clients with records of the divisions your grant covers, broken down by
    /// up to three dimensions; optionally of one measure, division or year. With
    /// `outcomes`, also how many of them had one of those outcomes and the share they
    /// make (measure 1.2's share continuing to education or employment, say). Every count
    /// carries a small fixed noise, the same for the same clients in every table; a cell
    /// counting 1–4 is suppressed.
    #[allow(clippy::too_many_arguments)]
    async fn client_statistics(
        &self,
        ctx: &Context<'_>,
        by: Vec<ClientDimension>,
        measure: Option<ID>,
        division: Option<ID>,
        year: Option<i32>,
        #[graphql(desc = "Only the records this responsible body made.")] body: Option<ID>,
        outcomes: Option<Vec<RecordedOutcome>>,
        #[graphql(
            desc = "Count an outcome only when it was recorded, under any measure your grant \
                    covers, from the month one of the client's counted records ended (or \
                    happened) to this many months after it: \"in work within 6 months of the \
                    service\". 0 to 60; without it an outcome counts when it is itself one of \
                    the counted records."
        )]
        within_months: Option<i32>,
        #[graphql(
            default,
            desc = "Also give each cell's clients per 1,000 residents, from the population \
                    figures: for breakdowns by YEAR or QUARTER (or of one year), DISTRICT, \
                    MOTHER_TONGUE_GROUP and AGE_GROUP, the reach of a measure in each group."
        )]
        per_residents: bool,
    ) -> Result<ClientStatistics> {
        let filters = Filters {
            measure,
            division,
            year,
            ..Filters::default()
        };
        let outcomes: Vec<String> = outcomes
            .unwrap_or_default()
            .iter()
            .map(|o| o.to_value())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let second = match (outcomes.is_empty(), within_months) {
            (true, None) => Second::Nobody,
            (true, Some(_)) => {
                return Err(bad_input(
                    "withinMonths follows outcomes: name the outcomes",
                ));
            }
            (false, None) => Second::Outcomes(outcomes),
            (false, Some(months @ 0..=60)) => Second::FollowUp {
                outcomes,
                records: Vec::new(),
                months: months as u16,
            },
            (false, Some(_)) => return Err(bad_input("withinMonths is 0 to 60")),
        };
        let selection = Selection {
            body: body.map(|id| id.to_string()),
            ..Selection::default()
        };
        statistics::clients(
            ctx,
            catalog(ctx)?,
            by,
            filters,
            selection,
            second,
            per_residents,
        )
        .await
    }

    /// Events of the divisions your grant covers, broken down by up to three dimensions
    /// (measure 1.3's events in languages other than Finnish or Swedish, 10.2's events in
    /// the regional focal areas); optionally of one measure, division or year. Every count
    /// carries a small fixed noise, the same for the same events in every table; a cell
    /// counting 1–4 is suppressed.
    async fn event_statistics(
        &self,
        ctx: &Context<'_>,
        by: Vec<EventDimension>,
        measure: Option<ID>,
        division: Option<ID>,
        year: Option<i32>,
    ) -> Result<EventStatistics> {
        let filters = Filters {
            measure,
            division,
            year,
            ..Filters::default()
        };
        statistics::events(ctx, catalog(ctx)?, by, filters).await
    }

    #[graphql(entity)]
    async fn find_measure_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Measure>> {
        self.measure(ctx, id).await
    }

    #[graphql(entity)]
    async fn find_responsible_body_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<Option<ResponsibleBody>> {
        self.responsible_body(ctx, id).await
    }

    #[graphql(entity)]
    async fn find_client_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Option<client::Model>> {
        check_key("Client", &id)?;
        let batch = client_batch(ctx, "Client")?;
        let access = row_access(ctx)?;
        let rows = batch
            .rows::<client::Entity>(access)
            .await
            .map_err(internal)?;
        let found = rows.get(id.as_str()).and_then(|rows| rows.first()).cloned();
        access.returned(found.iter().map(|c| c.id.as_str()));
        Ok(found)
    }
}

/// One of the programme's four themes.
pub struct Theme(Handle);

#[Object]
impl Theme {
    async fn id(&self) -> ID {
        ID(self.row().id.to_string())
    }
    /// The theme's number, 1–4.
    async fn number(&self) -> i32 {
        self.row().id
    }
    async fn title(&self) -> &str {
        &self.row().title
    }
    /// The title in Finnish, as in the programme.
    async fn title_fi(&self) -> &str {
        &self.row().title_fi
    }
    async fn measure_sets(&self) -> Vec<MeasureSet> {
        let cat = &self.0.catalog;
        let id = self.row().id;
        let selected = cat
            .sets
            .iter()
            .enumerate()
            .filter(|(_, s)| s.theme_id == id);
        handles(cat, selected.map(|(i, _)| i), MeasureSet)
    }
}

impl Theme {
    fn row(&self) -> &theme::Model {
        &self.0.catalog.themes[self.0.index]
    }
}

/// A set of measures ("1. The employment service measures …").
pub struct MeasureSet(Handle);

#[Object]
impl MeasureSet {
    async fn id(&self) -> ID {
        ID(self.row().id.clone())
    }
    async fn title(&self) -> &str {
        &self.row().title
    }
    async fn theme(&self) -> Option<Theme> {
        let cat = &self.0.catalog;
        let index = cat
            .themes
            .iter()
            .position(|t| t.id == self.row().theme_id)?;
        Some(Theme(Handle {
            catalog: cat.clone(),
            index,
        }))
    }
    /// The set's own objectives (groups within set 4 have further ones).
    async fn objectives(&self) -> Vec<&str> {
        let id = &self.row().id;
        self.0
            .catalog
            .objectives
            .iter()
            .filter(|o| &o.measure_set_id == id && o.group_id.is_none())
            .map(|o| o.text.as_str())
            .collect()
    }
    async fn measures(&self) -> Vec<Measure> {
        let cat = &self.0.catalog;
        let id = &self.row().id;
        let selected = cat
            .measures
            .iter()
            .enumerate()
            .filter(|(_, m)| &m.measure_set_id == id);
        handles(cat, selected.map(|(i, _)| i), Measure)
    }
    /// Indicators that follow the set as a whole.
    async fn indicators(&self) -> Vec<Indicator> {
        let cat = &self.0.catalog;
        let id = &self.row().id;
        let selected =
            cat.indicators.iter().enumerate().filter(|(_, i)| {
                i.scope == Scope::MeasureSet && i.measure_set_id.as_ref() == Some(id)
            });
        handles(cat, selected.map(|(i, _)| i), Indicator)
    }
}

impl MeasureSet {
    fn row(&self) -> &measure_set::Model {
        &self.0.catalog.sets[self.0.index]
    }
}

/// A measure of the Integration Programme.
pub struct Measure(Handle);

#[Object]
impl Measure {
    /// The programme's own id: "1.1", "4.12", "11".
    async fn id(&self) -> ID {
        ID(self.row().id.clone())
    }
    /// The measure as the programme's summary table states it.
    async fn summary(&self) -> &str {
        &self.row().summary
    }
    async fn measure_set(&self) -> Option<MeasureSet> {
        let cat = &self.0.catalog;
        let index = cat.set_index(&self.row().measure_set_id)?;
        Some(MeasureSet(Handle {
            catalog: cat.clone(),
            index,
        }))
    }
    async fn theme(&self) -> Option<Theme> {
        let cat = &self.0.catalog;
        let set = &cat.sets[cat.set_index(&self.row().measure_set_id)?];
        let index = cat.themes.iter().position(|t| t.id == set.theme_id)?;
        Some(Theme(Handle {
            catalog: cat.clone(),
            index,
        }))
    }
    /// The title of the measure's objective group, within set 4.
    async fn group(&self) -> Option<&str> {
        let group = self.row().group_id.as_ref()?;
        self.0
            .catalog
            .groups
            .iter()
            .find(|g| &g.id == group)
            .map(|g| g.title.as_str())
    }
    /// The objectives the measure serves: its group's, else its set's.
    async fn objectives(&self) -> Vec<&str> {
        let row = self.row();
        let objectives = &self.0.catalog.objectives;
        let of_group: Vec<&str> = objectives
            .iter()
            .filter(|o| o.group_id.is_some() && o.group_id == row.group_id)
            .map(|o| o.text.as_str())
            .collect();
        if !of_group.is_empty() {
            return of_group;
        }
        objectives
            .iter()
            .filter(|o| o.measure_set_id == row.measure_set_id && o.group_id.is_none())
            .map(|o| o.text.as_str())
            .collect()
    }
    /// The indicators that follow the measure: its own, then its group's, then its set's.
    async fn indicators(&self) -> Vec<Indicator> {
        let cat = &self.0.catalog;
        let row = self.row();
        let own = |i: &indicator::Model| {
            i.scope == Scope::Measure && i.measure_id.as_ref() == Some(&row.id)
        };
        let group = |i: &indicator::Model| {
            i.scope == Scope::ObjectiveGroup && row.group_id.is_some() && i.group_id == row.group_id
        };
        let set = |i: &indicator::Model| {
            i.scope == Scope::MeasureSet && i.measure_set_id.as_ref() == Some(&row.measure_set_id)
        };
        let indexes = [&own as &dyn Fn(&indicator::Model) -> bool, &group, &set]
            .into_iter()
            .flat_map(|keep| {
                cat.indicators
                    .iter()
                    .enumerate()
                    .filter(move |(_, i)| keep(i))
                    .map(|(n, _)| n)
            })
            .collect::<Vec<_>>();
        handles(cat, indexes.into_iter(), Indicator)
    }
    /// The bodies responsible for the measure, in the programme's order.
    async fn responsible_bodies(&self) -> Vec<ResponsibleBody> {
        let cat = &self.0.catalog;
        let indexes: Vec<usize> = cat
            .bodies_of_measure(&self.row().id)
            .filter_map(|id| cat.body_index(id))
            .collect();
        handles(cat, indexes.into_iter(), ResponsibleBody)
    }
    /// Projects whose work the measure carries on or is fed by.
    async fn projects(&self) -> Vec<Project> {
        let cat = &self.0.catalog;
        let id = &self.row().id;
        let indexes = cat.projects_where(|project| {
            cat.project_measures
                .iter()
                .any(|pm| pm.project_id == project && &pm.measure_id == id)
        });
        handles(cat, indexes.into_iter(), Project)
    }
}

impl Measure {
    fn row(&self) -> &measure::Model {
        &self.0.catalog.measures[self.0.index]
    }

    /// The measure with id `id`, if the catalog has one.
    pub(crate) fn by_id(ctx: &Context<'_>, id: &str) -> Result<Option<Self>> {
        let cat = catalog(ctx)?;
        Ok(cat.measure_index(id).map(|index| {
            Measure(Handle {
                catalog: cat.clone(),
                index,
            })
        }))
    }
}

/// A body responsible for measures (Helsinki Skill Center, Ohjaamo, Libraries …).
pub struct ResponsibleBody(Handle);

#[Object]
impl ResponsibleBody {
    /// A stable slug, e.g. "ohjaamo".
    async fn id(&self) -> ID {
        ID(self.row().id.clone())
    }
    async fn name(&self) -> &str {
        &self.row().name
    }
    async fn division(&self) -> Option<Division> {
        let cat = &self.0.catalog;
        let index = cat.division_index(&self.row().division_id)?;
        Some(Division(Handle {
            catalog: cat.clone(),
            index,
        }))
    }
    /// Measures the body is responsible for.
    async fn measures(&self) -> Vec<Measure> {
        let cat = &self.0.catalog;
        let id = &self.row().id;
        let selected = cat
            .measures
            .iter()
            .enumerate()
            .filter(|(_, m)| cat.bodies_of_measure(&m.id).any(|b| b == id));
        handles(cat, selected.map(|(i, _)| i), Measure)
    }
    /// A City body, or a partner organisation outside the City.
    async fn kind(&self) -> BodyKind {
        if self.row().division_id == crate::catalog::PARTNER_DIVISION {
            BodyKind::Partner
        } else {
            BodyKind::City
        }
    }
    /// Projects the body took part in.
    async fn projects(&self) -> Vec<Project> {
        let cat = &self.0.catalog;
        let id = &self.row().id;
        let indexes = cat.projects_where(|project| {
            cat.project_bodies
                .iter()
                .any(|pb| pb.project_id == project && &pb.body_id == id)
        });
        handles(cat, indexes.into_iter(), Project)
    }
}

impl ResponsibleBody {
    fn row(&self) -> &responsible_body::Model {
        &self.0.catalog.bodies[self.0.index]
    }

    /// The body with id `id`, if the catalog has one.
    pub(crate) fn by_id(ctx: &Context<'_>, id: &str) -> Result<Option<Self>> {
        let cat = catalog(ctx)?;
        Ok(cat.body_index(id).map(|index| {
            ResponsibleBody(Handle {
                catalog: cat.clone(),
                index,
            })
        }))
    }
}

/// Whether a responsible body belongs to the City.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// A division of the City or a unit of one.
    City,
    /// An organisation outside the City that delivers services with it (the Red Cross,
    /// TE Services, a parish): its officers have the partner role.
    Partner,
}

/// A project carried out beside the programme, with its period, funder and bodies.
pub struct Project(Handle);

#[Object]
impl Project {
    /// A stable slug, e.g. "koto".
    async fn id(&self) -> ID {
        ID(self.row().id.clone())
    }
    async fn name(&self) -> &str {
        &self.row().name
    }
    async fn summary(&self) -> &str {
        &self.row().summary
    }
    async fn starts_on(&self) -> chrono::NaiveDate {
        self.row().starts_on
    }
    /// The last day of the project; none while it runs or when it became permanent.
    async fn ends_on(&self) -> Option<chrono::NaiveDate> {
        self.row().ends_on
    }
    async fn funder(&self) -> &str {
        &self.row().funder
    }
    /// The source document it comes from (`shared/seeds/NNN_*.txt`).
    async fn source(&self) -> &str {
        &self.row().source
    }
    /// The bodies that carried it out, the coordinating one first.
    async fn bodies(&self) -> Vec<ResponsibleBody> {
        let cat = &self.0.catalog;
        let id = &self.row().id;
        let indexes: Vec<usize> = cat
            .project_bodies
            .iter()
            .filter(|pb| &pb.project_id == id)
            .filter_map(|pb| cat.body_index(&pb.body_id))
            .collect();
        handles(cat, indexes.into_iter(), ResponsibleBody)
    }
    /// The programme's measures whose work it carries on or feeds.
    async fn measures(&self) -> Vec<Measure> {
        let cat = &self.0.catalog;
        let id = &self.row().id;
        let indexes: Vec<usize> = cat
            .project_measures
            .iter()
            .filter(|pm| &pm.project_id == id)
            .filter_map(|pm| cat.measure_index(&pm.measure_id))
            .collect();
        handles(cat, indexes.into_iter(), Measure)
    }
}

impl Project {
    fn row(&self) -> &project::Model {
        &self.0.catalog.projects[self.0.index]
    }
}

/// A division of the City.
pub struct Division(Handle);

#[Object]
impl Division {
    /// A stable slug, e.g. "education".
    async fn id(&self) -> ID {
        ID(self.row().id.clone())
    }
    async fn name(&self) -> &str {
        &self.row().name
    }
    async fn responsible_bodies(&self) -> Vec<ResponsibleBody> {
        let cat = &self.0.catalog;
        let id = &self.row().id;
        let selected = cat
            .bodies
            .iter()
            .enumerate()
            .filter(|(_, b)| &b.division_id == id);
        handles(cat, selected.map(|(i, _)| i), ResponsibleBody)
    }
}

impl Division {
    fn row(&self) -> &division::Model {
        &self.0.catalog.divisions[self.0.index]
    }
}

/// An indicator that follows a measure, a group, a set, or the programme as a whole.
pub struct Indicator(Handle);

#[Object]
impl Indicator {
    /// Derived from its place: "1.1/1", "group-4-guidance/2", "set-4/1", "P3".
    async fn id(&self) -> ID {
        ID(self.row().id.clone())
    }
    async fn text(&self) -> &str {
        &self.row().text
    }
    async fn kind(&self) -> IndicatorKind {
        self.row().kind
    }
    async fn scope(&self) -> Scope {
        self.row().scope
    }
    /// The number the programme aims at, where it states one (1,000 assessments, 30 %).
    async fn target(&self) -> Option<f64> {
        self.row().target
    }
    /// Every target the programme states with the indicator: its own first, then those
    /// the same sentence sets for other quantities, each per year or for the term.
    async fn targets(&self) -> Vec<crate::entity::indicator::Target> {
        serde_json::from_str(&self.row().targets).unwrap_or_default()
    }
    async fn measure(&self) -> Option<Measure> {
        let cat = &self.0.catalog;
        let index = cat.measure_index(self.row().measure_id.as_ref()?)?;
        Some(Measure(Handle {
            catalog: cat.clone(),
            index,
        }))
    }
    /// The body monitoring a programme-level indicator.
    async fn responsible_body(&self) -> Option<ResponsibleBody> {
        let cat = &self.0.catalog;
        let index = cat.body_index(self.row().body_id.as_ref()?)?;
        Some(ResponsibleBody(Handle {
            catalog: cat.clone(),
            index,
        }))
    }
    /// Information sources of a programme-level indicator.
    async fn sources(&self) -> Vec<&str> {
        let sources = &self.row().sources;
        sources.split("; ").filter(|s| !s.is_empty()).collect()
    }
    /// The bodies whose officers record the indicator's values: those responsible for
    /// its measure (or its set's or group's measures), or the body monitoring it.
    async fn reporting_bodies(&self) -> Vec<ResponsibleBody> {
        let cat = &self.0.catalog;
        cat.indicator_bodies(self.row())
            .iter()
            .filter_map(|id| cat.body_index(id))
            .map(|index| {
                ResponsibleBody(Handle {
                    catalog: cat.clone(),
                    index,
                })
            })
            .collect()
    }
    /// True when the register counts it; else its bodies record it.
    async fn computed(&self) -> bool {
        crate::indicator_values::computed(&self.row().id).is_some()
    }
    /// How it is counted from the register, in words; null for a recorded indicator.
    async fn definition(&self) -> Option<&'static str> {
        crate::indicator_values::computed(&self.row().id).map(|c| c.definition)
    }
    /// Its values by year or quarter (of the years `from`–`to`, if given), each with the
    /// target: counted from the register as any aggregate is, with small cells
    /// suppressed, or the latest of what its bodies recorded.
    async fn values(
        &self,
        ctx: &Context<'_>,
        from: Option<i32>,
        to: Option<i32>,
        #[graphql(default)] by: crate::indicator_values::IndicatorPeriod,
    ) -> Result<Vec<crate::indicator_values::IndicatorValue>> {
        crate::indicator_values::values(ctx, &self.0.catalog, self.row(), from, to, by).await
    }
    /// What the bodies recorded, the latest version for each period, periods in order.
    async fn records(&self, ctx: &Context<'_>) -> Result<Vec<IndicatorRecord>> {
        crate::indicators::latest(ctx, &self.row().id).await
    }
    /// Every version recorded (of one period, if given), by period and oldest first.
    async fn history(
        &self,
        ctx: &Context<'_>,
        period: Option<String>,
    ) -> Result<Vec<IndicatorRecord>> {
        crate::indicators::history(ctx, &self.row().id, period.as_deref()).await
    }
}

impl Indicator {
    fn row(&self) -> &indicator::Model {
        &self.0.catalog.indicators[self.0.index]
    }
}

/// Loads the client core rows the caller may see for a batch of ids, in one statement
/// per [`BATCH_SIZE`].
struct ClientLoader {
    rows: RowAccess,
}

impl Loader<String> for ClientLoader {
    type Value = client::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, client::Model>, Self::Error> {
        let mut found = HashMap::with_capacity(keys.len());
        if self.rows.bodies().is_empty() {
            return Ok(found);
        }
        for chunk in keys.chunks(BATCH_SIZE) {
            let rows = client::Entity::find()
                .filter(client::Column::Id.is_in(chunk.iter().map(String::as_str)))
                .filter(self.rows.client_scope::<client::Entity>())
                .all(self.rows.db())
                .await?;
            found.extend(rows.into_iter().map(|row| (row.id.clone(), row)));
        }
        Ok(found)
    }
}

/// The loaders of one request: clients, their households and referrals, and the
/// indicators' records.
pub(crate) fn attach_loaders(request: Request, rows: &RowAccess) -> Request {
    let request = request
        .data(
            DataLoader::new(ClientLoader { rows: rows.clone() }, tokio::spawn)
                .max_batch_size(BATCH_SIZE),
        )
        .data(
            DataLoader::new(
                crate::families::MembershipLoader { rows: rows.clone() },
                tokio::spawn,
            )
            .max_batch_size(BATCH_SIZE),
        )
        .data(
            DataLoader::new(
                crate::families::MembersLoader { rows: rows.clone() },
                tokio::spawn,
            )
            .max_batch_size(BATCH_SIZE),
        )
        .data(DataLoader::new(
            crate::indicators::RecordLoader { rows: rows.clone() },
            tokio::spawn,
        ));
    // The division records' loader, which reads referrals by client, and the entity
    // batches.
    kotohub_subgraph::records::attach_loader(request, rows)
}

/// One client by id, if the caller may see it; noted as returned.
pub(crate) async fn client_by_id(ctx: &Context<'_>, id: &str) -> Result<Option<client::Model>> {
    let found = load_client(ctx, id).await?;
    row_access(ctx)?.returned(found.iter().map(|c| c.id.as_str()));
    Ok(found)
}

async fn load_client(ctx: &Context<'_>, id: &str) -> Result<Option<client::Model>> {
    ctx.data::<DataLoader<ClientLoader>>()?
        .load_one(id.to_owned())
        .await
        .map_err(internal)
}
