//! The programme database's tables as sea-orm entities: the catalog of the Integration
//! Programme and the pseudonymous client core.

/// Divisions of the City that own responsible bodies.
pub mod division {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "divisions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Bodies responsible for measures.
pub mod responsible_body {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "responsible_bodies")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name: String,
        pub division_id: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The programme's four themes.
pub mod theme {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "themes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        pub title: String,
        pub title_fi: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The eleven sets of measures.
pub mod measure_set {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "measure_sets")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub theme_id: i32,
        pub position: i32,
        pub title: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Groups of measures within a set that have objectives of their own (set 4).
pub mod objective_group {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "objective_groups")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub measure_set_id: String,
        pub title: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Objectives of a set (no group) or of a group within a set.
pub mod objective {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "objectives")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub measure_set_id: String,
        pub group_id: Option<String>,
        pub position: i32,
        pub text: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The 64 measures.
pub mod measure {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "measures")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub measure_set_id: String,
        pub group_id: Option<String>,
        pub position: i32,
        pub summary: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Which bodies are responsible for which measures.
pub mod measure_body {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "measure_bodies")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub measure_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub body_id: String,
        pub position: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Indicators of measures, groups, sets and of the programme as a whole.
pub mod indicator {
    use async_graphql::Enum;
    use sea_orm::entity::prelude::*;
    use serde::Deserialize;

    /// What an indicator measures.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Enum, Deserialize)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
    #[serde(rename_all = "snake_case")]
    pub enum IndicatorKind {
        #[sea_orm(string_value = "count")]
        Count,
        #[sea_orm(string_value = "percentage")]
        Percentage,
        /// Achieved: yes, no or partially.
        #[sea_orm(string_value = "yes_no_partially")]
        YesNoPartially,
        /// A thing that has or has not been done.
        #[sea_orm(string_value = "milestone")]
        Milestone,
        /// A breakdown followed over time.
        #[sea_orm(string_value = "series")]
        Series,
        /// A result of a survey (the School Health Promotion Study, a client survey),
        /// recorded with the survey and the date of its results.
        #[sea_orm(string_value = "survey_score")]
        SurveyScore,
        /// A figure a statistics office or a research body publishes (unemployment,
        /// learning results), recorded with the table and the date of its release.
        #[sea_orm(string_value = "external_statistic")]
        ExternalStatistic,
    }

    /// The part of the programme an indicator follows.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Enum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
    #[graphql(name = "IndicatorScope")]
    pub enum Scope {
        #[sea_orm(string_value = "measure")]
        Measure,
        #[sea_orm(string_value = "group")]
        ObjectiveGroup,
        #[sea_orm(string_value = "set")]
        MeasureSet,
        #[sea_orm(string_value = "programme")]
        Programme,
    }

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "indicators")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub scope: Scope,
        pub measure_id: Option<String>,
        pub measure_set_id: Option<String>,
        pub group_id: Option<String>,
        pub body_id: Option<String>,
        pub position: i32,
        pub text: String,
        pub kind: IndicatorKind,
        /// The first of `targets`, the indicator's own.
        pub target: Option<f64>,
        /// Every target, JSON: a list of [`Target`].
        pub targets: String,
        /// Information sources, separated by "; ".
        pub sources: String,
    }

    /// Over what a target holds.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize, serde::Serialize)]
    #[serde(rename_all = "snake_case")]
    #[graphql(name = "TargetPeriod")]
    pub enum TargetPer {
        /// Each year.
        Year,
        /// The programme's term as a whole, 2017–2021.
        Term,
    }

