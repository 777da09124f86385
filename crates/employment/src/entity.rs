//! The employment services' tables, as sea-orm entities that are also the GraphQL types
//! the subgraph returns (their link fields come from `kotohub_subgraph::client_record_fields!`).

pub mod skill_assessment {
    use kotohub_subgraph::client_record;
    use sea_orm::entity::prelude::*;

    /// An assessment of a client's vocational and language skills (Helsinki Skill Center,
    /// the TYP service): the programme's 1,000 new clients a year of measure 1.1.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, async_graphql::SimpleObject)]
    #[sea_orm(table_name = "skill_assessments")]
    #[graphql(name = "SkillAssessment", complex, tag = "class:personal")]
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
        /// Vocational field assessed (e.g. care, construction, ICT).
        pub skill_area: String,
        /// Finnish language level on the CEFR scale (e.g. A1, B1).
        pub level: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    client_record!(Entity);
    kotohub_subgraph::client_record_fields!(Model {});
}

pub mod guidance_session {
    use async_graphql::Enum;
    use kotohub_subgraph::client_record;
    use sea_orm::entity::prelude::*;

    /// How guidance was given.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Enum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
    pub enum GuidanceFormat {
        #[sea_orm(string_value = "individual")]
        Individual,
        #[sea_orm(string_value = "group")]
        Group,
        /// Grass-roots guidance where young people are (measure 10.2).
        #[sea_orm(string_value = "outreach")]
        Outreach,
        #[sea_orm(string_value = "remote")]
        Remote,
    }

    /// Guidance or career advice given to a client, in the language it was given in.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, async_graphql::SimpleObject)]
    #[sea_orm(table_name = "guidance_sessions")]
    #[graphql(name = "GuidanceSession", complex, tag = "class:personal")]
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
        pub held_on: Date,
        /// ISO 639-1 code of the language the guidance was given in.
        pub language: String,
        pub format: GuidanceFormat,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    client_record!(Entity);
    kotohub_subgraph::client_record_fields!(Model {});
}

pub mod service_path {
    use kotohub_subgraph::client_record;
    use kotohub_subgraph::vocab::RecordStatus;
    use sea_orm::entity::prelude::*;

    /// A client's path through a service (a TYP multi-professional path, a Skill Center
    /// learning path, a work-trial path …).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, async_graphql::SimpleObject)]
    #[sea_orm(table_name = "service_paths")]
    #[graphql(name = "ServicePath", complex, tag = "class:personal")]
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
        pub path: String,
        pub started_on: Date,
        pub ended_on: Option<Date>,
        pub status: RecordStatus,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    client_record!(Entity);
    kotohub_subgraph::client_record_fields!(Model {});
}

pub mod employment_outcome {
    use async_graphql::Enum;
    use kotohub_subgraph::client_record;
    use sea_orm::entity::prelude::*;

    /// What a client went on to: the outcomes the programme's employment indicators count.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
    pub enum EmploymentOutcomeKind {
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
        /// A first work-experience placement (measure 10.4's micro-labour market).
        #[sea_orm(string_value = "work_experience")]
        WorkExperience,
    }

    /// An outcome of a client after an employment service.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, async_graphql::SimpleObject)]
    #[sea_orm(table_name = "employment_outcomes")]
    #[graphql(name = "EmploymentOutcome", complex, tag = "class:personal")]
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
        pub kind: EmploymentOutcomeKind,
        pub occurred_on: Date,
        /// Work hours of a work-experience placement.
        pub work_hours: Option<i32>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    client_record!(Entity);
    kotohub_subgraph::client_record_fields!(Model {});
}

pub mod networking_event {
    kotohub_subgraph::event_entity!("networking_events", "NetworkingEvent");
}
