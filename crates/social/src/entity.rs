//! The Social Services and Health Care Division's tables, as sea-orm entities that are
//! also the GraphQL types the subgraph returns.

pub mod social_case {
    use async_graphql::Enum;
    use kotohub_subgraph::client_record;
    use sea_orm::entity::prelude::*;

    /// The service a case is opened in.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
    pub enum CaseKind {
        #[sea_orm(string_value = "child_welfare")]
        ChildWelfare,
        #[sea_orm(string_value = "family_social_work")]
        FamilySocialWork,
        #[sea_orm(string_value = "adult_social_work")]
        AdultSocialWork,
        /// Young people's social work (measures 9.8, 9.9).
        #[sea_orm(string_value = "youth_social_work")]
        YouthSocialWork,
        /// Refugee integration in the immigration unit (the Koto model).
        #[sea_orm(string_value = "refugee_integration")]
        RefugeeIntegration,
    }

    /// A client's case in a social service.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, async_graphql::SimpleObject)]
    #[sea_orm(table_name = "social_cases")]
    #[graphql(name = "SocialCase", complex, tag = "class:special-category")]
    pub struct Model {
        #[sea_orm(primary_key)]
        #[graphql(skip)]
        pub id: i64,
        #[graphql(skip)]
        pub client_id: String,
        #[graphql(skip)]
        pub measure_id: String,
        #[graphql(skip)]
        pub body_id: String,
        pub kind: CaseKind,
        pub opened_on: Date,
        pub closed_on: Option<Date>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    client_record!(Entity);
    kotohub_subgraph::client_record_fields!(Model {});
}

pub mod service_needs_assessment {
    use kotohub_subgraph::client_record;
    use sea_orm::entity::prelude::*;

    /// An assessment of a client's service needs (measure 9.5 compares multi-professional
    /// assessments with those made by a single operator).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, async_graphql::SimpleObject)]
    #[sea_orm(table_name = "service_needs_assessments")]
    #[graphql(
        name = "ServiceNeedsAssessment",
        complex,
        tag = "class:special-category"
    )]
    pub struct Model {
        #[sea_orm(primary_key)]
        #[graphql(skip)]
        pub id: i64,
        #[graphql(skip)]
        pub client_id: String,
        #[graphql(skip)]
        pub measure_id: String,
        #[graphql(skip)]
        pub body_id: String,
        pub assessed_on: Date,
        pub multi_professional: bool,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    client_record!(Entity);
    kotohub_subgraph::client_record_fields!(Model {});
}

pub mod support_period {
    use async_graphql::Enum;
    use kotohub_subgraph::client_record;
    use sea_orm::entity::prelude::*;

    /// The support service of a period.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
    pub enum SupportService {
        /// Helmi multidisciplinary family work for families with an immigrant background.
        #[sea_orm(string_value = "helmi")]
        Helmi,
        /// Social rehabilitation at a Competence Centre (measure 9.4).
        #[sea_orm(string_value = "social_rehabilitation")]
        SocialRehabilitation,
        #[sea_orm(string_value = "family_help")]
        FamilyHelp,
        /// Digital senior, family or adult help (measure 9.7).
        #[sea_orm(string_value = "digital_help")]
        DigitalHelp,
        /// Individually empowering work with second-generation young people (measure 9.9).
        #[sea_orm(string_value = "empowerment")]
        Empowerment,
        /// Counselling, helplines, support persons and parents' groups in the client's
        /// own language (Home to Helsinki's psychosocial support, seed 000).
        #[sea_orm(string_value = "psychosocial_support")]
        PsychosocialSupport,
    }

    /// A period of support a client received.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, async_graphql::SimpleObject)]
    #[sea_orm(table_name = "support_periods")]
    #[graphql(name = "SupportPeriod", complex, tag = "class:special-category")]
    pub struct Model {
        #[sea_orm(primary_key)]
        #[graphql(skip)]
        pub id: i64,
        #[graphql(skip)]
        pub client_id: String,
        #[graphql(skip)]
        pub measure_id: String,
        #[graphql(skip)]
        pub body_id: String,
        pub service: SupportService,
        pub started_on: Date,
        pub ended_on: Option<Date>,
        /// The client's satisfaction, 1 (poor) to 5 (excellent), where asked.
        pub satisfaction: Option<i32>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    client_record!(Entity);
    kotohub_subgraph::client_record_fields!(Model {});
}

pub mod social_outcome {
    use async_graphql::Enum;
    use kotohub_subgraph::client_record;
    use sea_orm::entity::prelude::*;