    /// One target of an indicator.
    #[derive(
        Debug, Clone, PartialEq, Deserialize, serde::Serialize, async_graphql::SimpleObject,
    )]
    #[graphql(name = "IndicatorTarget")]
    pub struct Target {
        pub value: f64,
        /// What it is a target for, when not the indicator's own quantity.
        pub of: Option<String>,
        pub per: TargetPer,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The pseudonymous client core that every division's records point to. Names are
/// synthetic in the demo data; in production this table holds what the city's
/// pseudonymisation service hands over.
pub mod client {
    use async_graphql::Enum;
    use kotohub_subgraph::vocab::District;
    use sea_orm::entity::prelude::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
    pub enum Gender {
        #[sea_orm(string_value = "female")]
        Female,
        #[sea_orm(string_value = "male")]
        Male,
        #[sea_orm(string_value = "other")]
        Other,
    }

    /// Background in the sense of Statistics Finland, as the programme uses it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
    pub enum Background {
        /// Foreign background, born abroad.
        #[sea_orm(string_value = "immigrant")]
        Immigrant,
        /// Foreign background, born in Finland.
        #[sea_orm(string_value = "second_generation")]
        SecondGeneration,
        #[sea_orm(string_value = "finnish_background")]
        FinnishBackground,
    }

    /// How a client came to live in Finland (the residence basis of their first permit, or
    /// free movement): what the Koto project, community-sponsored integration and the
    /// measures for asylum seekers and minors arriving alone are about.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
    pub enum EntryRoute {
        /// Resettled from abroad within Finland's refugee quota: those community-sponsored
        /// integration is for.
        #[sea_orm(string_value = "quota_refugee")]
        QuotaRefugee,
        /// Still in the asylum process, living in a reception centre.
        #[sea_orm(string_value = "asylum_seeker")]
        AsylumSeeker,
        /// Granted protection and placed in the municipality (kuntapaikka): the immigration
        /// units' clients for their first three years.
        #[sea_orm(string_value = "municipal_placement")]
        MunicipalPlacement,
        /// Joined a family member living in Finland.
        #[sea_orm(string_value = "family_reunification")]
        FamilyReunification,
        /// A residence permit for work.
        #[sea_orm(string_value = "work")]
        Work,
        /// A residence permit for studies.
        #[sea_orm(string_value = "study")]
        Study,
        /// A citizen of the EU or EEA, registered under free movement.
        #[sea_orm(string_value = "eu_citizen")]
        EuCitizen,
        /// Any other basis (return migration, …).
        #[sea_orm(string_value = "other")]
        Other,
    }

    /// A client: a person who took part in at least one measure, known by a pseudonymous id.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, async_graphql::SimpleObject)]
    #[sea_orm(table_name = "clients")]
    #[graphql(name = "Client", complex, tag = "class:personal")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        #[graphql(skip)]
        pub id: String,
        #[graphql(tag = "class:identifying")]
        pub name: String,
        pub birth_year: i32,
        pub gender: Gender,
        /// ISO 639-1 code.
        pub mother_tongue: String,
        pub district: District,
        pub background: Background,
        /// Year of arrival in Finland; none for those born here.
        pub arrival_year: Option<i32>,
        /// How they came to live in Finland; none for those born here, or when the
        /// source did not say.
        pub entry_route: Option<EntryRoute>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    impl kotohub_subgraph::batch::ClientRows for Entity {
        fn client_column() -> Column {
            Column::Id
        }
        fn client_id(model: &Model) -> &str {
            &model.id
        }
        fn order_column() -> Column {
            Column::Id
        }
        /// A body sees the clients it serves ([`super::client_body`]). Asked per client
        /// (`EXISTS`, on the pair's primary key) and not as the list of every client the
        /// body serves: a body serves a hundred thousand clients at city scale, and a
        /// lookup of one client must not read them all.
        fn scope_filter(bodies: &[String]) -> sea_orm::Condition {
            use super::client_body;
            use sea_orm::sea_query::{Expr, ExprTrait, Query};
            let served = Query::select()
                .expr(Expr::val(1))
                .from(client_body::Entity)
                .and_where(
                    Expr::col((client_body::Entity, client_body::Column::ClientId))
                        .equals((Entity, Column::Id)),
                )
                .and_where(client_body::Column::BodyId.is_in(bodies.iter().map(String::as_str)))
                .to_owned();
            sea_orm::Condition::all().add(Expr::exists(served))
        }
    }

    #[async_graphql::ComplexObject]
    impl Model {
        /// The client's pseudonymous id, the same in every division.
        #[graphql(tag = "class:pseudonymous")]
        async fn id(&self) -> async_graphql::ID {
            async_graphql::ID(self.id.clone())
        }

        /// The household the client lives in, if the programme knows of one.
        async fn household(
            &self,
            ctx: &async_graphql::Context<'_>,
        ) -> async_graphql::Result<Option<super::household::Model>> {
            crate::families::household_of(ctx, &self.id).await
        }

        /// The client's place in that household.
        async fn household_role(
            &self,
            ctx: &async_graphql::Context<'_>,
        ) -> async_graphql::Result<Option<super::household_member::HouseholdRole>> {
            crate::families::role_of(ctx, &self.id).await
        }

        /// Referrals of the client between responsible bodies that your bodies sent or
        /// received, in id order.
        async fn referrals(
            &self,
            ctx: &async_graphql::Context<'_>,
            first: Option<i32>,
            after: Option<async_graphql::ID>,
        ) -> async_graphql::Result<Vec<super::referral::Model>> {
            let page = kotohub_subgraph::Page::new(first, after.as_ref())?;
            crate::families::referrals_of(ctx, &self.id, page).await
        }
    }
}

/// Which responsible bodies serve which clients: a body serves a client when it has made
/// any record of the client (an enrolment, assessment, case, participation …) under a
/// measure. The divisions report these pairs to the programme; it is what lets the
/// programme subgraph show a body the core data of its own clients and of no others.
pub mod client_body {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "client_bodies")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub client_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub body_id: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// One client record a division reported to the statistics register, with the
/// dimensions aggregates break it down by. Counted, never returned.
pub mod client_fact {
    use async_graphql::Enum;
    use kotohub_subgraph::vocab::District;
    use sea_orm::entity::prelude::*;

    use super::client::{Background, Gender};

    /// Mother tongues grouped as the programme's dashboards report them: the largest
    /// language groups of Helsinki's foreign-language speakers, and the rest together.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
    pub enum MotherTongueGroup {
        #[sea_orm(string_value = "finnish_or_swedish")]
        FinnishOrSwedish,
        #[sea_orm(string_value = "russian")]
        Russian,
        #[sea_orm(string_value = "estonian")]
        Estonian,
        #[sea_orm(string_value = "somali")]
        Somali,
        #[sea_orm(string_value = "arabic")]
        Arabic,
        #[sea_orm(string_value = "english")]
        English,
        /// Every other language.
        #[sea_orm(string_value = "other")]
        Other,
    }

    impl MotherTongueGroup {
        /// The group of an ISO 639-1 code.
        pub fn of(code: &str) -> Self {
            match code {
                "fi" | "sv" => Self::FinnishOrSwedish,
                "ru" => Self::Russian,
                "et" => Self::Estonian,
                "so" => Self::Somali,
                "ar" => Self::Arabic,
                "en" => Self::English,
                _ => Self::Other,
            }
        }
    }

    /// Age when the record was made.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
    pub enum AgeGroup {
        #[sea_orm(string_value = "0-15")]
        #[graphql(name = "AGE_0_15")]
        Age0To15,
        /// The young people of Ohjaamo's and the youth services' measures.
        #[sea_orm(string_value = "16-29")]
        #[graphql(name = "AGE_16_29")]
        Age16To29,
        #[sea_orm(string_value = "30-44")]
        #[graphql(name = "AGE_30_44")]
        Age30To44,
        #[sea_orm(string_value = "45-64")]
        #[graphql(name = "AGE_45_64")]
        Age45To64,
        #[sea_orm(string_value = "65-")]
        #[graphql(name = "AGE_65_AND_OVER")]
        Age65AndOver,
    }

    impl AgeGroup {
        pub fn at(age: i32) -> Self {
            match age {
                ..=15 => Self::Age0To15,
                16..=29 => Self::Age16To29,
                30..=44 => Self::Age30To44,
                45..=64 => Self::Age45To64,
                _ => Self::Age65AndOver,
            }
        }
    }

    /// An outcome a division recorded for a client (employment, social services and
    /// culture outcomes, in the divisions' own terms).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
    pub enum RecordedOutcome {
        #[sea_orm(string_value = "employed")]
        Employed,
        #[sea_orm(string_value = "apprenticeship")]
        Apprenticeship,
        #[sea_orm(string_value = "entrepreneur")]
        Entrepreneur,
        #[sea_orm(string_value = "vocational_education")]
        VocationalEducation,
        #[sea_orm(string_value = "other_education")]
        OtherEducation,
        #[sea_orm(string_value = "pay_subsidy_work")]
        PaySubsidyWork,
        #[sea_orm(string_value = "work_experience")]
        WorkExperience,
        #[sea_orm(string_value = "child_welfare_ended")]
        ChildWelfareEnded,
        #[sea_orm(string_value = "school_attendance_improved")]
        SchoolAttendanceImproved,
        #[sea_orm(string_value = "moved_to_basic_services")]
        MovedToBasicServices,
        #[sea_orm(string_value = "goals_met")]
        GoalsMet,
        #[sea_orm(string_value = "substance_use_reduced")]
        SubstanceUseReduced,
        #[sea_orm(string_value = "incarcerated")]
        Incarcerated,
        #[sea_orm(string_value = "deported")]
        Deported,
        #[sea_orm(string_value = "taken_into_care")]
        TakenIntoCare,
        #[sea_orm(string_value = "basic_education_not_completed")]
        BasicEducationNotCompleted,
        #[sea_orm(string_value = "hobby_started")]
        HobbyStarted,
        #[sea_orm(string_value = "library_card")]
        LibraryCard,
        #[sea_orm(string_value = "group_continued")]
        GroupContinued,
        #[sea_orm(string_value = "volunteering")]
        Volunteering,
    }

    /// What the register calls a kind of record: the division's table, and after a
    /// colon the value of the column that tells its records apart where it has one —
    /// `social_cases:child_welfare`, `employment_outcomes:employed`, and for a yes/no
    /// column its name or `not_` and its name
    /// (`service_needs_assessments:multi_professional`).
    pub fn record_name(table: &str, detail: Option<&str>) -> String {
        match detail {
            Some(detail) => format!("{table}:{detail}"),
            None => table.to_owned(),
        }
    }

    /// Whether the register's kind of record `record` is one `wanted` names: the same
    /// kind, or any of a table's kinds when `wanted` names just the table.
    pub fn record_is(record: &str, wanted: &str) -> bool {
        record == wanted
            || record
                .strip_prefix(wanted)
                .is_some_and(|rest| rest.starts_with(':'))
    }

    /// A month counted as year × 12 + month − 1 (`ended`'s count).
    pub fn month_count(year: i32, month: i32) -> i32 {
        year * 12 + month - 1
    }

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "client_facts")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub client_id: String,
        pub measure_id: String,
        pub body_id: String,
        pub division_id: String,
        pub year: i32,
        pub quarter: i32,
        pub district: District,
        pub mother_tongue_group: MotherTongueGroup,
        pub age_group: AgeGroup,
        pub gender: Gender,
        pub background: Background,
        /// The outcome, when the record is one.
        pub outcome: Option<RecordedOutcome>,
        /// The kind of record ([`record_name`]).
        pub record: String,
        /// The month it happened, 1–12.
        pub month: i32,
        /// For a record of a period that has ended, the month it ended, counted as
        /// year × 12 + month − 1.
        pub ended: Option<i32>,
        /// The client's fixed random key, the same on every row of the client; the
        /// disclosure control sums them per cell (`crate::disclosure`).
        pub record_key: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// One event a division reported to the statistics register.
pub mod event_fact {
    use async_graphql::Enum;
    use kotohub_subgraph::vocab::District;
    use sea_orm::entity::prelude::*;

    /// The languages an event was held in, as measure 1.3 counts them.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
    pub enum EventLanguages {
        /// Finnish or Swedish only (English may be added).
        #[sea_orm(string_value = "finnish_or_swedish")]
        FinnishOrSwedish,
        /// Finnish or Swedish together with another language.
        #[sea_orm(string_value = "mixed")]
        Mixed,
        /// Neither Finnish nor Swedish: held for speakers of other languages.
        #[sea_orm(string_value = "other_languages")]
        OtherLanguages,
    }

    impl EventLanguages {
        /// The group of a list of ISO 639-1 codes.
        pub fn of<'a>(codes: impl IntoIterator<Item = &'a str>) -> Self {
            let (mut domestic, mut other) = (false, false);
            for code in codes {
                match code {
                    "fi" | "sv" => domestic = true,
                    "en" => {}
                    _ => other = true,
                }
            }
            match (domestic, other) {
                (true, false) => Self::FinnishOrSwedish,
                (true, true) => Self::Mixed,
                (false, _) => Self::OtherLanguages,
            }
        }
    }

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "event_facts")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub measure_id: String,
        pub body_id: String,
        pub division_id: String,
        pub year: i32,
        pub quarter: i32,
        pub district: District,
        pub languages: EventLanguages,
        pub participants: i32,
        /// The event's fixed random key (`crate::disclosure`).
        pub record_key: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// What a responsible body recorded of an indicator for a period: each change a new
/// version, none ever changed or removed.
pub mod indicator_record {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "indicator_records")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub indicator_id: String,
        /// "2019", "2019-Q2", or the programme's whole term "2017-2021".
        #[sea_orm(primary_key, auto_increment = false)]
        pub period: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub version: i32,
        /// A milestone's status (`MilestoneStatus` in its stored form).
        pub status: Option<String>,
        /// A count's, share's or outside statistic's value.
        pub value: Option<f64>,
        pub source: String,
        /// The date the source gives its figure (a survey's results, a statistics
        /// release): `YYYY-MM-DD`.
        pub source_date: Option<String>,
        pub note: String,
        pub body_id: String,
        pub recorded_by: String,
        /// RFC 3339, UTC.
        pub recorded_at: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Residents by year, major district, mother-tongue group and age group: reference
/// statistics used as denominators only.
pub mod population_figure {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "population_figures")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub year: i32,
        #[sea_orm(primary_key, auto_increment = false)]
        pub district: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub mother_tongue_group: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub age_group: String,
        pub residents: i32,
        /// Who published the figures, and when.
        pub source: String,
        /// The import run that wrote the row; none when seeded.
        pub run_id: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Projects the source documents describe beside the programme (Koto, Home to Helsinki,
/// Helmi, community-sponsored integration), with their periods and funders: part of the
/// catalog, stored and replaced with it.
pub mod project {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "projects")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub position: i32,
        pub name: String,
        pub starts_on: Date,
        pub ends_on: Option<Date>,
        pub funder: String,
        /// The source document the project comes from (`shared/seeds/NNN_*.txt`).
        pub source: String,
        pub summary: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The bodies of each project, the coordinating one first.
pub mod project_body {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "project_bodies")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub project_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub body_id: String,
        pub position: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The programme's measures whose work each project carries on or feeds: a project's
/// bodies record their work under these measures.
pub mod project_measure {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "project_measures")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub project_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub measure_id: String,
        pub position: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A household: the clients who live together as a family (the Helmi service works with
/// whole families; Koto's Vantaa subproject with families reunited in Finland).
pub mod household {
    use async_graphql::Enum;
    use sea_orm::entity::prelude::*;

    /// Who the household is made of, as dashboards break families down.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
    pub enum HouseholdKind {
        /// Two adults and their children.
        #[sea_orm(string_value = "two_parent_family")]
        TwoParentFamily,
        #[sea_orm(string_value = "single_parent_family")]
        SingleParentFamily,
        /// Adults without children.
        #[sea_orm(string_value = "couple")]
        Couple,
        #[sea_orm(string_value = "single_adult")]
        SingleAdult,
        /// A minor who arrived without a parent or guardian, living in a family group
        /// home or supported housing.
        #[sea_orm(string_value = "unaccompanied_minor")]
        UnaccompaniedMinor,
    }

    /// A household of clients.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, async_graphql::SimpleObject)]
    #[sea_orm(table_name = "households")]
    #[graphql(name = "Household", complex, tag = "class:personal")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        #[graphql(skip)]
        pub id: String,
        pub kind: HouseholdKind,
        /// When the family was reunited in Finland, for families that were.
        pub reunified_on: Option<Date>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Which household each client belongs to, and as whom. A client is in one household at
/// most; one not in any has no row.
pub mod household_member {
    use async_graphql::Enum;
    use sea_orm::entity::prelude::*;

    /// A member's place in the household.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
    pub enum HouseholdRole {
        /// A parent or guardian of the household's children.
        #[sea_orm(string_value = "parent")]
        Parent,
        #[sea_orm(string_value = "child")]
        Child,
        /// An adult who is neither: a partner without children, a grandparent.
        #[sea_orm(string_value = "adult")]
        Adult,
    }

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "household_members")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub client_id: String,
        pub household_id: String,
        pub role: HouseholdRole,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A referral of a client from one responsible body to another (TYP to the Skill Center,
/// the immigration unit to the basic services, a social worker to substance abuse
/// treatment), with when it was made, when the service started and how it ended. Both
/// bodies see it: the one that sent it and the one it was sent to.
pub mod referral {
    use async_graphql::Enum;
    use sea_orm::entity::prelude::*;

    /// What came of a referral.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
    pub enum ReferralResult {
        /// Sent, and not yet answered.
        #[sea_orm(string_value = "pending")]
        Pending,
        /// The client started the service.
        #[sea_orm(string_value = "started")]
        Started,
        /// The client did not want the service.
        #[sea_orm(string_value = "declined")]
        Declined,
        /// The receiving body found the service unsuited to the client.
        #[sea_orm(string_value = "not_suited")]
        NotSuited,
        /// The client never came, and the referral expired.
        #[sea_orm(string_value = "lapsed")]
        Lapsed,
    }

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, async_graphql::SimpleObject)]
    #[sea_orm(table_name = "referrals")]
    #[graphql(name = "Referral", complex, tag = "class:personal")]
    pub struct Model {
        #[sea_orm(primary_key)]
        #[graphql(skip)]
        pub id: i64,
        #[graphql(skip)]
        pub client_id: String,
        #[graphql(skip)]
        pub measure_id: String,
        #[graphql(skip)]
        pub from_body_id: String,
        #[graphql(skip)]
        pub to_body_id: String,
        pub referred_on: Date,
        /// When the client started the service referred to.
        pub started_on: Option<Date>,
        pub result: ReferralResult,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    impl kotohub_subgraph::records::MeasureRecord for Entity {
        fn id_column() -> Column {
            Column::Id
        }
        fn measure_column() -> Column {
            Column::MeasureId
        }
        /// The sending body: listings by body are the referrals a body made. Reads by
        /// client follow [`kotohub_subgraph::batch::ClientRows::scope_filter`], which also
        /// shows the receiving body its referrals.
        fn body_column() -> Column {
            Column::FromBodyId
        }
        fn client_of(model: &Model) -> Option<&str> {
            Some(&model.client_id)
        }
    }

    impl kotohub_subgraph::batch::ClientRows for Entity {
        fn client_column() -> Column {
            Column::ClientId
        }
        fn client_id(model: &Model) -> &str {
            &model.client_id
        }
        fn order_column() -> Column {
            Column::Id
        }
        /// The bodies at either end of a referral see it.
        fn scope_filter(bodies: &[String]) -> sea_orm::Condition {
            let bodies = || bodies.iter().map(String::as_str);
            sea_orm::Condition::any()
                .add(Column::FromBodyId.is_in(bodies()))
                .add(Column::ToBodyId.is_in(bodies()))
        }
    }

    impl kotohub_subgraph::records::ClientRecord for Entity {
        fn id(model: &Model) -> i64 {
            model.id
        }
    }
}