    /// Outcomes of social work that the division follows.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
    pub enum SocialOutcomeKind {
        /// The child or young person is no longer a child-welfare client.
        #[sea_orm(string_value = "child_welfare_ended")]
        ChildWelfareEnded,
        #[sea_orm(string_value = "school_attendance_improved")]
        SchoolAttendanceImproved,
        /// Moved from special immigrant services to the City's basic services (Koto).
        #[sea_orm(string_value = "moved_to_basic_services")]
        MovedToBasicServices,
        #[sea_orm(string_value = "goals_met")]
        GoalsMet,
        // What Home to Helsinki aimed at, and against (seed 000): less drug use, and
        // fewer young people imprisoned, deported, taken into care or leaving basic
        // education unfinished. Criminal and health data: special-category, as every
        // social record.
        /// Less use of drugs or alcohol, by the worker's assessment.
        #[sea_orm(string_value = "substance_use_reduced")]
        SubstanceUseReduced,
        #[sea_orm(string_value = "incarcerated")]
        Incarcerated,
        #[sea_orm(string_value = "deported")]
        Deported,
        /// A child of the client taken into care.
        #[sea_orm(string_value = "taken_into_care")]
        TakenIntoCare,
        #[sea_orm(string_value = "basic_education_not_completed")]
        BasicEducationNotCompleted,
    }

    /// An outcome recorded for a client of social services.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, async_graphql::SimpleObject)]
    #[sea_orm(table_name = "social_outcomes")]
    #[graphql(name = "SocialOutcome", complex, tag = "class:special-category")]
    pub struct Model {
        #[sea_orm(primary_key)]
        #[graphql(skip)]
        pub id: i64,
        #[graphql(skip)]
        pub client_id: String,
        #[graphql(skip)]
        pub measure_id: String,
        #[graphql(skip)]
        pub body_id: String,
        pub kind: SocialOutcomeKind,
        pub occurred_on: Date,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    client_record!(Entity);
    kotohub_subgraph::client_record_fields!(Model {});
}

pub mod treatment_referral {
    use async_graphql::Enum;
    use kotohub_subgraph::client_record;
    use sea_orm::entity::prelude::*;

    /// The treatment a client was referred to.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
    pub enum Treatment {
        #[sea_orm(string_value = "substance_abuse_outpatient")]
        SubstanceAbuseOutpatient,
        #[sea_orm(string_value = "substance_abuse_inpatient")]
        SubstanceAbuseInpatient,
        #[sea_orm(string_value = "detoxification")]
        Detoxification,
        #[sea_orm(string_value = "mental_health")]
        MentalHealth,
    }

    /// What came of a referral to treatment.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
    pub enum TreatmentResult {
        #[sea_orm(string_value = "pending")]
        Pending,
        #[sea_orm(string_value = "started")]
        Started,
        #[sea_orm(string_value = "declined")]
        Declined,
        /// The client never came, and the referral expired.
        #[sea_orm(string_value = "lapsed")]
        Lapsed,
    }

    /// A referral of a client to substance abuse or mental health treatment (Home to
    /// Helsinki's treatment referral practice, seed 000). Kept with the social services'
    /// records, not among the referrals between bodies: that it exists is health data.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, async_graphql::SimpleObject)]
    #[sea_orm(table_name = "treatment_referrals")]
    #[graphql(name = "TreatmentReferral", complex, tag = "class:special-category")]
    pub struct Model {
        #[sea_orm(primary_key)]
        #[graphql(skip)]
        pub id: i64,
        #[graphql(skip)]
        pub client_id: String,
        #[graphql(skip)]
        pub measure_id: String,
        #[graphql(skip)]
        pub body_id: String,
        pub treatment: Treatment,
        pub referred_on: Date,
        pub started_on: Option<Date>,
        pub result: TreatmentResult,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    client_record!(Entity);
    kotohub_subgraph::client_record_fields!(Model {});
}

pub mod social_event {
    kotohub_subgraph::event_entity!("social_events", "SocialEvent");
}
